"""Bad and odd media through the running stack: a truncated file, corrupt data mid-stream, audio
only, video without audio, a variable frame rate, a rotated phone video, 4K60 HEVC and an hour-long
file each end with a clear result from every media plugin (ok, skipped or an error saying why,
never naming a server path, never a time-out), the clip final, never stuck in processing; and the
runner is still the same process afterwards, a normal clip completing with every media plugin ok.

The files are made here (tests/media.py) in a few seconds, written into the session's media
library and registered by path; all of them are processed at once."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RunningStack
from tests.e2e.helpers import FINAL, results, wait_for_clip
from tests.media import (
    BEEP_EVERY_S,
    corrupted,
    faststart,
    make_clip,
    make_hevc_clip,
    make_long_clip,
    make_rotated_clip,
    make_vfr_clip,
    truncated,
)
from tests.polling import until

pytestmark = pytest.mark.e2e

MEDIA_PLUGINS = ("media_probe", "highlight_detector", "thumbnails")
CLEAR = {"ok", "skipped", "error"}  # a time-out is no clear result: none of these files needs 10 s
LONG_MINUTES = 60


def _source(scratch: Path) -> Path:
    """A plain 4 s H.264/AAC clip to break (its index, the `moov` box, is at the end)."""
    return make_clip(scratch / "source.mp4", seconds=4)


MAKERS: dict[str, tuple[str, Callable[[Path, Path], Path]]] = {
    # kind: (file name, make(file, scratch folder))
    "truncated": ("truncated.mp4", lambda f, s: truncated(_source(s), f, 0.5)),
    "truncated_faststart": (
        "truncated-faststart.mp4",
        lambda f, s: truncated(faststart(_source(s), s / "faststart.mp4"), f, 0.5),
    ),
    "corrupt": ("corrupt.mp4", lambda f, s: corrupted(_source(s), f)),
    "audio_only": ("audio-only.m4a", lambda f, s: make_clip(f, seconds=3, video=False)),
    "no_audio": ("no-audio.mp4", lambda f, s: make_clip(f, seconds=2, audio=False)),
    "vfr": ("vfr.mp4", lambda f, s: make_vfr_clip(f, seconds=2)),
    "rotated": ("rotated.mp4", lambda f, s: make_rotated_clip(f, 90)),
    "hevc_4k60": ("hevc-4k60.mp4", lambda f, s: make_hevc_clip(f, 3840, 2160, 60, 0.25)),
    "long": ("long.mp4", lambda f, s: make_long_clip(f, minutes=LONG_MINUTES)),
}


@dataclass
class OddRun:
    clips: dict[str, dict[str, Any]]  # kind -> the clip once final
    media_dir: Path
    runner_pids: list[int]
    runner_restarts: int


def runner_restarts(stack: RunningStack) -> int:
    return sum(c.restarts for c in stack.supervisor.children if c.service.name == "plugin-runner")


@pytest.fixture(scope="module")
async def odd(stack: RunningStack, media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> OddRun:
    """Every odd file made, registered at once, and waited for until every clip is final."""
    pids, restarts = stack.supervisor.pids("plugin-runner"), runner_restarts(stack)
    run = uuid.uuid4().hex[:8]
    folder = media_dir / "odd" / run
    folder.mkdir(parents=True)
    paths = {}
    for kind, (name, make) in MAKERS.items():
        scratch = tmp_path_factory.mktemp(f"odd-{kind}")
        started = time.perf_counter()
        await asyncio.to_thread(make, folder / name, scratch)
        print(f"made {kind}: {time.perf_counter() - started:.2f} s, {(folder / name).stat().st_size} bytes")
        paths[kind] = f"/odd/{run}/{name}"
    async with stack.client() as client:
        ids = {}
        for kind, file_path in paths.items():
            response = await client.post(
                "/api/v1/clips", json={"title": f"odd {kind}", "file_path": file_path}
            )
            assert response.status_code == 201, response.text
            ids[kind] = response.json()["id"]
        started = time.perf_counter()
        clips: dict[str, dict[str, Any]] = {}

        async def all_final() -> bool:
            for kind in set(ids) - set(clips):
                clip: dict[str, Any] = (await client.get(f"/api/v1/clips/{ids[kind]}")).json()
                if clip["status"] in FINAL:
                    clips[kind] = clip
            return len(clips) == len(ids)

        try:
            await until(all_final, timeout=120, every=0.5)
        except AssertionError:
            stuck = {k: ids[k] for k in set(ids) - set(clips)}
            raise AssertionError(f"clips not final within 120 s: {stuck}") from None
        print(f"all {len(ids)} odd clips final in {time.perf_counter() - started:.1f} s")
        for kind, clip in clips.items():
            runs = {p: r.get("_run", {}) for p, r in results(clip).items()}
            said = {p: f"{r.get('status')} {r.get('error') or ''}".strip() for p, r in runs.items()}
            print(f"{kind}: {clip['status']} {said}")
    return OddRun(clips, media_dir, pids, restarts)


def _check_truncated(found: dict[str, Any], clip: dict[str, Any]) -> None:
    """Cut in half, the file lost its index: nothing can open it, and every plugin says so."""
    for plugin in MEDIA_PLUGINS:
        run = found[plugin]["_run"]
        assert run["status"] == "error", found[plugin]
        assert "no decoder can open" in run["error"], run
    assert clip["status"] == "completed_with_errors"


def _check_truncated_faststart(found: dict[str, Any], clip: dict[str, Any]) -> None:
    """Its index comes first, so it opens: the probe reads what the header promises."""
    probe = found["media_probe"]
    assert probe["_run"]["status"] == "ok", probe
    assert probe["video"]["resolution"] == "320x240"


def _check_corrupt(found: dict[str, Any], clip: dict[str, Any]) -> None:
    """Its boxes and index are intact: the probe (which decodes only the first frame) is ok."""
    probe = found["media_probe"]
    assert probe["_run"]["status"] == "ok", probe
    assert probe["video"]["resolution"] == "320x240"


def _check_audio_only(found: dict[str, Any], clip: dict[str, Any]) -> None:
    probe = found["media_probe"]["_run"]
    assert probe["status"] == "error", probe
    assert "no video stream" in probe["error"], probe
    highlights = found["highlight_detector"]
    assert highlights["_run"]["status"] == "ok", highlights
    assert highlights["analyzed"] == ["audio"]
    thumbnails = found["thumbnails"]["_run"]
    assert thumbnails["status"] in ("error", "skipped"), thumbnails
    assert "no video stream" in thumbnails["error"], thumbnails


def _check_no_audio(found: dict[str, Any], clip: dict[str, Any]) -> None:
    probe = _probed(found, "h264", "320x240")
    assert probe["audio"] is None
    assert probe["duration"] == pytest.approx(2.0, abs=0.1)
    assert found["highlight_detector"]["analyzed"] == []  # no audio, and the picture is not analysed
    assert found["highlight_detector"]["highlights"] == []


def _check_vfr(found: dict[str, Any], clip: dict[str, Any]) -> None:
    """Frames 1/60 s and 1/20 s apart in turn: 30 fps on average, 60 at the fastest."""
    probe = _probed(found, "h264", "320x240")
    assert probe["duration"] == pytest.approx(2.0, abs=0.1)
    assert probe["video"]["average_fps"] == pytest.approx(30, abs=1)
    assert probe["video"]["real_fps"] == pytest.approx(60, abs=1)


def _check_rotated(found: dict[str, Any], clip: dict[str, Any]) -> None:
    """A landscape picture a player turns 90 degrees clockwise: the probe says so (counting
    clockwise, as ffmpeg's `rotate` tag did), and the poster is portrait."""
    probe = _probed(found, "h264", "320x240")
    assert probe["video"]["rotation"] == 90
    poster = found["thumbnails"]["poster"]
    assert (poster["width"], poster["height"]) == (240, 320)


def _check_hevc_4k60(found: dict[str, Any], clip: dict[str, Any]) -> None:
    probe = _probed(found, "hevc", "3840x2160")
    assert probe["video"]["average_fps"] == 60
    assert (clip["codec"], clip["resolution"], clip["fps"]) == ("hevc", "3840x2160", 60)
    poster = found["thumbnails"]["poster"]
    assert (poster["width"], poster["height"]) == (640, 360)


def _check_long(found: dict[str, Any], clip: dict[str, Any]) -> None:
    """An hour: the probe reads its length from the header; the highlight detector decodes all
    of its audio (a beep at every minute) well within the time limit."""
    probe = _probed(found, "h264", "64x36")
    assert probe["duration"] == pytest.approx(LONG_MINUTES * 60, abs=1)
    assert clip["duration"] == pytest.approx(LONG_MINUTES * 60, abs=1)
    moments = found["highlight_detector"]["highlights"]
    assert moments, found["highlight_detector"]
    for moment in moments:
        assert moment["kind"] == "loud"
        assert moment["timestamp"] % BEEP_EVERY_S == pytest.approx(0, abs=0.2), moments


CHECKS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "truncated": _check_truncated,
    "truncated_faststart": _check_truncated_faststart,
    "corrupt": _check_corrupt,
    "audio_only": _check_audio_only,
    "no_audio": _check_no_audio,
    "vfr": _check_vfr,
    "rotated": _check_rotated,
    "hevc_4k60": _check_hevc_4k60,
    "long": _check_long,
}
READABLE = ("no_audio", "vfr", "rotated", "hevc_4k60", "long")  # every media plugin ok on these


def _probed(found: dict[str, Any], codec: str, resolution: str) -> dict[str, Any]:
    probe: dict[str, Any] = found["media_probe"]
    assert probe["_run"]["status"] == "ok", probe
    assert (probe["video"]["codec"], probe["video"]["resolution"]) == (codec, resolution)
    return probe


@pytest.mark.parametrize("kind", list(MAKERS))
def test_odd_media_gets_a_clear_result(odd: OddRun, kind: str) -> None:
    clip = odd.clips[kind]
    found = results(clip)
    summary = {p: found.get(p, {}).get("_run") for p in MEDIA_PLUGINS}
    assert clip["status"] in ("completed", "completed_with_errors"), summary
    server_paths = {str(odd.media_dir), str(odd.media_dir.resolve())}
    for plugin in MEDIA_PLUGINS:
        assert plugin in found, f"no result from {plugin}: {summary}"
        run = found[plugin]["_run"]
        assert run["status"] in CLEAR, f"{plugin}: {run}"
        if run["status"] != "ok":
            assert isinstance(run["error"], str), f"{plugin} gave no reason: {run}"
            assert run["error"].strip(), f"{plugin} gave no reason: {run}"
        shown = json.dumps(found[plugin])
        assert not any(p in shown for p in server_paths), f"{plugin} names a server path: {shown}"
        if kind in READABLE:
            assert run["status"] == "ok", f"{plugin}: {run}"
    CHECKS[kind](found, clip)


async def test_the_runner_survives_odd_media(
    odd: OddRun, stack: RunningStack, client: httpx.AsyncClient, media_dir: Path
) -> None:
    assert stack.supervisor.pids("plugin-runner") == odd.runner_pids
    assert runner_restarts(stack) == odd.runner_restarts
    folder = media_dir / "odd" / uuid.uuid4().hex[:8]
    folder.mkdir(parents=True)
    make_clip(folder / "normal.mp4", seconds=2, label=uuid.uuid4().hex)
    file_path = f"/odd/{folder.name}/normal.mp4"
    response = await client.post(
        "/api/v1/clips", json={"title": "after the odd ones", "file_path": file_path}
    )
    assert response.status_code == 201, response.text
    clip = await wait_for_clip(client, response.json()["id"], lambda c: c["status"] in FINAL, timeout=60)
    for plugin in MEDIA_PLUGINS:
        assert results(clip)[plugin]["_run"]["status"] == "ok", results(clip)[plugin]
    assert clip["status"] == "completed", results(clip)
