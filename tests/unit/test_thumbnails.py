"""The thumbnails plugin: a poster that is not black and upright, a storyboard whose sprite, index
and WebVTT agree, files written where the runner says, and bad media refused with a reason."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError
from thumbnails import Thumbnails, rotation, upright

from clipforge.events import PluginRunStatus
from clipforge.sdk import PluginContext, SkipClip
from clipforge.sdk.execution import run_captured_hook
from tests.media import make_clip

CUE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})$")


def thumbnails(**config: Any) -> Thumbnails:
    plugin = Thumbnails()
    plugin.context = PluginContext(logger=plugin.logger, config=Thumbnails.parse_config(config))
    return plugin


def run(video: Path | None, out: Path | None, **config: Any) -> dict[str, Any]:
    clip: dict[str, Any] = {
        "metadata": {},
        "media_path": str(video) if video else None,
        "artifacts_dir": str(out) if out else None,
    }
    return thumbnails(**config).on_clip_captured(clip)


def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "artifacts"
    out.mkdir()
    return out


def encode(
    path: Path,
    picture: Callable[[int], np.ndarray[Any, Any]],
    *,
    frames: int,
    fps: int = 10,
    keyframe_every: int = 5,
    turn: int = 0,
    faststart: bool = False,
    b_frames: int = 0,
) -> Path:
    """An H.264 video of `frames` RGB pictures (`picture(i)`), its container chosen by the suffix,
    a keyframe exactly every `keyframe_every` frames; `turn` clockwise degrees set in the display
    matrix, the way phones mark portrait video."""
    height, width = picture(0).shape[:2]
    with av.open(str(path), "w", options={"movflags": "faststart"} if faststart else None) as out:
        stream = out.add_stream(
            "libx264", rate=fps, options={"g": str(keyframe_every), "sc_threshold": "0", "bf": str(b_frames)}
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if turn:
            stream.set_display_rotation(-turn)  # counter-clockwise, as VideoFrame.rotation reads it
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(picture(i), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def textured(width: int, height: int, seed: int = 0) -> np.ndarray[Any, Any]:
    """A bright, busy picture: a gradient with noise."""
    rng = np.random.default_rng(seed)
    gradient = np.linspace(80, 220, width, dtype=np.float32)[None, :, None]
    noise = rng.integers(-30, 30, (height, width, 3))
    picture: np.ndarray[Any, Any] = np.clip(gradient + noise, 0, 255).astype(np.uint8)
    return picture


def vtt_cues(text: str) -> list[tuple[float, float, str]]:
    assert text.startswith("WEBVTT\n")
    cues = []
    for block in text.split("\n\n")[1:]:
        timing, payload = block.strip().split("\n")
        match = CUE.match(timing)
        assert match, timing
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, match.groups())
        cues.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000, payload))
    return cues


def check_storyboard(out: Path, storyboard: dict[str, Any], duration: float) -> list[float]:
    """The sprite, index and VTT agree with the result and each other; the tiles' timestamps."""
    cols, rows, w, h = (storyboard[k] for k in ("columns", "rows", "tile_width", "tile_height"))
    with Image.open(out / storyboard["file"]) as sprite:
        assert sprite.format == "JPEG"
        assert sprite.size == (cols * w, rows * h)
    index = json.loads((out / storyboard["index"]).read_text())
    assert index["sprite"] == storyboard["file"]
    assert (index["columns"], index["rows"], index["tile_width"], index["tile_height"]) == (cols, rows, w, h)
    tiles = index["tiles"]
    assert len(tiles) == storyboard["count"]
    times = [t["timestamp"] for t in tiles]
    assert times == sorted(times)
    assert all(0 <= t <= duration + 0.001 for t in times)
    assert all(t["x"] + t["w"] <= cols * w and t["y"] + t["h"] <= rows * h for t in tiles)
    cues = vtt_cues((out / storyboard["vtt"]).read_text())
    assert len(cues) == storyboard["count"]
    assert [c[2] for c in cues] == [
        f"{index['sprite']}#xywh={t['x']},{t['y']},{t['w']},{t['h']}" for t in tiles
    ]
    assert cues[0][0] == 0.0
    assert cues[-1][1] == pytest.approx(duration, abs=0.001)
    assert all(start < end for start, end, _ in cues)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(cues)), "no gaps, no overlaps"
    return [float(t) for t in times]


def test_a_720p_clip_gets_a_640_poster_and_a_storyboard(tmp_path: Path) -> None:
    video = make_clip(tmp_path / "c.mp4", seconds=2, width=1280, height=720, fps=30)
    out = out_dir(tmp_path)
    result = run(video, out)
    poster = result["poster"]
    assert poster | {"timestamp": 0} == {
        "file": "poster.jpg",
        "width": 640,
        "height": 360,
        "timestamp": 0,
        "content_type": "image/jpeg",
    }
    assert 0 <= poster["timestamp"] <= 2.0
    with Image.open(out / "poster.jpg") as image:
        image.load()
        assert (image.format, image.size) == ("JPEG", (640, 360))
    storyboard = result["storyboard"]
    assert storyboard["count"] == 20
    assert (storyboard["columns"], storyboard["rows"]) == (5, 4)
    assert (storyboard["tile_width"], storyboard["tile_height"]) == (160, 90)
    assert storyboard["interval_s"] == pytest.approx(0.1)
    check_storyboard(out, storyboard, duration=2.0)
    assert sorted(p.name for p in out.iterdir()) == [
        "poster.jpg",
        "storyboard.jpg",
        "storyboard.json",
        "storyboard.vtt",
    ]


def test_a_small_source_is_not_upscaled(tmp_path: Path) -> None:
    out = out_dir(tmp_path)
    result = run(make_clip(tmp_path / "c.mp4", seconds=1), out, poster_width=1280, tile_width=400)
    assert (result["poster"]["width"], result["poster"]["height"]) == (320, 240)
    with Image.open(out / "poster.jpg") as image:
        assert image.size == (320, 240)
    assert (result["storyboard"]["tile_width"], result["storyboard"]["tile_height"]) == (320, 240)


def test_the_poster_skips_a_black_start_and_tiles_are_the_decoded_keyframes(tmp_path: Path) -> None:
    black, bright = np.zeros((240, 320, 3), np.uint8), textured(320, 240)
    video = encode(tmp_path / "c.mp4", lambda i: black if i < 12 else bright, frames=30)  # 3 s, 40% black
    out = out_dir(tmp_path)
    result = run(video, out, storyboard_frames=6, columns=4)
    assert result["poster"]["timestamp"] >= 1.2
    with Image.open(out / "poster.jpg") as image:
        assert np.asarray(image.convert("L")).mean() > 100
    storyboard = result["storyboard"]
    assert (storyboard["count"], storyboard["columns"], storyboard["rows"]) == (6, 4, 2)
    times = check_storyboard(out, storyboard, duration=3.0)
    assert times == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5], "each (slot + 0.5) × 0.5 s, back to its keyframe"


def test_a_clip_of_dark_pictures_gets_its_brightest(tmp_path: Path) -> None:
    def dim(i: int) -> np.ndarray[Any, Any]:
        return np.full((120, 160, 3), 2 * i, np.uint8)  # 0 … 18: all near-black

    out = out_dir(tmp_path)
    result = run(encode(tmp_path / "c.mp4", dim, frames=10, keyframe_every=1), out)
    assert result["poster"]["timestamp"] == pytest.approx(0.7), "75% of 1 s, the brightest tried"


def test_a_webp_poster(tmp_path: Path) -> None:
    out = out_dir(tmp_path)
    poster = run(make_clip(tmp_path / "c.mp4", seconds=1), out, format="webp")["poster"]
    assert (poster["file"], poster["content_type"]) == ("poster.webp", "image/webp")
    with Image.open(out / "poster.webp") as image:
        assert (image.format, image.size) == ("WEBP", (poster["width"], poster["height"]))
    assert not (out / "poster.jpg").exists()


def test_a_phone_video_marked_as_turned_gets_an_upright_portrait_poster(tmp_path: Path) -> None:
    picture = np.zeros((240, 320, 3), np.uint8)
    picture[:, :160] = 255  # the left half white: once turned clockwise, the top half
    out = out_dir(tmp_path)
    result = run(encode(tmp_path / "c.mp4", lambda i: picture, frames=10, turn=90), out)
    assert (result["poster"]["width"], result["poster"]["height"]) == (240, 320)
    assert (result["storyboard"]["tile_width"], result["storyboard"]["tile_height"]) == (160, 213)
    with Image.open(out / "poster.jpg") as image:
        gray = np.asarray(image.convert("L"), dtype=np.float32)
    assert gray[:150].mean() > 200
    assert gray[170:].mean() < 50


@pytest.mark.parametrize(
    ("tag", "display_matrix", "turn"),
    [
        ("90", 0, 90),
        ("270", 0, 270),
        ("-90", 0, 270),
        ("180", 0, 180),
        ("0", -90, 90),
        (None, -90, 90),
        (None, 90, 270),
        (None, 0, 0),
        ("junk", 0, 0),
    ],
)
def test_rotation_reads_the_rotate_tag_or_else_the_display_matrix(
    tag: str | None, display_matrix: int, turn: int
) -> None:
    assert rotation(tag, display_matrix) == turn


def test_upright_turns_clockwise() -> None:
    image = Image.new("L", (4, 2))
    image.putpixel((0, 0), 255)  # top left; turned clockwise, it is top right
    turned = upright(image, 90)
    assert turned.size == (2, 4)
    assert turned.getpixel((1, 0)) == 255
    assert upright(image, 0) is image


@pytest.mark.parametrize(
    ("media", "artifacts", "reason"),
    [
        (None, "artifacts", "no media file"),
        ("missing.mp4", "artifacts", "no media file"),
        ("c.mp4", None, "no place for artifacts"),
        ("c.mp4", "missing", "no place for artifacts"),
        ("c.mp4", "c.mp4", "no place for artifacts"),
    ],
)
def test_a_clip_without_a_file_or_a_folder_is_skipped(
    tmp_path: Path, media: str | None, artifacts: str | None, reason: str
) -> None:
    make_clip(tmp_path / "c.mp4", seconds=0.5, audio=False)
    out_dir(tmp_path)
    with pytest.raises(SkipClip, match=f"^{reason}$"):
        run(tmp_path / media if media else None, tmp_path / artifacts if artifacts else None)


def test_a_file_that_is_not_a_video_is_refused_without_naming_it(tmp_path: Path) -> None:
    fake = tmp_path / "secret-name.mp4"
    fake.write_text("not a video")
    with pytest.raises(ValueError, match="no decoder can open") as raised:
        run(fake, out_dir(tmp_path))
    assert "secret-name" not in str(raised.value)


def test_a_file_without_video_is_refused(tmp_path: Path) -> None:
    sound = make_clip(tmp_path / "a.m4a", seconds=0.5, video=False)
    out = out_dir(tmp_path)
    with pytest.raises(ValueError, match="no video stream"):
        run(sound, out)
    assert not list(out.iterdir())


@pytest.mark.parametrize("faststart", [False, True])
def test_a_truncated_file_gives_what_decodes_or_a_value_error(tmp_path: Path, faststart: bool) -> None:
    whole = encode(tmp_path / "whole.mp4", lambda i: textured(320, 240, i), frames=40, faststart=faststart)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    out = out_dir(tmp_path)
    try:
        result = run(cut, out)
    except ValueError:
        assert not faststart, "the index is at the front: the first part decodes"
        assert not list(out.iterdir())
        return
    assert faststart, "moov (the index) is at the end: nothing to open"
    assert result["storyboard"]["count"] == 20, "a time past the cut shows the last keyframe before it"
    times = check_storyboard(out, result["storyboard"], duration=4.0)
    assert max(times) < 3.0, "and says when that was"


@pytest.mark.parametrize("container", ["mp4", "mkv", "ts"])
def test_each_tile_is_the_keyframe_at_or_before_its_time_in_any_container(
    tmp_path: Path, container: str
) -> None:
    """MPEG-TS has no index: its seeks land past the time and must be walked back."""
    video = encode(tmp_path / f"c.{container}", lambda i: textured(160, 120, i), frames=30, b_frames=3)
    out = out_dir(tmp_path)
    result = run(video, out, storyboard_frames=12)
    times = check_storyboard(out, result["storyboard"], duration=3.0)
    assert times == [0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 1.5, 1.5, 2.0, 2.0, 2.5, 2.5]  # at 0.125, 0.375 …
    assert result["poster"]["timestamp"] == 0.0, "10% is 0.3 s: the keyframe at 0"


async def test_the_runner_records_the_result(tmp_path: Path) -> None:
    video = make_clip(tmp_path / "c.mp4", seconds=1, width=640, height=360)
    clip = {"metadata": {}, "media_path": str(video), "artifacts_dir": str(out_dir(tmp_path))}
    result = await run_captured_hook(
        thumbnails().on_clip_captured,
        clip,
        plugin="thumbnails",
        version="0.1.0",
        timeout=30,
        max_result_bytes=65536,
    )
    assert result.status is PluginRunStatus.OK
    assert result.result["poster"]["width"] == 640


def test_the_configuration_is_bounded() -> None:
    with pytest.raises(ValidationError):
        Thumbnails.parse_config({"storyboard_frames": 0})
    with pytest.raises(ValidationError):
        Thumbnails.parse_config({"format": "gif"})
    assert Thumbnails.parse_config({"timeout_s": 5}).storyboard_frames == 20


def test_a_clip_whose_only_keyframe_is_black_still_gets_a_lit_poster(tmp_path: Path) -> None:
    """make_clip's first frame is black and, 4 s at 30 fps, it is the clip's only keyframe: the
    poster comes from the frames at the poster's times instead (the brightest, all being flat)."""
    video = make_clip(tmp_path / "one-key.mp4", seconds=4, width=320, height=180, fps=30)
    out = out_dir(tmp_path)
    result = run(video, out)
    with Image.open(out / result["poster"]["file"]) as poster:
        mean = float(np.asarray(poster.convert("L")).mean())
    assert mean >= 24, "not the black first frame"
    assert result["poster"]["timestamp"] > 0
