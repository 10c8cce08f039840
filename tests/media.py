"""Media the tests make themselves (PyAV encodes them; nothing is downloaded): clips with
known properties."""

from __future__ import annotations

import array
import bisect
import math
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

AUDIO_RATE = 48000
AUDIO_FRAME = 1024

BURST_S = 0.4  # how long a loud burst lasts
BURST_AMPLITUDE = 0.9  # white noise, over...
QUIET_TONE = 0.05  # ...a tone this much quieter than the usual 0.2 when a clip has bursts
SHOT_LUMA = (30, 200, 110, 235)  # shots (between cuts) cycle through these brightnesses...
SHOT_CHROMA = ((90, 200), (200, 60), (60, 90), (160, 160))  # ...and colours (U, V)


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
    bursts: Sequence[float] = (),
    cuts: Sequence[float] = (),
    label: str = "",
) -> Path:
    """An H.264/AAC MP4 (or audio only) of `seconds`: a picture whose brightness changes every
    frame, and a 440 Hz tone. Clips differing only in `variant` or `label` are different files
    (uploads are deduplicated by content, and the tests share one database).

    `bursts`: seconds where 0.4 s of loud white noise starts (the tone is then quieter);
    `cuts`: seconds where the picture switches to a very different one (each shot a colour
    with a slowly drifting stripe pattern, instead of the brightness ramp)."""
    with av.open(str(path), "w") as out:  # every stream is added before the first packet
        if label:  # a container tag: another file, the same picture and sound
            out.metadata["comment"] = label
        picture = out.add_stream("libx264", rate=fps) if video else None
        sound = out.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
        if picture is not None:
            picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
            for i in range(round(seconds * fps)):
                if cuts:
                    frame = _shot_frame(
                        i, width, height, bisect.bisect_right(sorted(cuts), i / fps) + variant
                    )
                else:
                    frame = av.VideoFrame(width, height, "yuv420p")
                    for p, plane in enumerate(frame.planes):
                        plane.update(bytes([(i * 3 + p * 60 + variant * 7) % 256]) * plane.buffer_size)
                frame.pts = i
                out.mux(picture.encode(frame))
            out.mux(picture.encode())
        if sound is not None:
            chunks = math.ceil(seconds * AUDIO_RATE / AUDIO_FRAME)
            loud = _with_bursts(chunks * AUDIO_FRAME, bursts, variant) if bursts else None
            for k in range(chunks):
                chunk = av.AudioFrame(format="fltp", layout="mono", samples=AUDIO_FRAME)
                t0 = k * AUDIO_FRAME
                if loud is not None:
                    chunk.planes[0].update(loud[t0 : t0 + AUDIO_FRAME].tobytes())
                else:
                    tone = [
                        0.2 * math.sin(2 * math.pi * 440 * (t0 + j) / AUDIO_RATE) for j in range(AUDIO_FRAME)
                    ]
                    chunk.planes[0].update(array.array("f", tone).tobytes())
                chunk.sample_rate, chunk.pts = AUDIO_RATE, t0
                out.mux(sound.encode(chunk))
            out.mux(sound.encode())
    return path


def _with_bursts(samples: int, bursts: Sequence[float], seed: int) -> np.ndarray:
    """A quiet 440 Hz tone with seeded white-noise bursts (float32, mono)."""
    t = np.arange(samples, dtype=np.float64)
    sound = QUIET_TONE * np.sin(2 * np.pi * 440 * t / AUDIO_RATE)
    noise = np.random.default_rng(seed)
    for at in bursts:
        start = max(0, round(at * AUDIO_RATE))
        stop = min(samples, start + round(BURST_S * AUDIO_RATE))
        if start < stop:
            sound[start:stop] += noise.uniform(-BURST_AMPLITUDE, BURST_AMPLITUDE, stop - start)
    return sound.astype(np.float32)


def _shot_frame(i: int, width: int, height: int, shot: int) -> av.VideoFrame:
    """Frame `i` of shot number `shot`: its colour, and stripes drifting a pixel a frame (so the
    picture changes a little within a shot and a lot at a cut)."""
    luma = SHOT_LUMA[shot % len(SHOT_LUMA)]
    u, v = SHOT_CHROMA[shot % len(SHOT_CHROMA)]
    stripes = ((np.arange(width) + i) % 32 // 2).astype(np.uint8)  # 0..15
    y = np.broadcast_to(np.uint8(min(luma, 240)) + stripes, (height, width))
    quarter = (width // 2) * (height // 2)  # yuv420p as one array: Y, then U and V (w/2 x h/2 each)
    planes = np.concatenate((y.ravel(), np.full(quarter, u, np.uint8), np.full(quarter, v, np.uint8)))
    return av.VideoFrame.from_ndarray(planes.reshape(-1, width), format="yuv420p")
