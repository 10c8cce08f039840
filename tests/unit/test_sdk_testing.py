"""`clipforge.sdk.testing`: hooks called as the runner calls them, with no runner."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, Field, ValidationError
from tag_suggester import TagSuggester

from clipforge.media.probe import probe
from clipforge.sdk import ClipData, PluginBase, PluginMetadata, SkipClip
from clipforge.sdk.testing import (
    DEFAULT_TIMEOUT_S,
    RESULT_MAX_BYTES,
    PluginLoadError,
    run_plugin,
    run_plugin_async,
    sample_clip,
)
from clipforge.settings import Settings


class Config(BaseModel):
    word: str = Field("hello", min_length=1, title="A word")


class Probe(PluginBase):
    """Does what the clip's title says."""

    config_model = Config
    calls: ClassVar[list[str]] = []

    @property
    def metadata(self) -> PluginMetadata:
        return PluginMetadata(name="probe", display_name="Probe", version="1.2.3", timeout_s=0.5)

    def initialize(self) -> None:
        self.calls.append("initialize")

    def shutdown(self) -> None:
        self.calls.append("shutdown")

    def on_clip_captured(self, clip_data: ClipData) -> Any:
        title = clip_data["title"]
        if title == "edit":
            clip_data["metadata"]["word"] = self.config.word
            clip_data["tags"].append("changed")
            return clip_data
        if title == "sleep":
            time.sleep(2)
        if title == "nul":
            return {"text": "a\x00b"}
        if title == "huge":
            return {"text": "x" * 2000}
        if title == "skip":
            raise SkipClip("nothing to do")
        if title == "raise":
            raise ValueError("bad frame")
        if title == "artifacts":
            (Path(str(clip_data["artifacts_dir"])) / "poster.jpg").write_bytes(b"jpg")
        return {"media_path": clip_data["media_path"], "artifacts_dir": clip_data["artifacts_dir"]}


def test_a_seed_style_edit_is_the_result_and_the_caller_s_clip_is_untouched() -> None:
    clip = {"title": "edit", "tags": ["mine"], "metadata": {"kept": 1}}
    run = run_plugin(Probe, clip=clip, config={"word": "gg"})
    assert run.status == "ok", run.error
    assert run.result == {"word": "gg"}
    assert (run.plugin, run.version) == ("probe", "1.2.3")
    assert clip == {"title": "edit", "tags": ["mine"], "metadata": {"kept": 1}}


def test_initialize_and_shutdown_frame_the_call() -> None:
    Probe.calls.clear()
    run_plugin(Probe())
    assert Probe.calls == ["initialize", "shutdown"]


def test_the_metadata_s_time_limit_applies_unless_one_is_given() -> None:
    started = time.monotonic()
    run = run_plugin(Probe, clip={"title": "sleep"})
    assert run.status == "timeout"
    assert run.error == "no result within 0.5s"
    assert time.monotonic() - started < 1.5
    assert run_plugin(Probe, clip={"title": "sleep"}, timeout=5).status == "ok"


@pytest.mark.parametrize(
    ("title", "limit", "status", "error"),
    [
        ("nul", RESULT_MAX_BYTES, "error", "result.text: NUL character"),
        ("huge", 1024, "error", "result: 2011 bytes as JSON, over the limit of 1024"),
        ("skip", RESULT_MAX_BYTES, "skipped", "nothing to do"),
        ("raise", RESULT_MAX_BYTES, "error", "ValueError: bad frame"),
    ],
)
def test_results_are_checked_and_failures_contained_as_in_the_runner(
    title: str, limit: int, status: str, error: str
) -> None:
    run = run_plugin(Probe, clip={"title": title}, max_result_bytes=limit)
    assert (run.status, run.error, run.result) == (status, error, {})


def test_an_exception_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="clipforge.sdk.testing.runs"):
        run_plugin(Probe, clip={"title": "raise"})
    (record,) = caplog.records
    assert record.exc_info is not None
    assert "probe raised in on_clip_captured" in record.getMessage()


def test_the_configuration_is_validated_by_the_config_model() -> None:
    with pytest.raises(ValidationError, match="word"):
        run_plugin(Probe, config={"word": ""})


def test_a_plugin_for_another_sdk_is_refused_as_the_runner_refuses_it() -> None:
    class Future(Probe):
        @property
        def metadata(self) -> PluginMetadata:
            return PluginMetadata(name="future", display_name="Future", sdk=">=99")

    with pytest.raises(PluginLoadError, match=r"needs clipforge SDK >=99, this runner has 0\."):
        run_plugin(Future)


def test_media_and_artifacts_reach_the_hook_as_the_runner_hands_them(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    run = run_plugin(Probe, media=video)
    assert run.result == {"media_path": str(video), "artifacts_dir": None}, "no artifacts_dir unless declared"

    class Writer(Probe):
        @property
        def metadata(self) -> PluginMetadata:
            return PluginMetadata(name="writer", display_name="Writer", writes_artifacts=True)

    run = run_plugin(Writer, clip={"title": "artifacts"}, artifacts_dir=tmp_path / "out")
    assert run.status == "ok", run.error
    assert (tmp_path / "out" / "poster.jpg").read_bytes() == b"jpg"
    assert run_plugin(Writer, clip={"title": "artifacts"}).status == "ok", "a temporary folder by default"


async def test_async_tests_use_run_plugin_async() -> None:
    run = await run_plugin_async(TagSuggester, clip={"title": "Insane clutch", "game_name": "Valorant"})
    assert run.result == {"suggested_tags": ["insane", "clutch", "valorant"]}
    with pytest.raises(RuntimeError, match=r"await run_plugin_async\(\.\.\.\)"):
        run_plugin(TagSuggester)


def test_sample_clip_is_a_stored_clip_and_refuses_unknown_keys() -> None:
    clip = sample_clip(title="t", fps=144)
    assert clip["title"] == "t"
    assert clip["fps"] == 144.0
    assert clip["media_path"] is None
    assert clip["artifacts_dir"] is None
    assert sample_clip(media_path="/m.mp4")["duration"] is None, "a file speaks for itself"
    with pytest.raises(ValueError, match="a clip has no titel"):
        sample_clip(titel="typo")


def test_the_defaults_are_the_runner_s() -> None:
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    assert (defaults["plugin_timeout_s"], defaults["plugin_result_max_bytes"]) == (
        DEFAULT_TIMEOUT_S,
        RESULT_MAX_BYTES,
    )


def test_the_sample_video_fixture_is_a_real_video(sample_video: Path, clip_data: ClipData) -> None:
    info = probe(sample_video)
    assert info["video"]["resolution"] == "320x240"
    assert info["audio"]["codec"] == "aac"
    assert abs(info["duration"] - 2.0) < 0.1
    assert clip_data["title"] == "Sample clip"
