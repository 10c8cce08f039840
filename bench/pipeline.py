"""End to end: capture → `clip.enriched` latency under open-loop load, the highest rate that holds
without the lag growing, and throughput with one and with two runners."""

from __future__ import annotations

import statistics
from typing import Any

from bench.harness import Harness
from bench.http_load import closed_loop_count, open_loop
from bench.ingest import CLIP
from bench.kafka_tools import Watch, skip_backlog, watching
from clipforge.events import Topics

RATE = 200
SECONDS = 15.0
STEPS = [100, 200, 300, 400, 500, 600, 800, 1000]
STEP_S = 8.0
SCALE_CLIPS = 1500
SHIPPED_PLUGINS = ("highlight_detector", "tag_suggester", "clip_quality")  # the ones enabled by default


def _body(_: int) -> bytes:
    return CLIP


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


async def _load(h: Harness, watch: Watch, rate: float, seconds: float) -> tuple[dict[str, float], int]:
    """Send at `rate` for `seconds`; return each clip's send time, and how many clips never got
    through."""
    sent = await open_loop("127.0.0.1", h.api_port, "/api/v1/clips", _body, rate=rate, seconds=seconds)
    ids = {str(body["id"]): at for at, body in sent}
    missing = await watch.until(ids, timeout=30)
    return ids, missing + int(rate * seconds) - len(sent)


def _latencies(sent: dict[str, float], watch: Watch) -> list[tuple[float, float]]:
    return [(at, watch.seen[i] - at) for i, at in sent.items() if i in watch.seen]


def _hop_ms(ids: dict[str, float], start: Watch | None, end: Watch) -> float:
    """Median time between two points of a clip's way (None: the moment it was sent)."""
    hops = [end.seen[i] - (start.seen[i] if start else at) for i, at in ids.items() if i in end.seen]
    return statistics.median(hops) * 1000 if hops else float("nan")


async def _start_fresh(h: Harness) -> None:
    """Runners and metadata start on the events sent from now on, not on earlier stages'."""
    await skip_backlog(h.kafka, "plugin-runner", Topics.CLIP_CAPTURED)
    await skip_backlog(h.kafka, "metadata", Topics.CLIP_PROCESSED)


def _holds(samples: list[tuple[float, float]], missing: int) -> bool:
    """The lag does not grow: the last quarter's clips wait no longer than the first quarter's,
    and every clip got through. The slack (x1.5 + 250 ms) absorbs batching and a noisy
    machine; a rate above capacity grows the lag by seconds over a step."""
    if missing or len(samples) < 8:
        return False
    samples.sort()
    quarter = len(samples) // 4
    first = statistics.median(lat for _, lat in samples[:quarter])
    last = statistics.median(lat for _, lat in samples[-quarter:])
    return last <= first * 1.5 + 0.25


async def latency_and_capacity(h: Harness) -> dict[str, float]:
    await h.only_enabled(*SHIPPED_PLUGINS)
    await _start_fresh(h)
    async with (
        h.running(h.service("api"), h.service("plugin-runner"), h.service("metadata")),
        watching(h.kafka, Topics.CLIP_CAPTURED) as captured,
        watching(h.kafka, Topics.CLIP_PROCESSED) as processed,
        watching(h.kafka, Topics.CLIP_ENRICHED) as enriched,
    ):
        await _load(h, enriched, 50, 3)  # warm-up: connections, plugin code, caches
        sent, missing = await _load(h, enriched, RATE, SECONDS)
        latencies = [lat for _, lat in _latencies(sent, enriched)]
        result: dict[str, Any] = {
            "e2e_rate_clips_per_s": RATE,
            "e2e_p50_ms": _percentile(latencies, 0.5) * 1000,
            "e2e_p99_ms": _percentile(latencies, 0.99) * 1000,
            "e2e_lost": missing,
            # where the time goes (medians): API + outbox relay, plugin-runner, metadata
            "e2e_hop_sent_to_captured_ms": _hop_ms(sent, None, captured),
            "e2e_hop_captured_to_processed_ms": _hop_ms(sent, captured, processed),
            "e2e_hop_processed_to_enriched_ms": _hop_ms(sent, processed, enriched),
        }
        best = 0
        for rate in STEPS:
            sent, missing = await _load(h, enriched, rate, STEP_S)
            if not _holds(_latencies(sent, enriched), missing):
                break
            best = rate
        result["e2e_max_clips_per_s"] = best
    return result


async def _drain_with_runners(h: Harness, runners: int) -> float:
    """Store clips while no runner runs, then start `runners` and measure how fast they clear it."""
    async with h.running(h.service("api"), h.service("metadata")):
        result = await closed_loop_count(
            "127.0.0.1", h.api_port, "/api/v1/clips", CLIP, concurrency=16, count=SCALE_CLIPS
        )
        await h.outbox_drained()
        async with (
            watching(h.kafka, Topics.CLIP_ENRICHED) as watch,
            h.running(h.service("plugin-runner", replicas=runners)),
        ):
            missing = await watch.until(result.ids, timeout=120)
            if missing:
                raise RuntimeError(f"{missing} clips never enriched with {runners} runner(s)")
            return watch.rate(result.ids)


async def scale(h: Harness) -> dict[str, float]:
    await h.only_enabled(*SHIPPED_PLUGINS)
    await _start_fresh(h)
    one = await _drain_with_runners(h, 1)
    two = await _drain_with_runners(h, 2)
    return {"e2e_clips_per_s_1_runner": one, "e2e_clips_per_s_2_runners": two, "scale_2_vs_1": two / one}
