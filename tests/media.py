"""Media the tests make themselves (PyAV encodes them; nothing is downloaded): clips with
known properties."""

from __future__ import annotations

import array
import bisect
import math
from collections.abc import Sequence
from fractions import Fraction
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


# Odd media: what phones, capture cards and broken copies produce. Each is made in a second or
# three (measured on a 2-core machine), so the tests can afford to make them every run.

ODD_TIME_BASE = Fraction(1, 600)  # ticks fine enough for 1/60 s and 1/20 s alike (10 and 30)


def make_vfr_clip(
    path: Path,
    *,
    seconds: float = 2.0,
    width: int = 320,
    height: int = 240,
    gaps: Sequence[Fraction] = (Fraction(1, 60), Fraction(1, 20)),
    audio: bool = True,
    label: str = "",
) -> Path:
    """A variable-frame-rate H.264/AAC MP4, as phones and screen recorders make: the frames'
    timestamps step by `gaps` in turn (1/60 s, 1/20 s, 1/60 s, ...: 30 frames a second on
    average, 60 at the fastest)."""
    with av.open(str(path), "w") as out:
        if label:
            out.metadata["comment"] = label
        picture = out.add_stream("libx264", rate=round(1 / min(gaps)))
        picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
        picture.codec_context.time_base = ODD_TIME_BASE
        sound = out.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
        ticks = [round(gap / ODD_TIME_BASE) for gap in gaps]
        pts, i = 0, 0
        while pts * ODD_TIME_BASE < seconds:
            frame = _flat_frame(i, width, height)
            frame.pts, frame.time_base = pts, ODD_TIME_BASE
            out.mux(picture.encode(frame))
            pts += ticks[i % len(ticks)]
            i += 1
        out.mux(picture.encode())
        if sound is not None:
            _mux_tone(out, sound, seconds)
    return path


def make_rotated_clip(
    path: Path,
    degrees: int = 90,
    *,
    seconds: float = 1.0,
    width: int = 320,
    height: int = 240,
    fps: int = 30,
    label: str = "",
) -> Path:
    """A phone video held upright: a landscape `width`x`height` picture that players turn
    `degrees` clockwise (portrait for 90 and 270), with a tone.

    The turn is written as the MP4 track's display matrix, as phones write it. FFmpeg's angle is
    counter-clockwise, so a 90 degree clip reads back as -90 (`frame.rotation`, ffprobe's
    `rotation`). A legacy `rotate` stream tag is not written: FFmpeg's muxer ignores it (PyAV 18,
    FFmpeg 8) and no longer reads it back as a tag either."""
    with av.open(str(path), "w") as out:
        if label:
            out.metadata["comment"] = label
        picture = out.add_stream("libx264", rate=fps)
        picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
        picture.set_display_rotation(-degrees)
        sound = out.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        for i in range(round(seconds * fps)):
            frame = _flat_frame(i, width, height)
            frame.pts = i
            out.mux(picture.encode(frame))
        out.mux(picture.encode())
        _mux_tone(out, sound, seconds)
    return path


def make_hevc_clip(
    path: Path,
    width: int = 3840,
    height: int = 2160,
    fps: int = 60,
    seconds: float = 0.25,
    *,
    label: str = "",
) -> Path:
    """An HEVC (libx265, ultrafast) MP4 with AAC audio: 4K at 60 fps by default. Encoding 4K is
    what costs, some 70 ms a frame on 2 idle cores (several times that on busy ones): the default
    15 frames take about a second."""
    with av.open(str(path), "w") as out:
        if label:
            out.metadata["comment"] = label
        picture = out.add_stream(
            "libx265", rate=fps, options={"preset": "ultrafast", "x265-params": "log-level=error"}
        )
        picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        for i in range(round(seconds * fps)):
            frame = _flat_frame(i, width, height)
            frame.pts = i
            out.mux(picture.encode(frame))
        out.mux(picture.encode())
        _mux_tone(out, sound, seconds)
    return path


LONG_AUDIO_RATE = 8000  # Hz: the lowest common AAC rate, the cheapest to encode and decode
BEEP_EVERY_S = 60  # the long clip beeps for a second at the start of every minute


def make_long_clip(
    path: Path,
    *,
    minutes: float = 60,
    width: int = 64,
    height: int = 36,
    fps: int = 1,
    label: str = "",
) -> Path:
    """A very long H.264/AAC MP4 made cheaply: a tiny picture at 1 fps, and mono 8 kHz audio
    that is silent but for a one-second 440 Hz beep at the start of every minute (silence costs
    the AAC encoder next to nothing). Video and audio are interleaved second by second, as a
    recorder writes them. An hour takes about 1.5 s to make."""
    seconds = round(minutes * 60)
    rate = LONG_AUDIO_RATE
    beep = (0.2 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.float32)
    silence = np.zeros(rate, np.float32)
    with av.open(str(path), "w") as out:
        if label:
            out.metadata["comment"] = label
        picture = out.add_stream("libx264", rate=fps)
        picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=rate, layout="mono")
        for second in range(seconds):
            for k in range(fps):
                frame = _flat_frame(second * fps + k, width, height)
                frame.pts = second * fps + k
                out.mux(picture.encode(frame))
            samples = beep if second % BEEP_EVERY_S == 0 else silence
            chunk = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = rate, second * rate
            out.mux(sound.encode(chunk))
        out.mux(picture.encode())
        out.mux(sound.encode())
    return path


def truncated(path: Path, out: Path, fraction: float) -> Path:
    """A copy of `path` cut off after its first `fraction` of bytes, as an interrupted copy or
    download leaves it."""
    data = path.read_bytes()
    out.write_bytes(data[: round(len(data) * fraction)])
    return out


def faststart(path: Path, out: Path) -> Path:
    """`path` remuxed (not re-encoded) with its index (the `moov` box) first, as files made for
    the web are: a truncated copy of it still opens, and finds its packets missing."""
    with av.open(str(path)) as source, av.open(str(out), "w", options={"movflags": "faststart"}) as dest:
        if source.metadata.get("comment"):
            dest.metadata["comment"] = source.metadata["comment"]
        streams = {s.index: dest.add_stream_from_template(s) for s in source.streams}
        for packet in source.demux():
            if packet.dts is None:  # the demuxer's flush packet
                continue
            packet.stream = streams[packet.stream.index]
            dest.mux(packet)
    return out


def corrupted(path: Path, out: Path, *, fraction: float = 0.25, seed: int = 0) -> Path:
    """A copy of the MP4 `path` with `fraction` of its media data (the middle of the `mdat`
    box) overwritten by random bytes: the boxes and the index are intact, so it opens, and
    decoding runs into garbage partway through."""
    data = bytearray(path.read_bytes())
    start, end = _mdat_payload(data)
    stretch = round((end - start) * fraction)
    at = start + (end - start - stretch) // 2
    data[at : at + stretch] = np.random.default_rng(seed).integers(0, 256, stretch, np.uint8).tobytes()
    out.write_bytes(bytes(data))
    return out


def _mdat_payload(data: bytes | bytearray) -> tuple[int, int]:
    """Where the bytes of the first top-level `mdat` box's payload begin and end."""
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        kind = bytes(data[offset + 4 : offset + 8])
        header = 8
        if size == 1:  # a 64-bit size follows the type
            size, header = int.from_bytes(data[offset + 8 : offset + 16], "big"), 16
        elif size == 0:  # the box runs to the end of the file
            size = len(data) - offset
        if kind == b"mdat":
            return offset + header, min(offset + size, len(data))
        if size < header:
            break
        offset += size
    raise ValueError("no mdat box: not an MP4 made by these helpers")


def _flat_frame(i: int, width: int, height: int) -> av.VideoFrame:
    """Frame `i`: one colour, a little brighter than the frame before (cheap at any size)."""
    frame = av.VideoFrame(width, height, "yuv420p")
    for p, plane in enumerate(frame.planes):
        plane.update(bytes([(i * 3 + p * 60) % 256]) * plane.buffer_size)
    return frame


def _mux_tone(out: av.container.OutputContainer, sound: av.audio.stream.AudioStream, seconds: float) -> None:
    """`seconds` of a 440 Hz tone, encoded a second at a time, into `sound`."""
    rate = sound.codec_context.sample_rate
    samples = round(seconds * rate)
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / rate)).astype(np.float32)
    for start in range(0, samples, rate):
        chunk = av.AudioFrame.from_ndarray(
            tone[start : start + rate].reshape(1, -1), format="fltp", layout="mono"
        )
        chunk.sample_rate, chunk.pts = rate, start
        out.mux(sound.encode(chunk))
    out.mux(sound.encode())
