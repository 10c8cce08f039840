"""Example plugin: marks highlight moments of a clip.

Real detection would read the video; this one derives stable, plausible moments from the clip's
id and duration so its output can be checked. It is written the way the SDK's docs show a plugin:
it edits `clip_data["metadata"]` and returns `clip_data`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, Field

from clipforge.sdk import PluginBase, PluginMetadata


class HighlightConfig(BaseModel):
    max_highlights: int = Field(3, ge=1, le=20, description="at most this many moments per clip")
    min_confidence: float = Field(0.5, ge=0.0, le=1.0, description="drop moments below this score")


class HighlightDetector(PluginBase):
    config_model = HighlightConfig

    @property
    def metadata(self) -> PluginMetadata:
        return PluginMetadata(
            name="highlight_detector",
            display_name="Highlight Detector",
            description="Finds the moments worth watching in a clip.",
            version="0.1.0",
            author="clipforge",
            plugin_type="python",
            enabled_by_default=True,
        )

    def on_clip_captured(self, clip_data: Any) -> Any:
        config: HighlightConfig = self.config
        duration = float(clip_data.get("duration") or 0.0)
        seed = hashlib.sha256(str(clip_data.get("id", "")).encode()).digest()
        moments = []
        for i in range(config.max_highlights):
            confidence = round(0.5 + (seed[i] / 255) * 0.5, 3)
            if duration > 0 and confidence >= config.min_confidence:
                at = round(duration * (i + 1) / (config.max_highlights + 1), 2)
                moments.append({"timestamp": at, "confidence": confidence})
        clip_data["metadata"]["highlights"] = moments
        clip_data["metadata"]["highlight_count"] = len(moments)
        return clip_data
