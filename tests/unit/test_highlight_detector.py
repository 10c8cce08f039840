"""The highlight_detector plugin on clips made with known loud bursts and scene cuts: what it
finds, what its configuration changes, and the files it skips or refuses."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from highlight_detector import HighlightConfig, HighlightDetector, picture_moments

from clipforge.events import PluginRunStatus
from clipforge.sdk import PluginContext, SkipClip
from clipforge.sdk.execution import run_captured_hook
from tests.media import corrupted, make_clip

BURSTS = (1.0, 2.5, 4.0)
CUTS = (1.5, 3.0)
SMALL: dict[str, Any] = {"width": 160, "height": 90}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    return {
        "bursts": make_clip(d / "bursts.mp4", seconds=5, bursts=BURSTS, **SMALL),
        "steady": make_clip(d / "steady.mp4", seconds=3, **SMALL),
        "cuts": make_clip(d / "cuts.mp4", seconds=4.5, cuts=CUTS, **SMALL),
        "audio_only": make_clip(d / "voice.m4a", seconds=3, video=False, bursts=(1.2,)),
        "silent_video": make_clip(d / "silent.mp4", seconds=3, audio=False, cuts=(1.0,), **SMALL),
    }


def detector(**config: Any) -> HighlightDetector:
    plugin = HighlightDetector()
    plugin.context = PluginContext(logging.getLogger("test"), plugin.parse_config(config))
    return plugin


def detect(path: Path | None, **config: Any) -> dict[str, Any]:
    clip: dict[str, Any] = {"id": "c", "metadata": {}, "media_path": str(path) if path else None}
    result: dict[str, Any] = detector(**config).on_clip_captured(clip)  # type: ignore[arg-type]
    return result


def near(found: list[dict[str, Any]], at: float, kind: str) -> bool:
    return any(abs(h["timestamp"] - at) <= 0.5 and h["kind"] == kind for h in found)


def test_each_loud_burst_is_a_moment_at_its_start(clips: dict[str, Path]) -> None:
    result = detect(clips["bursts"])
    found = result["highlights"]
    assert result["highlight_count"] == len(found) == len(BURSTS)
    assert all(near(found, at, "loud") for at in BURSTS), found
    assert [h["timestamp"] for h in found] == sorted(h["timestamp"] for h in found)
    assert all(0.5 <= h["confidence"] <= 1 for h in found)
    assert result["analyzed"] == ["audio"]
    assert isinstance(result["baseline_db"], float)
    assert -60 < result["baseline_db"] < -15


def test_a_steady_clip_has_no_moments(clips: dict[str, Path]) -> None:
    result = detect(clips["steady"])
    assert (result["highlights"], result["highlight_count"]) == ([], 0)
    assert result["baseline_db"] == pytest.approx(-17, abs=2), "a 0.2 sine wave is at -17 dBFS"


def test_max_highlights_keeps_the_most_confident_in_time_order(clips: dict[str, Path]) -> None:
    every = detect(clips["bursts"], max_highlights=20)["highlights"]
    two = detect(clips["bursts"], max_highlights=2)["highlights"]
    assert len(two) == 2
    assert sorted(h["confidence"] for h in two) == sorted(h["confidence"] for h in every)[-2:]
    assert two == sorted(two, key=lambda h: h["timestamp"])


def test_min_confidence_and_loudness_threshold_drop_moments(clips: dict[str, Path]) -> None:
    every = detect(clips["bursts"], min_confidence=0.0)["highlights"]
    middle = sorted(h["confidence"] for h in every)[1]
    kept = detect(clips["bursts"], min_confidence=middle)["highlights"]
    assert kept == [h for h in every if h["confidence"] >= middle]
    assert detect(clips["bursts"], min_confidence=0.99)["highlights"] == []
    assert detect(clips["bursts"], min_loudness_db_above_baseline=40)["highlights"] == []


def test_an_audio_only_file_works(clips: dict[str, Path]) -> None:
    result = detect(clips["audio_only"], analyze_picture=True)
    assert [h["kind"] for h in result["highlights"]] == ["loud"]
    assert near(result["highlights"], 1.2, "loud")
    assert result["analyzed"] == ["audio"]


def test_a_video_without_audio_has_no_loud_moments_and_is_no_error(clips: dict[str, Path]) -> None:
    result = detect(clips["silent_video"])
    assert result == {
        "highlights": [],
        "highlight_count": 0,
        "baseline_db": None,
        "analyzed": [],
        "damaged_packets": 0,
    }
    with_picture = detect(clips["silent_video"], analyze_picture=True)
    assert with_picture["analyzed"] == ["picture"]
    assert [h["kind"] for h in with_picture["highlights"]] == ["scene_cut"]


def test_scene_cuts_are_found_only_when_the_picture_is_analysed(clips: dict[str, Path]) -> None:
    result = detect(clips["cuts"], analyze_picture=True)
    assert result["analyzed"] == ["audio", "picture"]
    cuts = [h for h in result["highlights"] if h["kind"] == "scene_cut"]
    assert len(cuts) == len(CUTS)
    assert all(near(cuts, at, "scene_cut") for at in CUTS), cuts
    assert all(h["kind"] == "scene_cut" for h in result["highlights"]), "a steady tone, still shots"
    off = detect(clips["cuts"])
    assert off["analyzed"] == ["audio"]
    assert off["highlights"] == []


def test_bursts_and_cuts_together_in_time_order(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "both.mp4", seconds=4, bursts=(0.5, 3.0), cuts=(2.0,), **SMALL)
    found = detect(clip, analyze_picture=True, max_highlights=10)["highlights"]
    assert [h["kind"] for h in found] == ["loud", "scene_cut", "loud"]
    assert near(found, 0.5, "loud")
    assert near(found, 2.0, "scene_cut")
    assert near(found, 3.0, "loud")


def test_motion_is_a_stretch_of_large_differences_and_a_cut_a_single_one() -> None:
    times = np.arange(1, 300) / 30  # 10 s at 30 fps: each frame's difference to the one before
    diffs = np.full(times.size, 1.0)
    diffs[60:90] = 25.0  # 2-3 s: everything moves
    diffs[209] = 90.0  # 7 s: one frame utterly unlike the last
    found = picture_moments(times, diffs, min_gap_s=1.0)
    assert {m.kind for m in found} == {"motion", "scene_cut"}
    (motion,) = [m for m in found if m.kind == "motion"]
    (cut,) = [m for m in found if m.kind == "scene_cut"]
    assert abs(motion.at - 2.0) <= 0.5
    assert motion.confidence > 0.5
    assert cut.at == pytest.approx(7.0)
    assert cut.confidence > 0.9


def test_same_file_same_result(clips: dict[str, Path]) -> None:
    assert detect(clips["cuts"], analyze_picture=True) == detect(clips["cuts"], analyze_picture=True)
    assert detect(clips["bursts"]) == detect(clips["bursts"])


def test_a_clip_without_a_file_is_skipped(tmp_path: Path) -> None:
    with pytest.raises(SkipClip, match="no media file"):
        detect(None)
    with pytest.raises(SkipClip, match="no media file"):
        detect(tmp_path / "not-there.mp4")


def test_a_file_that_is_not_a_video_is_a_value_error_not_naming_the_path(tmp_path: Path) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    with pytest.raises(ValueError, match="no decoder can open") as raised:
        detect(fake)
    assert str(tmp_path) not in str(raised.value)


async def test_as_the_runner_runs_it(clips: dict[str, Path]) -> None:
    async def run(media_path: str | None) -> Any:
        return await run_captured_hook(
            detector().on_clip_captured,
            {"id": "c", "metadata": {}, "media_path": media_path},
            plugin="highlight_detector",
            version="0.2.0",
            timeout=10,
            max_result_bytes=65536,
        )

    done = await run(str(clips["bursts"]))
    assert done.status is PluginRunStatus.OK, done.error
    assert done.result["highlight_count"] == len(BURSTS)
    skipped = await run(None)
    assert (skipped.status, skipped.error) == (PluginRunStatus.SKIPPED, "no media file")


def test_configuration_is_parsed_without_the_runner_s_keys() -> None:
    config = HighlightDetector.parse_config({"max_highlights": 5, "min_confidence": 1.0, "timeout_s": 3})
    assert config == HighlightConfig(max_highlights=5, min_confidence=1.0)
    with pytest.raises(ValueError, match="max_highlights"):
        HighlightDetector.parse_config({"max_highlights": 0})


def test_metadata_declares_its_config_schema() -> None:
    meta = HighlightDetector.describe(HighlightDetector().metadata)
    assert (meta.name, meta.version) == ("highlight_detector", "0.2.0")
    schema: dict[str, Any] = meta.config_schema or {}
    assert set(schema["properties"]) == {
        "max_highlights",
        "min_confidence",
        "min_loudness_db_above_baseline",
        "analyze_picture",
        "min_gap_s",
    }
    assert all(p.get("description") and p.get("title") for p in schema["properties"].values())
    assert schema["x-order"] == list(HighlightConfig.model_fields), (
        "a settings form follows the model's order"
    )


def test_damaged_packets_are_skipped_not_fatal(tmp_path: Path) -> None:
    """Corrupt frames mid-stream: what decodes still counts, as with ffmpeg's command line."""
    whole = make_clip(tmp_path / "whole.mp4", seconds=4, width=160, height=90, bursts=(0.5,), variant=9)
    broken = corrupted(whole, tmp_path / "broken.mp4")
    result = detect(broken)
    assert result["damaged_packets"] > 0
    assert result["analyzed"] == ["audio"]
    assert any(abs(h["timestamp"] - 0.5) <= 0.5 for h in result["highlights"]), "the burst before the damage"
