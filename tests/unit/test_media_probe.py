"""The media_probe plugin as the runner calls it: what the file says, where the clip's own
fields disagree, and a clip without a file skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from media_probe import MediaProbe

from clipforge.events import PluginRunStatus
from clipforge.sdk.execution import run_captured_hook
from tests.media import make_clip


async def probe_clip(clip: dict[str, object]) -> tuple[PluginRunStatus, dict[str, object], str | None]:
    result = await run_captured_hook(
        MediaProbe().on_clip_captured,
        clip,
        plugin="media_probe",
        version="0.1.0",
        timeout=10,
        max_result_bytes=65536,
    )
    return result.status, result.result, result.error


async def test_the_file_s_properties_and_the_clip_fields_it_contradicts(tmp_path: Path) -> None:
    video = make_clip(tmp_path / "c.mp4", seconds=2, width=640, height=360, fps=60)
    clip = {"metadata": {}, "media_path": str(video), "fps": 30.0, "resolution": "640x360", "duration": 2.1}
    status, result, _ = await probe_clip(clip)
    assert status is PluginRunStatus.OK
    assert result["video"]["resolution"] == "640x360"  # type: ignore[index]
    assert result["duration"] == pytest.approx(2.0, abs=0.05)
    assert result["disagreements"] == {"fps": {"clip": 30.0, "file": 60.0}}, "within tolerance is agreement"


async def test_a_clip_without_a_file_is_skipped_with_the_reason() -> None:
    status, result, error = await probe_clip({"metadata": {}, "media_path": None})
    assert (status, result, error) == (PluginRunStatus.SKIPPED, {}, "no media file")


async def test_a_file_that_is_not_a_video_is_an_error_saying_so(tmp_path: Path) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    status, _, error = await probe_clip({"metadata": {}, "media_path": str(fake)})
    assert status is PluginRunStatus.ERROR
    assert error is not None
    assert "no decoder can open it" in error
