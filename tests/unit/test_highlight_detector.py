from __future__ import annotations

import logging
from typing import Any

from highlight_detector import HighlightConfig, HighlightDetector

from clipforge.sdk import PluginContext


def test_marks_moments_inside_the_clip_and_returns_clip_data() -> None:
    plugin = HighlightDetector()
    clip: dict[str, Any] = {"id": "0b5f", "duration": 45.0, "metadata": {}}
    out = plugin.on_clip_captured(clip)
    assert out is clip
    moments = clip["metadata"]["highlights"]
    assert clip["metadata"]["highlight_count"] == len(moments) == 3
    assert all(0 < m["timestamp"] < 45 and 0.5 <= m["confidence"] <= 1 for m in moments)


def test_configuration_limits_and_filters() -> None:

    plugin = HighlightDetector()
    config = plugin.parse_config({"max_highlights": 5, "min_confidence": 1.0, "timeout_s": 3})
    assert config == HighlightConfig(max_highlights=5, min_confidence=1.0), "parsed, runner keys left out"
    plugin.context = PluginContext(logging.getLogger("t"), config)
    clip: dict[str, Any] = {"id": "x", "duration": 10.0, "metadata": {}}
    plugin.on_clip_captured(clip)
    assert len(clip["metadata"]["highlights"]) <= 5
    assert all(m["confidence"] == 1.0 for m in clip["metadata"]["highlights"])


def test_no_duration_no_moments() -> None:
    clip: dict[str, Any] = {"id": "x", "duration": None, "metadata": {}}
    HighlightDetector().on_clip_captured(clip)
    assert clip["metadata"]["highlights"] == []


def test_metadata_declares_its_config_schema() -> None:
    meta = HighlightDetector.describe(HighlightDetector().metadata)
    assert meta.name == "highlight_detector"
    schema: dict[str, Any] = meta.config_schema or {}
    assert set(schema["properties"]) == {"max_highlights", "min_confidence"}
