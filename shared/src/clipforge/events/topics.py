"""Topic names: one place, so producers, consumers and docs agree."""

from __future__ import annotations


class Topics:
    CLIP_CAPTURED = "clip.captured"
    CLIP_PROCESSED = "clip.processed"
    CLIP_ENRICHED = "clip.enriched"
    PLUGIN_CHANGED = "plugin.changed"

    @staticmethod
    def dlq(topic: str) -> str:
        return f"{topic}.dlq"

    @classmethod
    def all(cls) -> list[str]:
        main = [cls.CLIP_CAPTURED, cls.CLIP_PROCESSED, cls.CLIP_ENRICHED, cls.PLUGIN_CHANGED]
        return main + [cls.dlq(t) for t in main]
