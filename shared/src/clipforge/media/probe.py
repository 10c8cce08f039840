"""What a decoder can tell about a media file, from its headers and packets (nothing decoded).

The API uses it to refuse an upload that is not a video before the clip is committed; the
`media_probe` plugin reports it for every clip. PyAV (the ffmpeg libraries) does the reading.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import av

KEYFRAME_PACKETS = 600  # packets read to measure the keyframe interval (10 s at 60 fps)
DECODE_PACKETS = 32  # packets decoded, at most, until the first frame comes out


def image_format(container: str) -> bool:
    """A picture format (GIF, PNG, JPEG, WebP, ...), which decoders open but no recorder writes."""
    return container in ("gif", "image2", "apng", "webp") or container.endswith("_pipe")


class NotAVideo(ValueError):
    """The file is not a video a decoder can open; the message says why."""


def _seconds(value: Fraction | None) -> float | None:
    return round(float(value), 3) if value else None


def probe(source: Path | IO[bytes]) -> dict[str, Any]:
    """Container, duration, the first video and audio streams, bitrate, keyframe interval, of a
    file or a seekable reader (an object in S3). Raises `NotAVideo` when no decoder can open it as
    a video."""
    try:
        container = av.open(str(source) if isinstance(source, Path) else source, mode="r")
    except (av.FFmpegError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__  # not the message: it names our path
        raise NotAVideo(f"no decoder can open it ({reason})") from None
    with container:
        if not container.streams.video:
            raise NotAVideo("it has no video stream")
        video = container.streams.video[0]
        context = video.codec_context
        if context is None:
            raise NotAVideo("its video codec is unknown")
        if not context.width or not context.height:
            raise NotAVideo("its video stream has no picture size")
        duration = (
            container.duration / av.time_base
            if container.duration
            else (float(video.duration * video.time_base) if video.duration and video.time_base else None)
        )
        info: dict[str, Any] = {
            "container": container.format.name,
            "duration": round(duration, 3) if duration else None,
            "bitrate": container.bit_rate or None,
            "creation_time": container.metadata.get("creation_time"),
            "video": {
                "codec": context.name,
                "profile": context.profile,
                "width": context.width,
                "height": context.height,
                "resolution": f"{context.width}x{context.height}",
                "average_fps": _seconds(video.average_rate),
                "real_fps": _seconds(video.guessed_rate or video.base_rate),
                "rotation": 0,
            },
            "audio": None,
        }
        if container.streams.audio:
            audio = container.streams.audio[0].codec_context
            info["audio"] = {
                "codec": audio.name,
                "channels": audio.channels,
                "sample_rate": audio.sample_rate,
            }
        interval, first_frame = _keyframes(container, video)
        info["video"]["keyframe_interval_s"] = interval
        info["video"]["rotation"] = _rotation(video, first_frame)
    return info


def _rotation(video: Any, first_frame: Any) -> int:
    """Degrees a player turns the picture clockwise (phone videos), as ffmpeg's `rotate` tag
    counts them: the tag, or else the display matrix (counter-clockwise), which PyAV shows on a
    decoded frame only."""
    rotate = str(video.metadata.get("rotate", ""))
    if rotate.lstrip("-").isdigit():
        return int(rotate) % 360
    counter_clockwise: float = getattr(first_frame, "rotation", 0) or 0
    return round(-counter_clockwise) % 360


def _keyframes(container: Any, video: Any) -> tuple[float | None, Any]:
    """Mean seconds between keyframes over the first packets (demuxed; only the first frame is
    decoded, for its display matrix), and that frame."""
    times = []
    first = None
    for i, packet in enumerate(container.demux(video)):
        if i >= KEYFRAME_PACKETS:
            break
        if first is None and i < DECODE_PACKETS:
            try:
                first = next(iter(packet.decode()), None)
            except av.FFmpegError:  # a corrupt first packet: the rotation stays unknown (0)
                first = None
        if packet.is_keyframe and packet.pts is not None and packet.time_base is not None:
            times.append(float(packet.pts * packet.time_base))
    interval = round((times[-1] - times[0]) / (len(times) - 1), 3) if len(times) >= 2 else None
    return interval, first
