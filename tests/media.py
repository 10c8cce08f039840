"""Media the tests make themselves (PyAV encodes them; nothing is downloaded): clips with
known properties."""

from __future__ import annotations

import array
import math
from pathlib import Path

import av

AUDIO_RATE = 48000
AUDIO_FRAME = 1024


def make_clip(
    path: Path,
    *,
    seconds: float = 1.0,
    width: int = 320,
    height: int = 240,
    fps: int = 30,
    video: bool = True,
    audio: bool = True,
    variant: int = 0,
) -> Path:
    """An H.264/AAC MP4 (or audio only) of `seconds`: a picture whose brightness changes every
    frame, and a 440 Hz tone. Clips differing only in `variant` are different files (uploads
    are deduplicated by content, and the tests share one database)."""
    with av.open(str(path), "w") as out:  # every stream is added before the first packet
        picture = out.add_stream("libx264", rate=fps) if video else None
        sound = out.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
        if picture is not None:
            picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
            for i in range(round(seconds * fps)):
                frame = av.VideoFrame(width, height, "yuv420p")
                for p, plane in enumerate(frame.planes):
                    plane.update(bytes([(i * 3 + p * 60 + variant * 7) % 256]) * plane.buffer_size)
                frame.pts = i
                out.mux(picture.encode(frame))
            out.mux(picture.encode())
        if sound is not None:
            for k in range(math.ceil(seconds * AUDIO_RATE / AUDIO_FRAME)):
                chunk = av.AudioFrame(format="fltp", layout="mono", samples=AUDIO_FRAME)
                t0 = k * AUDIO_FRAME
                tone = [0.2 * math.sin(2 * math.pi * 440 * (t0 + j) / AUDIO_RATE) for j in range(AUDIO_FRAME)]
                chunk.planes[0].update(array.array("f", tone).tobytes())
                chunk.sample_rate, chunk.pts = AUDIO_RATE, t0
                out.mux(sound.encode(chunk))
            out.mux(sound.encode())
    return path
