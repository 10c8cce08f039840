"""Ingest: `POST /api/v1/clips` against a bare FastAPI + asyncpg app doing one INSERT per request,
at the same fixed concurrency, in alternating rounds so drift on a shared machine hits both."""

from __future__ import annotations

import json
import sys

from bench.harness import Harness, wait_ready
from bench.http_load import LoadResult, closed_loop
from clipforge_devstack.paths import free_port
from clipforge_devstack.supervisor import Service

# The fields both apps store: a typical clip as a capture client would send it.
CLIP = json.dumps(
    {
        "title": "Bench clutch",
        "file_path": "/clips/bench/clutch.mp4",
        "game_name": "Valorant",
        "duration": 32.5,
    }
    | {"resolution": "2560x1440", "fps": 144}
).encode()

CONCURRENCY = 16
ROUNDS = 3
ROUND_S = 5.0


def _merge(results: list[LoadResult]) -> LoadResult:
    total = LoadResult()
    for r in results:
        total.latencies += r.latencies
        total.errors += r.errors
        total.elapsed += r.elapsed
    return total


async def run(h: Harness) -> dict[str, float]:
    bare_port = free_port()
    bare = Service(
        "bare", [sys.executable, "-m", "bench.bare_app"], {"BARE_DSN": h.dsn, "BARE_PORT": str(bare_port)}
    )
    ours: list[LoadResult] = []
    theirs: list[LoadResult] = []
    async with h.running(h.service("api")), h.running(bare):
        await wait_ready(f"http://127.0.0.1:{bare_port}/openapi.json")
        for _ in range(ROUNDS):
            ours.append(
                await closed_loop(
                    "127.0.0.1", h.api_port, "/api/v1/clips", CLIP, concurrency=CONCURRENCY, seconds=ROUND_S
                )
            )
            theirs.append(
                await closed_loop(
                    "127.0.0.1", bare_port, "/clips", CLIP, concurrency=CONCURRENCY, seconds=ROUND_S
                )
            )
        await h.outbox_drained()
    a, b = _merge(ours), _merge(theirs)
    if a.errors or b.errors:
        raise RuntimeError(f"ingest errors: clipforge {a.errors}, bare {b.errors}")
    return {
        "ingest_rps": a.rps,
        "ingest_p50_ms": a.percentile(0.5) * 1000,
        "ingest_p99_ms": a.percentile(0.99) * 1000,
        "ingest_bare_rps": b.rps,
        "ingest_bare_p99_ms": b.percentile(0.99) * 1000,
        "ingest_ratio_vs_bare": a.rps / b.rps,
    }
