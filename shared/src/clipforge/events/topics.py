"""Topic names: one place, so producers, consumers and docs agree."""

from __future__ import annotations


class Topics:
    CLIP_CAPTURED = "clip.captured"
    CLIP_PROCESSED = "clip.processed"
    CLIP_ENRICHED = "clip.enriched"
    CLIP_UPDATED = "clip.updated"
    CLIP_DELETED = "clip.deleted"
    PLUGIN_CHANGED = "plugin.changed"

    @staticmethod
    def dlq(topic: str) -> str:
        return f"{topic}.dlq"

    @classmethod
    def all(cls) -> list[str]:
        consumed = [cls.CLIP_CAPTURED, cls.CLIP_PROCESSED, cls.CLIP_ENRICHED, cls.PLUGIN_CHANGED]
        return [*consumed, cls.CLIP_UPDATED, cls.CLIP_DELETED, *(cls.dlq(t) for t in consumed)]
