"""highlight_detector: the moments worth watching in a clip, found in its media file.

A game clip's big moments are loud (shots, explosions, shouting), so the audio is always read:
its loudness in 50 ms windows against the clip's own typical level (the median window), a
stretch rising `min_loudness_db_above_baseline` over it being a "loud" moment, timed at its
onset. With `analyze_picture` the video is decoded too, at 64x36 gray: a frame far from the one
before, compared with the clip's usual frame-to-frame change around it, is a "scene_cut"; half a
second of change well above the usual, "motion". Decoding the picture costs far more than the
audio (a long clip may need a larger `timeout_s`), hence off by default.

Levels are relative to the clip itself, so a quiet recording and a loud one are judged alike;
confidence grows with how far a moment stands out (0.5 at the default threshold). A clip without
a file is skipped; a file without audio simply has no loud moments. Same file, same result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.stream import Disposition
from av.video.reformatter import VideoReformatter
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from clipforge.sdk import ClipData, PluginBase, PluginMetadata, SkipClip

RATE = 16_000  # Hz: the audio is resampled to mono at this rate, plenty for loudness
WINDOW = 800  # samples of one loudness window: 50 ms
FLOOR_DB = -100.0  # the level of digital silence
QUIET_DBFS = -45.0  # a window quieter than this is never loud, however quiet the rest of the clip
LOUD_HALF_DB = 10.0  # a loud moment this far above the baseline has confidence 0.5
THUMB = (64, 36)  # the picture is compared at this size, in gray
CUT_MIN_JUMP = 20.0  # gray levels (of 255) a cut's mean difference exceeds the usual one by...
CUT_RATIO = 3.0  # ...and how many times the usual one it is at least
MOTION_S = 0.5  # motion is the mean frame-to-frame difference over this long...
MOTION_MIN = 8.0  # ...exceeding the clip's typical one by this many gray levels...
MOTION_RATIO = 4.0  # ...and this many times over

Floats = NDArray[np.float64]


class HighlightConfig(BaseModel):
    model_config = ConfigDict(title="Highlight detection")

    max_highlights: int = Field(
        3,
        ge=1,
        le=20,
        title="Highlights per clip, at most",
        description="the most confident moments are kept",
    )
    min_confidence: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        title="Minimum confidence",
        description="moments below this score (0 to 1) are dropped",
    )
    min_loudness_db_above_baseline: float = Field(
        10.0,
        ge=1.0,
        le=60.0,
        title="Loudness above typical (dB)",
        description="how far over the clip's typical loudness (its median 50 ms window) a loud moment is",
    )
    analyze_picture: bool = Field(
        False,
        title="Also analyse the picture",
        description="decode the video for scene cuts and motion (much slower than the audio)",
    )
    min_gap_s: float = Field(
        1.0,
        ge=0.0,
        le=60.0,
        title="Minimum gap (s)",
        description="moments of one kind closer than this are one moment",
    )


@dataclass(frozen=True)
class Moment:
    at: float  # seconds from the start of the clip
    confidence: float
    kind: str


class HighlightDetector(PluginBase):
    config_model = HighlightConfig

    @property
    def metadata(self) -> PluginMetadata:
        return PluginMetadata(
            name="highlight_detector",
            display_name="Highlight Detector",
            description="Finds the moments worth watching in a clip's media: loud bursts, scene cuts, motion",
            version="0.2.0",
            author="clipforge",
            plugin_type="python",
            enabled_by_default=True,
            timeout_s=120,  # a long recording takes longer
        )

    def on_clip_captured(self, clip_data: ClipData) -> dict[str, Any]:
        config: HighlightConfig = self.config
        media_path = clip_data.get("media_path")
        if not media_path or not Path(media_path).is_file():
            raise SkipClip("no media file")
        return detect(Path(media_path), config)


def detect(path: Path, config: HighlightConfig) -> dict[str, Any]:
    """The plugin's result for the media file at `path`; a `ValueError` saying why when it cannot
    be read (never naming the path)."""
    audio_db, audio_start, frame_times, diffs, damaged = _read(path, config.analyze_picture)
    moments: list[Moment] = []
    analyzed: list[str] = []
    baseline: float | None = None
    if audio_db is not None:
        analyzed.append("audio")
        if audio_db.size:
            baseline = float(np.median(audio_db))
            times = np.asarray(audio_start + np.arange(audio_db.size) * (WINDOW / RATE), np.float64)
            moments += loud_moments(times, audio_db, baseline, config)
    if frame_times is not None and diffs is not None:
        analyzed.append("picture")
        moments += picture_moments(frame_times, diffs, config.min_gap_s)
    kept = pick(moments, config.max_highlights, config.min_confidence)
    return {
        "highlights": [{"timestamp": m.at, "confidence": m.confidence, "kind": m.kind} for m in kept],
        "highlight_count": len(kept),
        "baseline_db": round(baseline, 1) if baseline is not None else None,
        "analyzed": analyzed,
        "damaged_packets": damaged,
    }


def pick(moments: list[Moment], most: int, min_confidence: float) -> list[Moment]:
    """The `most` most confident moments of at least `min_confidence` (rounded as reported), in
    time order."""
    rounded = [Moment(round(m.at, 2), round(m.confidence, 3), m.kind) for m in moments]
    good = [m for m in rounded if m.confidence >= min_confidence]
    best = sorted(good, key=lambda m: (-m.confidence, m.at, m.kind))[:most]
    return sorted(best, key=lambda m: (m.at, m.kind))


def confidence(excess: Floats, half: float) -> Floats:
    """0 at no excess, 0.5 at `half`, towards 1 beyond."""
    result: Floats = 1.0 - np.exp2(-np.maximum(excess, 0.0) / half)
    return result


def loud_moments(times: Floats, db: Floats, baseline: float, config: HighlightConfig) -> list[Moment]:
    """Stretches of windows (starting at `times`, levels `db`) clearly above `baseline`."""
    loud = (db >= baseline + config.min_loudness_db_above_baseline) & (db >= QUIET_DBFS)
    return [
        Moment(at, c, "loud")
        for at, c in groups(times, loud, db - baseline, WINDOW / RATE, config.min_gap_s, LOUD_HALF_DB)
    ]


def picture_moments(times: Floats, diffs: Floats, min_gap_s: float) -> list[Moment]:
    """Scene cuts and motion from each frame's mean absolute difference (gray levels) to the one
    before, `times` being the later frame's."""
    if diffs.size < 2:
        return []
    step = float(np.median(np.diff(times))) if times.size > 1 else 0.0
    step = step if step > 0 else 1 / 30
    typical = float(np.median(diffs))
    span = max(1, round(MOTION_S / step))
    # The usual difference around each frame: a cut stands out from its neighbours, while fast
    # motion (many large differences in a row) is motion, not a string of cuts.
    padded = np.pad(diffs, span, mode="edge")
    around = np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * span + 1), axis=1)
    usual = np.maximum(around, typical)
    cut = (diffs - usual >= CUT_MIN_JUMP) & (diffs >= CUT_RATIO * usual)
    found = [
        Moment(at, c, "scene_cut")
        for at, c in groups(times, cut, diffs - usual, step, min_gap_s, CUT_MIN_JUMP)
    ]
    calm = np.where(cut, usual, diffs)  # a cut is not motion
    motion = np.convolve(calm, np.ones(span) / span, mode="same")
    moving = (motion - typical >= MOTION_MIN) & (motion >= MOTION_RATIO * typical)
    found += [
        Moment(at, c, "motion")
        for at, c in groups(times, moving, motion - typical, step, min_gap_s, MOTION_MIN)
    ]
    return found


def groups(
    times: Floats, flagged: NDArray[np.bool_], excess: Floats, unit: float, min_gap_s: float, half: float
) -> list[tuple[float, float]]:
    """(onset, confidence of the strongest) of each run of flagged units, runs less than
    `min_gap_s` apart joined."""
    idx = np.flatnonzero(flagged)
    if not idx.size:
        return []
    at = times[idx]
    breaks = np.flatnonzero(np.diff(at) > max(min_gap_s, 1.5 * unit)) + 1
    starts = np.concatenate(([0], breaks))
    strongest = np.maximum.reduceat(excess[idx], starts)
    return [(float(t), float(c)) for t, c in zip(at[starts], confidence(strongest, half), strict=True)]


class Loudness:
    """Mean square of each 50 ms window of mono audio, fed chunk by chunk: memory stays flat
    however long the clip (one float per window)."""

    def __init__(self) -> None:
        self.pending: NDArray[np.float32] = np.zeros(0, np.float32)
        self.power: list[Floats] = []

    def feed(self, samples: NDArray[np.float32]) -> None:
        buffer = np.concatenate((self.pending, samples)) if self.pending.size else samples
        whole = buffer.size // WINDOW * WINDOW
        if whole:
            windows = buffer[:whole].reshape(-1, WINDOW).astype(np.float64)
            self.power.append(np.mean(windows * windows, axis=1))
        self.pending = buffer[whole:].copy()

    def db(self) -> Floats:
        """The windows' levels in dBFS (a last window at least half full counts)."""
        if self.pending.size >= WINDOW // 2:
            tail = self.pending.astype(np.float64)
            self.power.append(np.array([np.mean(tail * tail)]))
            self.pending = np.zeros(0, np.float32)
        power = np.concatenate(self.power) if self.power else np.zeros(0)
        floor = 10.0 ** (FLOOR_DB / 10)
        levels: Floats = 10.0 * np.log10(np.maximum(power, floor))
        return levels


class FrameDiffs:
    """Each frame's mean absolute difference to the one before, from 64x36 gray copies."""

    def __init__(self) -> None:
        self.scaler = VideoReformatter()  # one for every frame: `frame.reformat` sets up a new one each
        self.previous: NDArray[np.int16] | None = None
        self.times: list[float] = []
        self.diffs: list[float] = []

    def feed(self, frame: av.VideoFrame, at: float) -> None:
        width, height = THUMB
        small = self.scaler.reformat(frame, width=width, height=height, format="gray", interpolation="AREA")
        gray = np.asarray(small.to_ndarray()).astype(np.int16)
        if self.previous is not None:
            self.diffs.append(float(np.mean(np.abs(gray - self.previous))))
            self.times.append(at)
        self.previous = gray


def _read(path: Path, picture: bool) -> tuple[Floats | None, float, Floats | None, Floats | None, int]:
    """One pass over the file, demuxing only the streams analysed: the audio's window levels
    (None without an audio stream) and when its first window starts, with `picture` the frame
    times and differences (None without a video stream), and how many packets were damaged
    (skipped, or where a file cut short ends)."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__  # not the message: it names our path
        raise ValueError(f"no decoder can open the clip's file ({reason})") from None
    with container:
        if not container.streams.audio and not container.streams.video:
            raise ValueError("the clip's file has no audio or video stream")
        origin = container.start_time / av.time_base if container.start_time else 0.0
        audio = container.streams.audio[0] if container.streams.audio else None
        moving = [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]
        video = moving[0] if picture and moving else None  # an attached picture is cover art
        if video is not None:
            video.thread_type = "AUTO"
        loudness = Loudness() if audio is not None else None
        # Mono at 16 kHz, in 1 s chunks: numpy works on whole windows, not one small frame at a time.
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE, frame_size=RATE)
        frames = FrameDiffs() if video is not None else None
        audio_start: float | None = None
        wanted = [s for s in (audio, video) if s is not None]
        damaged = 0
        packets = iter(container.demux(wanted) if wanted else ())
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError:  # the file ends early (cut short): what came before still counts
                damaged += 1
                break
            try:
                decoded = packet.decode()
            except av.FFmpegError:  # a corrupt packet: skipped, as ffmpeg's command line does
                damaged += 1
                continue
            for frame in decoded:
                if isinstance(frame, av.AudioFrame) and loudness is not None:
                    if audio_start is None:
                        audio_start = max(0.0, (frame.time or 0.0) - origin)
                    for chunk in resampler.resample(frame):
                        loudness.feed(np.asarray(chunk.to_ndarray(), np.float32).reshape(-1))
                elif isinstance(frame, av.VideoFrame) and frames is not None:
                    frames.feed(frame, max(0.0, float(frame.time or 0.0) - origin))
        if loudness is not None and audio_start is not None:
            for chunk in resampler.resample(None):
                loudness.feed(np.asarray(chunk.to_ndarray(), np.float32).reshape(-1))
        if damaged and audio_start is None and not (frames and frames.times):
            raise ValueError(f"the clip's file cannot be decoded ({damaged} damaged packets, none readable)")
    return (
        loudness.db() if loudness is not None else None,
        audio_start or 0.0,
        np.array(frames.times) if frames is not None else None,
        np.array(frames.diffs) if frames is not None else None,
        damaged,
    )
