"""thumbnails: a poster and a seek-preview storyboard (sprite, JSON index, WebVTT) for every clip.

Every picture is a keyframe: seek to the keyframe at or before a time, send that one packet to the
decoder and drain it. A clip costs some 25 one-frame decodes whatever its length; the rest of the
file is never decoded. Frame threading and `skip_frame="NONKEY"` both make this slower, so neither
is used: the first holds the frame back for its pipeline, the second (with B-frames) until the next
keyframe. Slice threading is on.

The runner hands the hook an empty local folder, `artifacts_dir`, and uploads whatever the hook
leaves in it to the clip's storage: the plugin writes plain files, never sees storage or its
credentials, and its result names the files relative to that folder. They are written only once
every picture is in hand, so a run that fails leaves the folder empty.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
from av.container import InputContainer
from av.packet import Packet
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image
from pydantic import BaseModel, Field

from clipforge.sdk import PluginBase, PluginMetadata, SkipClip

POSTER_AT = (0.10, 0.25, 0.50, 0.75, 0.0)
"""Where a poster is looked for, as fractions of the duration, in turn; the start comes last."""
DARK_LUMA = 24.0  # mean luma (0-255) below which a picture is near-black
FLAT_STD = 8.0  # luma standard deviation below which it is flat (a fade, a blank screen)
STATS_SIZE = (96, 54)  # the picture is measured at this size
SEEK_BACK_S = (2.0, 8.0, 32.0)
"""How far before a time to seek again when a seek went past it (MPEG-TS seeks by decoding
timestamps, not an index) or found nothing (a truncated file)."""
MAX_PACKETS = 5000  # packets read (not decoded) after one seek before it is given up
MAX_DECODED = 600  # frames decoded forward from a keyframe for a poster (10 s at 60 fps)
MAX_SPRITE_SIDE = 16000  # pixels; tiles shrink to keep the sprite within it
SPRITE = "storyboard.jpg"
SPRITE_QUALITY = 80
POSTER_QUALITY = {"jpeg": 85, "webp": 80}
POSTER_FILE = {"jpeg": "poster.jpg", "webp": "poster.webp"}
CONTENT_TYPE = {"jpeg": "image/jpeg", "webp": "image/webp"}
UPRIGHT = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
"""PIL's turn (counter-clockwise) that undoes each clockwise rotation a player applies."""


class ThumbnailsConfig(BaseModel):
    poster_width: int = Field(640, ge=16, le=3840, description="poster width, never above the source's")
    format: Literal["jpeg", "webp"] = Field("jpeg", description="the poster's image format")
    storyboard_frames: int = Field(20, ge=1, le=100, description="storyboard pictures, evenly spaced")
    tile_width: int = Field(160, ge=16, le=640, description="storyboard tile width, never above the source's")
    columns: int = Field(5, ge=1, le=20, description="storyboard tiles per row")


class Thumbnails(PluginBase):
    config_model = ThumbnailsConfig

    @property
    def metadata(self) -> PluginMetadata:
        return PluginMetadata(
            name="thumbnails",
            display_name="Thumbnails",
            description="A poster and a seek-preview storyboard for every clip, from its keyframes.",
            version="0.1.0",
            author="clipforge",
            plugin_type="python",
            enabled_by_default=True,
            writes_artifacts=True,
            timeout_s=60,  # a long recording takes longer
        )

    def on_clip_captured(self, clip_data: Any) -> dict[str, Any]:
        config: ThumbnailsConfig = self.config
        media_path = clip_data.get("media_path")
        if not media_path or not Path(media_path).is_file():
            raise SkipClip("no media file")
        artifacts_dir = clip_data.get("artifacts_dir")
        if not artifacts_dir or not Path(artifacts_dir).is_dir():
            raise SkipClip("no place for artifacts")
        try:
            shots = take_pictures(Path(media_path), config)
        except av.FFmpegError as exc:  # reads, seeks and decodes catch their own: a scaler, say
            raise ValueError(f"the clip's video cannot be decoded ({type(exc).__name__})") from None
        out = Path(artifacts_dir)
        poster_file = POSTER_FILE[config.format]
        shots.poster.save(out / poster_file, quality=POSTER_QUALITY[config.format])
        return {
            "poster": {
                "file": poster_file,
                "width": shots.poster.width,
                "height": shots.poster.height,
                "timestamp": round(shots.poster_time, 3),
                "content_type": CONTENT_TYPE[config.format],
            },
            "storyboard": write_storyboard(
                out, shots.tiles, shots.tile, config.columns, shots.interval, shots.duration
            ),
        }


@dataclass(frozen=True)
class Shots:
    """The pictures taken from a clip, ready to write."""

    poster: Image.Image
    poster_time: float
    tiles: list[tuple[int, float, Image.Image]]
    """(slot, timestamp, picture) of each storyboard time that had a picture."""
    tile: tuple[int, int]
    interval: float
    duration: float


def take_pictures(path: Path, config: ThumbnailsConfig) -> Shots:
    with open_video(path) as video:
        poster = choose_poster(video)
        if poster is None:
            raise ValueError("no frame could be decoded")
        turn = rotation(video.stream.metadata.get("rotate"), poster.frame.rotation)
        display = video.display_size(turn)
        poster_image = render(poster.frame, fit(display, config.poster_width, even=True), turn)
        tile = tile_size(display, config)
        interval = video.duration / config.storyboard_frames
        tiles = []
        for slot in range(config.storyboard_frames):
            picture = video.picture_at((slot + 0.5) * interval)
            if picture is not None:
                tiles.append((slot, picture.time, render(picture.frame, tile, turn)))
        return Shots(poster_image, poster.time, tiles, tile, interval, video.duration)


@dataclass(frozen=True)
class Picture:
    frame: VideoFrame
    time: float
    """Seconds from the start of the video: the decoded frame's own timestamp."""
    key: int | None
    """The timestamp of the packet it was decoded from, to know the same keyframe again."""


class Video:
    """The first video stream of an open file, read by seeking to keyframes."""

    def __init__(self, container: InputContainer) -> None:
        streams = [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]
        if not streams:
            raise ValueError("the clip's file has no video stream")
        self.container = container
        self.stream: VideoStream = streams[0]
        context = self.stream.codec_context
        if context is None:
            raise ValueError("no decoder knows the clip's video codec")
        if not context.width or not context.height:
            raise ValueError("the clip's video stream has no picture size")
        self.stream.thread_type = "SLICE"  # frame threading delays a one-frame decode (measured 2x)
        self.time_base: Fraction = self.stream.time_base or Fraction(1, av.time_base)
        self.origin = self.stream.start_time or 0  # in time_base
        self.duration = self._duration()
        self._last: Picture | None = None

    def display_size(self, turn: int) -> tuple[float, float]:
        """Width and height a player shows: pixel aspect ratio applied, then the rotation."""
        context = self.stream.codec_context
        ratio = self.stream.sample_aspect_ratio or context.sample_aspect_ratio
        width = context.width * float(ratio) if ratio and ratio > 0 else float(context.width)
        return (float(context.height), width) if turn in (90, 270) else (width, float(context.height))

    def picture_at(self, seconds: float) -> Picture | None:
        """The first frame of the keyframe at or before `seconds` (or, when there is none, the
        first after it); None if nothing there can be decoded."""
        target = self.origin + int(seconds / self.time_base)
        for back in (0.0, *SEEK_BACK_S):
            start = target - int(back / self.time_base)
            picture = self._keyframe(start, until=target, scan=back > 0)
            if picture is not None:
                return picture
            if start < self.origin:
                break
        return self._keyframe(target, until=None, scan=False)

    def frame_at(self, seconds: float) -> Picture | None:
        """The frame shown at `seconds`, decoded forward from the keyframe before it (at most
        `MAX_DECODED` frames): dearer than `picture_at`, for a poster when every keyframe looked
        at is dark or flat (a clip with few keyframes, one of them a black first frame)."""
        target = self.origin + int(seconds / self.time_base)
        shown: VideoFrame | None = None
        try:
            self.container.seek(target, stream=self.stream, backward=True)
            for n, frame in enumerate(self.container.decode(self.stream)):
                if n >= MAX_DECODED or (frame.pts is not None and frame.pts > target):
                    break
                if frame.pts is not None and not frame.is_corrupt:
                    shown = frame
        except av.FFmpegError:
            pass
        finally:
            self.stream.codec_context.flush_buffers()  # the keyframe reads after start clean
        if shown is None or shown.pts is None:
            return None
        return Picture(shown, max(float((shown.pts - self.origin) * self.time_base), 0.0), None)

    def _keyframe(self, start: int, *, until: int | None, scan: bool) -> Picture | None:
        """Seek to the keyframe at or before `start` (pts) and decode the first keyframe from there
        that is at or before `until` or, with `scan`, the last one (the packets in between are
        read, not decoded). Without `until`, the first keyframe whatever its time."""
        held: Packet[VideoStream] | None = None
        try:
            self.container.seek(start, stream=self.stream, backward=True)
            for n, packet in enumerate(self.container.demux(self.stream)):
                if n >= MAX_PACKETS or not packet.size:  # an empty packet: the end of the file
                    break
                if not packet.is_keyframe:
                    continue
                if until is not None and packet.pts is not None and packet.pts > until:
                    break
                if scan:
                    held = packet
                    continue
                picture = self._decode(packet)
                if picture is not None:
                    return picture
        except av.FFmpegError:  # a truncated or damaged file: what was held may still decode
            pass
        return self._decode(held) if held is not None else None

    def _decode(self, packet: Packet[VideoStream]) -> Picture | None:
        if self._last is not None and packet.pts is not None and packet.pts == self._last.key:
            return self._last  # the keyframe of the previous time (a short clip): decoded already
        context = self.stream.codec_context
        try:
            frames = self.stream.decode(packet)
            if not frames and packet.is_keyframe:
                frames = self.stream.decode(None)  # held back for reordering (B-frames): drain
                context.flush_buffers()  # leave draining mode for the next packet
        except av.FFmpegError:
            context.flush_buffers()
            return None
        for frame in frames:
            if frame.is_corrupt:
                continue
            pts = frame.pts if frame.pts is not None else packet.pts
            seconds = max(float((pts - self.origin) * self.time_base), 0.0) if pts is not None else 0.0
            self._last = Picture(frame, min(seconds, self.duration) if self.duration else seconds, packet.pts)
            return self._last
        return None

    def _duration(self) -> float:
        stream = self.stream
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        if self.container.duration:
            return self.container.duration / av.time_base
        last = None  # no header says: the last packet does (read, not decoded)
        try:
            for packet in self.container.demux(stream):
                if packet.pts is not None:
                    last = packet.pts if last is None else max(last, packet.pts)
        except av.FFmpegError:
            pass
        return max(float((last - self.origin) * self.time_base), 0.0) if last is not None else 0.0


@contextmanager
def open_video(path: Path) -> Iterator[Video]:
    """The file's video; ValueError saying why (never naming the path) if there is none."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__  # its message names the path
        raise ValueError(f"no decoder can open the clip's file ({reason})") from None
    with container:
        yield Video(container)


def choose_poster(video: Video) -> Picture | None:
    """The first picture of `POSTER_AT` that is neither near-black nor flat, from the keyframes
    (one decoded packet each), then, if none is, from the frames at those times; else the
    brightest of them all."""
    best: Picture | None = None
    best_mean = -1.0
    for look in (video.picture_at, video.frame_at):
        for fraction in POSTER_AT:
            picture = look(fraction * video.duration)
            if picture is None:
                continue
            mean, spread = luma(picture.frame)
            if mean >= DARK_LUMA and spread >= FLAT_STD:
                return picture
            if mean > best_mean:
                best, best_mean = picture, mean
    return best


def luma(frame: VideoFrame) -> tuple[float, float]:
    """Mean and standard deviation of the picture's brightness, 0-255."""
    gray = frame.reformat(*STATS_SIZE, format="gray", interpolation="AREA").to_ndarray()
    return float(gray.mean()), float(gray.std())


def rotation(tag: str | None, display_matrix: float = 0) -> int:
    """Clockwise degrees (0, 90, 180, 270) a player turns the picture: the stream's `rotate` tag
    (clockwise; older muxers), else its display matrix (FFmpeg's angle, counter-clockwise, as
    `VideoFrame.rotation` gives it)."""
    try:
        degrees = float(tag) if tag else 0.0
    except ValueError:
        degrees = 0.0
    if not degrees:
        degrees = -float(display_matrix)
    return round(degrees / 90) % 4 * 90


def upright(image: Image.Image, turn: int) -> Image.Image:
    """`image` turned `turn` degrees clockwise, the way a player shows it."""
    return image.transpose(UPRIGHT[turn]) if turn in UPRIGHT else image


def fit(display: tuple[float, float], width: int, *, even: bool = False) -> tuple[int, int]:
    """`width` (never more than the display's) and the height that keeps the aspect ratio."""
    display_width, display_height = display
    w = max(min(width, int(display_width)), 2 if even else 1)
    if even:
        w -= w % 2
        return w, max(2, round(w * display_height / display_width / 2) * 2)
    return w, max(1, round(w * display_height / display_width))


def tile_size(display: tuple[float, float], config: ThumbnailsConfig) -> tuple[int, int]:
    """The storyboard's tile, shrunk if the full sprite would exceed `MAX_SPRITE_SIDE`."""
    w, h = fit(display, config.tile_width)
    rows = math.ceil(config.storyboard_frames / config.columns)
    scale = min(1.0, MAX_SPRITE_SIDE / (config.columns * w), MAX_SPRITE_SIDE / (rows * h))
    return (w, h) if scale == 1.0 else fit(display, max(1, int(w * scale)))


def render(frame: VideoFrame, size: tuple[int, int], turn: int) -> Image.Image:
    """The frame scaled (by swscale) to `size` as shown, upright."""
    width, height = size if turn not in (90, 270) else size[::-1]
    rgb = frame.reformat(width, height, format="rgb24", interpolation="AREA").to_ndarray()
    return upright(Image.fromarray(rgb), turn)


def write_storyboard(
    out: Path,
    tiles: list[tuple[int, float, Image.Image]],
    tile: tuple[int, int],
    columns: int,
    interval: float,
    duration: float,
) -> dict[str, Any] | None:
    """Sprite, JSON index and WebVTT of the tiles. Each cue runs from its slot's start to the
    next tile's (the first from 0, the last to the end), so the cues cover the clip even where a
    time had no picture."""
    if not tiles:
        return None
    w, h = tile
    columns = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / columns)
    sprite = Image.new("RGB", (columns * w, rows * h))
    index = []
    for i, (_, timestamp, image) in enumerate(tiles):
        x, y = i % columns * w, i // columns * h
        sprite.paste(image, (x, y))
        index.append({"timestamp": round(timestamp, 3), "x": x, "y": y, "w": w, "h": h})
    sprite.save(out / SPRITE, quality=SPRITE_QUALITY)
    (out / "storyboard.json").write_text(
        json.dumps(
            {"sprite": SPRITE, "tile_width": w, "tile_height": h, "columns": columns, "rows": rows}
            | {"tiles": index}
        )
    )
    starts = [0.0] + [slot * interval for slot, _, _ in tiles[1:]]
    ends = [*starts[1:], max(duration, starts[-1])]
    cues = [
        f"{vtt_time(start)} --> {vtt_time(max(end, start + 0.001))}\n"
        f"{SPRITE}#xywh={t['x']},{t['y']},{t['w']},{t['h']}\n"
        for start, end, t in zip(starts, ends, index, strict=True)
    ]
    (out / "storyboard.vtt").write_text("\n".join(["WEBVTT\n", *cues]))
    return {
        "file": SPRITE,
        "index": "storyboard.json",
        "vtt": "storyboard.vtt",
        "content_type": "image/jpeg",
        "columns": columns,
        "rows": rows,
        "tile_width": w,
        "tile_height": h,
        "interval_s": round(interval, 3),
        "count": len(tiles),
    }


def vtt_time(seconds: float) -> str:
    """`seconds` as a WebVTT timestamp, hh:mm:ss.ttt."""
    ms = round(seconds * 1000)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"
