"""Media: what clipforge does to a clip's file (probe, poster and storyboard, loud moments)
against the ffmpeg command line doing the same work on the same file, and how many uploaded clips
a minute the whole pipeline takes from upload to a final status.

Both sides read the same generated clip (60 s of 1080p60 H.264 and AAC, a keyframe every 2 s,
loud bursts), best of `ROUNDS`, in alternating rounds so drift on a shared machine hits both.
`python -m bench.media` runs the first part alone (no servers).
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncpg
import av
import httpx
import numpy as np
from highlight_detector import HighlightDetector
from numpy.typing import NDArray
from thumbnails import Thumbnails

from bench.harness import Harness
from bench.http_load import BENCH_KEY
from bench.kafka_tools import skip_backlog
from bench.polling import until
from bench.report import table
from clipforge.events import ClipStatus, PluginRunStatus, Topics
from clipforge.media.probe import probe
from clipforge.sdk import PluginBase, PluginContext
from clipforge_devstack.supervisor import Service

ROUNDS = 3
CLIP_S, WIDTH, HEIGHT, FPS = 60.0, 1920, 1080, 60
BURSTS = (7.0, 19.5, 33.0, 48.5)  # seconds where a loud burst starts
GOP = 120  # frames between keyframes: 2 s at 60 fps
AUDIO_RATE = 48000
AUDIO_FRAME = 1024
BURST_S, BURST_AMPLITUDE, TONE = 0.4, 0.9, 0.05

# The CLI's share of the thumbnails plugin's work, with the plugin's defaults.
POSTER_WIDTH = 640
POSTER_AT = 0.10  # the plugin's first choice; the generated clip's picture there is neither dark nor flat
TILES, TILE_WIDTH, COLUMNS = 20, 160, 5
LOUD_WINDOW_S = 0.05  # highlight_detector's loudness window
LOUD_RATE = 16000  # ...and its resampling rate

PIPELINE_CLIPS = 20
PIPELINE_S, PIPELINE_WIDTH, PIPELINE_HEIGHT = 10.0, 1280, 720  # at 60 fps
PIPELINE_BURSTS = (2.0, 6.5)
PIPELINE_TIMEOUT_S = 600.0
FINAL = (ClipStatus.COMPLETED, ClipStatus.COMPLETED_WITH_ERRORS, ClipStatus.FAILED)
MEDIA_PLUGINS = ("media_probe", "thumbnails", "highlight_detector", "tag_suggester", "clip_quality")
SERVICES = ("api", "plugin-runner", "metadata")

PARTS = ("probe", "thumbnails", "highlights")


# --- the clips ------------------------------------------------------------------------------


def make_clip(
    path: Path,
    *,
    seconds: float = CLIP_S,
    width: int = WIDTH,
    height: int = HEIGHT,
    fps: int = FPS,
    variant: int = 0,
    bursts: tuple[float, ...] = BURSTS,
) -> Path:
    """An H.264 (libx264 ultrafast, a keyframe every `GOP` frames) and stereo AAC MP4: a finely
    textured picture scrolling sideways with a band of noise changing every frame (a HUD, particles),
    colours changing every 10 s (some 10 Mbit/s at 1080p60, keyframes of ~650 KB; every picture
    neither dark nor flat), and a quiet tone with 0.4 s bursts of loud noise at `bursts`. Each
    `variant` is different content (uploads are deduplicated by SHA-256). Video and audio are
    muxed interleaved, as a recorder writes them."""
    rng = np.random.default_rng(variant)
    speed = 4  # pixels a frame the picture scrolls
    frames = round(seconds * fps)
    wide = width + speed * frames
    blocks = rng.integers(0, 48, (height // 2 + 1, wide // 2 + 1), dtype=np.uint8)
    texture = np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1)[:height, :wide]
    ramp = (
        np.linspace(40, 150, wide, dtype=np.float32)[None, :] % 110
        + np.linspace(0, 40, height, dtype=np.float32)[:, None]
    )
    scene = texture + ramp.astype(np.uint8)
    band = height // 45  # rows of noise at the bottom left
    quarter = (width // 2) * (height // 2)
    sound = _sound(seconds, bursts, variant)
    with av.open(str(path), "w") as out:
        picture = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "g": str(GOP)})
        picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
        audio = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        sent = 0  # audio samples encoded so far
        for i in range(frames):
            shot = int(i / fps // 10) + variant
            luma = scene[:, i * speed : i * speed + width].copy()
            luma[height - band :, : width // 3] = rng.integers(0, 256, (band, width // 3), dtype=np.uint8)
            chroma = np.concatenate(
                (
                    np.full(quarter, 96 + shot * 37 % 64, np.uint8),
                    np.full(quarter, 160 - shot * 53 % 64, np.uint8),
                )
            )
            frame = av.VideoFrame.from_ndarray(
                np.concatenate((luma.ravel(), chroma)).reshape(-1, width), format="yuv420p"
            )
            frame.pts = i
            out.mux(picture.encode(frame))
            until_sample = min(sound.shape[1], round((i + 1) / fps * AUDIO_RATE))
            while sent + AUDIO_FRAME <= until_sample or (i == frames - 1 and sent < sound.shape[1]):
                chunk = np.ascontiguousarray(sound[:, sent : sent + AUDIO_FRAME])
                if chunk.shape[1] < AUDIO_FRAME:
                    chunk = np.pad(chunk, ((0, 0), (0, AUDIO_FRAME - chunk.shape[1])))
                samples = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                samples.sample_rate, samples.pts = AUDIO_RATE, sent
                out.mux(audio.encode(samples))
                sent += AUDIO_FRAME
        out.mux(picture.encode())
        out.mux(audio.encode())
    return path


def _sound(seconds: float, bursts: tuple[float, ...], seed: int) -> NDArray[np.float32]:
    """Stereo float32: a quiet 440 Hz tone, seeded white-noise bursts at `bursts`."""
    n = round(seconds * AUDIO_RATE)
    tone = TONE * np.sin(2 * np.pi * 440 * np.arange(n, dtype=np.float64) / AUDIO_RATE)
    sound = np.vstack((tone, tone))
    noise = np.random.default_rng(seed + 1000)
    for at in bursts:
        start, stop = round(at * AUDIO_RATE), min(n, round((at + BURST_S) * AUDIO_RATE))
        if start < stop:
            sound[:, start:stop] += noise.uniform(-BURST_AMPLITUDE, BURST_AMPLITUDE, (2, stop - start))
    return sound.astype(np.float32)


# --- part 1: clipforge against the ffmpeg command line ---------------------------------------


def ffmpeg_tools() -> tuple[str, str]:
    """The ffmpeg and ffprobe executables, or a RuntimeError saying how to get them."""
    ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    if not ffmpeg or not ffprobe:
        raise RuntimeError(
            "the media stage compares clipforge with the ffmpeg command line, which is not installed:"
            " run 'scripts/bootstrap-system.sh --bench' (as root; make bench does) or install ffmpeg"
        )
    return ffmpeg, ffprobe


def _plugin(cls: type[PluginBase]) -> Any:
    """The plugin with its default configuration, as the runner loads it."""
    plugin = cls()
    plugin.context = PluginContext(logging.getLogger(f"bench.{cls.__name__}"), cls.parse_config({}))
    return plugin


def _clip_data(path: Path, artifacts: Path) -> dict[str, Any]:
    return {
        "id": "bench",
        "media_path": str(path),
        "artifacts_dir": str(artifacts),
        "metadata": {},
        "duration": CLIP_S,
    }


def clipforge_parts(path: Path, scratch: Path) -> dict[str, float]:
    """Seconds each part takes in process: `probe`, the `thumbnails` plugin (poster, storyboard
    sprite, JSON and WebVTT), the `highlight_detector` plugin (loud moments, its default)."""
    artifacts = _fresh(scratch / "clipforge")
    thumbnails, highlights = _plugin(Thumbnails), _plugin(HighlightDetector)
    times: dict[str, float] = {}
    info = _timed(times, "probe", lambda: probe(path))
    made = _timed(times, "thumbnails", lambda: thumbnails.on_clip_captured(_clip_data(path, artifacts)))
    found = _timed(times, "highlights", lambda: highlights.on_clip_captured(_clip_data(path, artifacts)))
    if not info["video"]["keyframe_interval_s"] or made["storyboard"]["count"] != TILES:
        raise RuntimeError(f"clipforge read the clip wrong: {info}, {made}")
    if found["highlight_count"] != min(3, len(BURSTS)):  # the plugin keeps its 3 most confident
        raise RuntimeError(f"highlight_detector found {found}, not the clip's bursts")
    return times


def cli_parts(path: Path, scratch: Path) -> dict[str, float]:
    """Seconds the ffmpeg command line takes for the same parts, each the fastest reasonable way
    of shelling out: a process for each, two for the thumbnails (poster, storyboard)."""
    ffmpeg, ffprobe = ffmpeg_tools()
    out = _fresh(scratch / "cli")
    f = str(path)
    ffprobe_cmd = [ffprobe, "-v", "error"]
    ffmpeg_cmd = [ffmpeg, "-v", "error", "-nostdin"]
    times: dict[str, float] = {}

    def probe_cli() -> dict[str, Any]:
        # Headers, and the keyframe interval from the packets of the first 10 s (~600 video
        # packets at 60 fps; demuxed, not decoded), as clipforge's probe does, in one ffprobe run
        # (two, one for each, take twice as long: the time is mostly the process starting).
        packets = "-read_intervals %+10 -show_entries packet=stream_index,pts_time,flags"
        argv = [*ffprobe_cmd, "-show_format", "-show_streams", *packets.split(), "-of", "json", f]
        info: dict[str, Any] = json.loads(_run(argv))
        video = next(s["index"] for s in info["streams"] if s["codec_type"] == "video")
        keys = [
            float(p["pts_time"])
            for p in info.pop("packets")
            if p["stream_index"] == video and "K" in p["flags"] and "pts_time" in p
        ]
        info["keyframe_interval_s"] = (keys[-1] - keys[0]) / (len(keys) - 1) if len(keys) > 1 else None
        return info

    def thumbnails_cli() -> None:
        # The poster: one seek, one frame decoded: the keyframe at or before the time, as the
        # plugin takes it (-noaccurate_seek; else ffmpeg decodes on to the exact time), one
        # decoder thread (frame threads only delay a single frame: measured ~10 % slower).
        seek = f"-threads 1 -noaccurate_seek -ss {POSTER_AT * CLIP_S:.3f}"
        poster = f"-an -frames:v 1 -vf scale={POSTER_WIDTH}:-2 -q:v 3 -y"
        _run([*ffmpeg_cmd, *seek.split(), "-i", f, *poster.split(), str(out / "poster.jpg")])
        # The storyboard: one pass over the file in which the demuxer drops every packet but the
        # keyframes (-discard nokey), so only those are decoded; fps picks one per interval and
        # tile makes the sprite. The fastest way measured: half the time of `-skip_frame nokey`
        # (every packet read and handed to the decoder), ~1/5 of 20 one-frame `-ss` runs, ~1/10 of
        # one ffmpeg with 20 seeking inputs and xstack; decoding every frame (plain fps=20/60)
        # takes seconds.
        interval = CLIP_S / TILES
        pick = f"fps=1/{interval:g}:start_time={interval / 2:g}"
        sprite = (
            f"-an -frames:v 1 -vf {pick},scale={TILE_WIDTH}:-2,tile={COLUMNS}x{TILES // COLUMNS} -q:v 3 -y"
        )
        _run([*ffmpeg_cmd, "-discard", "nokey", "-i", f, *sprite.split(), str(out / "storyboard.jpg")])

    def highlights_cli() -> list[float]:
        # Loudness of each 50 ms window of the audio only (the video is discarded at the demuxer,
        # never decoded), resampled to mono 16 kHz as the plugin does; peaks picked from the levels.
        window = round(LOUD_WINDOW_S * LOUD_RATE)
        levels = (
            f"aresample={LOUD_RATE},pan=mono|c0=0.5*c0+0.5*c1,asetnsamples=n={window}:p=0,"
            "astats=metadata=1:reset=1:measure_perchannel=none:measure_overall=RMS_level,"
            "ametadata=print:key=lavfi.astats.Overall.RMS_level:file=-"
        )
        printed = _run([*ffmpeg_cmd, "-vn", "-sn", "-dn", "-i", f, "-af", levels, "-f", "null", "-"])
        db = np.array(
            [float(line.split("=", 1)[1]) for line in printed.splitlines() if "RMS_level=" in line] or [0.0]
        )
        db[~np.isfinite(db)] = -100.0
        loud = np.flatnonzero(db >= np.median(db) + 10)
        return [float(i * LOUD_WINDOW_S) for i in loud]

    _timed(times, "probe", probe_cli)
    _timed(times, "thumbnails", thumbnails_cli)
    peaks = _timed(times, "highlights", highlights_cli)
    if not all(any(abs(p - at) < 0.2 for p in peaks) for at in BURSTS):
        raise RuntimeError(f"the ffmpeg command line missed a burst: {peaks[:20]}")
    return times


def _timed(times: dict[str, float], part: str, work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = work()
    times[part] = time.perf_counter() - started
    return result


def _timed_run(argv: list[str]) -> float:
    started = time.perf_counter()
    _run(argv)
    return time.perf_counter() - started


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{Path(argv[0]).name} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def versus_cli(rounds: int = ROUNDS) -> dict[str, float]:
    """Part 1's figures: each part's best time on both sides (ms), the totals (the sums of the
    bests) and their ratio, and what starting one ffmpeg process costs."""
    ffmpeg, _ = ffmpeg_tools()
    with tempfile.TemporaryDirectory(prefix="clipforge-bench-media-") as tmp:
        scratch = Path(tmp)
        started = time.monotonic()
        clip = make_clip(scratch / "clip.mp4")
        print(
            f"  made a {CLIP_S:g} s {WIDTH}x{HEIGHT}@{FPS} clip ({clip.stat().st_size / 2**20:.0f} MiB)"
            f" in {time.monotonic() - started:.0f}s",
            file=sys.stderr,
            flush=True,
        )
        ours: list[dict[str, float]] = []
        theirs: list[dict[str, float]] = []
        for n in range(rounds):  # alternating who goes first
            sides = [(ours, clipforge_parts), (theirs, cli_parts)]
            for times, measure in sides if n % 2 == 0 else sides[::-1]:
                times.append(measure(clip, scratch))
    # An ffmpeg process doing nothing: the CLI side starts four, clipforge none.
    process_start = min(_timed_run([ffmpeg, "-v", "error", "-nostdin", "-version"]) for _ in range(5))
    best_ours = {part: min(t[part] for t in ours) for part in PARTS}
    best_theirs = {part: min(t[part] for t in theirs) for part in PARTS}
    clipforge_s, cli_s = sum(best_ours.values()), sum(best_theirs.values())
    result = {
        "media_ratio_vs_ffmpeg_cli": cli_s / clipforge_s,
        "media_clipforge_ms": clipforge_s * 1000,
        "media_ffmpeg_cli_ms": cli_s * 1000,
    }
    for part in PARTS:
        result[f"media_{part}_clipforge_ms"] = best_ours[part] * 1000
        result[f"media_{part}_ffmpeg_cli_ms"] = best_theirs[part] * 1000
    result["media_ffmpeg_process_start_ms"] = process_start * 1000
    return result


# --- part 2: clips per minute through the pipeline -------------------------------------------


@dataclass
class _Uploads:
    ids: list[uuid.UUID] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _service(h: Harness, name: str, media_dir: Path) -> Service:
    """The service as the harness starts it, storing media in `media_dir` (never `.data/`)."""
    service = h.service(name)
    return replace(service, env={**service.env, "CLIPFORGE_MEDIA_DIR": str(media_dir)})


async def _upload(client: httpx.AsyncClient, url: str, paths: list[Path], concurrency: int = 4) -> _Uploads:
    done = _Uploads()
    slots = asyncio.Semaphore(concurrency)

    async def one(path: Path) -> None:
        async with slots:
            body = await asyncio.to_thread(path.read_bytes)
            response = await client.post(url, files={"file": (path.name, body, "video/mp4")})
        if response.status_code == 201:
            done.ids.append(uuid.UUID(response.json()["id"]))
        else:
            done.errors.append(f"{response.status_code} {response.text[:200]}")

    await asyncio.gather(*(one(p) for p in paths))
    return done


def _upload_clips(folder: Path, n: int) -> list[Path]:
    return [
        make_clip(
            folder / f"upload-{i}.mp4",
            seconds=PIPELINE_S,
            width=PIPELINE_WIDTH,
            height=PIPELINE_HEIGHT,
            variant=i + 1,
            bursts=PIPELINE_BURSTS,
        )
        for i in range(n)
    ]


async def clips_per_minute(h: Harness, clips: int = PIPELINE_CLIPS) -> dict[str, float]:
    """Upload `clips` distinct generated clips with every shipped plugin enabled; the rate at which
    they reach a final status, from the first upload."""
    with tempfile.TemporaryDirectory(prefix="clipforge-bench-pipeline-") as tmp:
        folder = Path(tmp)
        media_dir = folder / "media"
        started = time.monotonic()
        paths = await asyncio.to_thread(_upload_clips, folder, clips + 1)  # one to warm up
        print(
            f"  made {len(paths)} upload clips in {time.monotonic() - started:.0f}s",
            file=sys.stderr,
            flush=True,
        )
        await h.only_enabled(*MEDIA_PLUGINS)
        await skip_backlog(h.kafka, "plugin-runner", Topics.CLIP_CAPTURED)
        await skip_backlog(h.kafka, "metadata", Topics.CLIP_PROCESSED)
        url = f"http://127.0.0.1:{h.api_port}/api/v1/clips/upload"
        services = [_service(h, name, media_dir) for name in SERVICES]
        conn = await asyncpg.connect(h.dsn)
        try:
            async with (
                h.running(*services),
                httpx.AsyncClient(timeout=120, headers={"Authorization": f"Bearer {BENCH_KEY}"}) as client,
            ):
                warm = await _upload(client, url, paths[:1])  # plugin code, decoders, connections
                await _all_final(conn, warm.ids)
                started = time.monotonic()
                sent = await _upload(client, url, paths[1:])
                if sent.errors:
                    raise RuntimeError(f"{len(sent.errors)} uploads refused: {sent.errors[:3]}")
                await _all_final(conn, sent.ids)
                elapsed = time.monotonic() - started
            completed = await conn.fetchval(
                "SELECT count(*) FROM clips WHERE id = ANY($1::uuid[]) AND status = $2",
                sent.ids,
                str(ClipStatus.COMPLETED),
            )
            runs = await conn.fetch(
                "SELECT plugin, status, count(*) AS n,"
                " percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS median_ms"
                " FROM plugin_runs WHERE clip_id = ANY($1::uuid[]) GROUP BY plugin, status",
                sent.ids,
            )
        finally:
            await conn.close()
    result = {
        "media_pipeline_clips_per_minute": clips / elapsed * 60,
        "media_pipeline_seconds": elapsed,
        "media_pipeline_not_completed": float(clips - completed),
        # every plugin should run to "ok" on every clip: a skip (no file?) or an error is counted
        "media_pipeline_plugin_runs_not_ok": float(
            clips * len(MEDIA_PLUGINS) - sum(r["n"] for r in runs if r["status"] == PluginRunStatus.OK)
        ),
    }
    for r in runs:  # each plugin's median run: wall time, while the runner works on clips side by side
        if r["status"] == PluginRunStatus.OK:
            result[f"media_pipeline_{r['plugin']}_ms"] = float(r["median_ms"])
        else:
            print(f"  {r['n']} {r['plugin']} runs {r['status']}", file=sys.stderr, flush=True)
    return result


async def _all_final(conn: Any, ids: list[uuid.UUID]) -> None:
    final = [str(s) for s in FINAL]

    async def finished() -> bool:
        n = await conn.fetchval(
            "SELECT count(*) FROM clips WHERE id = ANY($1::uuid[]) AND status = ANY($2::text[])", ids, final
        )
        return bool(n == len(ids))

    await until(finished, timeout=PIPELINE_TIMEOUT_S, what=f"{len(ids)} uploaded clips to finish", every=0.1)


async def run(h: Harness) -> dict[str, float]:
    results = await asyncio.to_thread(versus_cli)
    return results | await clips_per_minute(h)


if __name__ == "__main__":
    print(table(versus_cli()))
