"""Example plugin: suggests tags for a clip. An async plugin that returns its result as a dict,
and counts the clips whose processing completed (its `on_clip_processed` hook)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from clipforge.sdk import ClipData, PluginBase, PluginMetadata

STOPWORDS = frozenset({"the", "and", "with", "from", "this", "that", "into", "over", "clip"})


class TagConfig(BaseModel):
    max_tags: int = Field(5, ge=1, le=20)
    min_word_length: int = Field(4, ge=2, le=20)


class TagSuggester(PluginBase):
    config_model = TagConfig

    def initialize(self) -> None:
        self.completed = 0

    @property
    def metadata(self) -> PluginMetadata:
        return PluginMetadata(
            name="tag_suggester",
            display_name="Tag Suggester",
            description="Suggests tags from the title, the game and the video properties.",
            version="0.1.0",
            author="clipforge",
            enabled_by_default=True,
        )

    async def on_clip_captured(self, clip_data: ClipData) -> dict[str, Any]:
        config: TagConfig = self.config
        words = re.findall(r"[a-z0-9]+", str(clip_data.get("title", "")).lower())
        tags = [w for w in words if len(w) >= config.min_word_length and w not in STOPWORDS]
        if clip_data.get("game_name"):
            tags.append(re.sub(r"[^a-z0-9]+", "-", str(clip_data["game_name"]).lower()).strip("-"))
        if (clip_data.get("fps") or 0) >= 100:
            tags.append("high-fps")
        if (clip_data.get("duration") or 0) > 120:
            tags.append("long")
        existing = set(clip_data.get("tags") or [])
        suggested = list(dict.fromkeys(t for t in tags if t and t not in existing))[: config.max_tags]
        return {"suggested_tags": suggested}

    def on_clip_processed(self, clip_data: ClipData) -> None:
        self.completed += 1
        self.logger.debug("clip %s completed (%d so far)", clip_data.get("id"), self.completed)
