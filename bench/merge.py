"""Merge: the metadata service clearing a backlog of `clip.processed` events (one plugin result
per clip, completing its run) against raw asyncpg `executemany` of the equivalent UPDATEs, in
transactions of the same batch size, on the same Postgres."""

from __future__ import annotations

import json
import time
import uuid

import asyncpg

from bench.harness import Harness
from bench.kafka_tools import produce, skip_backlog, watching
from clipforge.events import ClipProcessed, PluginResult, PluginRunStatus, Topics
from clipforge.messaging import encode
from clipforge.settings import Settings

CLIPS = 5000

RAW_UPDATE = """
UPDATE clips
SET metadata = jsonb_set(metadata, '{plugins}',
                         coalesce(metadata->'plugins', '{}') || jsonb_build_object($2::text, $3::jsonb)),
    status = 'completed', updated_at = now()
WHERE id = $1
"""


def _result() -> PluginResult:
    return PluginResult(
        plugin="bench_noop",
        version="1.0.0",
        status=PluginRunStatus.OK,
        result={"score": 0.5},
        duration_ms=0.1,
    )


async def _ours(h: Harness, ids: list[uuid.UUID]) -> float:
    await skip_backlog(h.kafka, "metadata", Topics.CLIP_PROCESSED)
    events = []
    for clip_id in ids:
        run = uuid.uuid4()
        event = ClipProcessed(
            clip_id=clip_id, source_event_id=run, runner="bench", due=["bench_noop"], results=[_result()]
        )
        events.append((str(clip_id), encode(event)))
    await produce(h.kafka, Topics.CLIP_PROCESSED, events)
    keys = [str(i) for i in ids]
    async with watching(h.kafka, Topics.CLIP_ENRICHED) as watch, h.running(h.service("metadata")):
        if missing := await watch.until(keys, timeout=180):
            raise RuntimeError(f"metadata left {missing} results unmerged")
        return watch.rate(keys)


async def _raw(h: Harness, ids: list[uuid.UUID]) -> float:
    batch = Settings().merge_batch_size
    result = _result()
    value = json.dumps(
        {
            **result.result,
            "_run": {"status": "ok", "version": result.version, "duration_ms": result.duration_ms},
        }
    )
    conn = await asyncpg.connect(h.dsn)
    try:
        started = time.perf_counter()
        for i in range(0, len(ids), batch):
            async with conn.transaction():
                await conn.executemany(
                    RAW_UPDATE, [(clip_id, result.plugin, value) for clip_id in ids[i : i + batch]]
                )
        elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    return len(ids) / elapsed


async def run(h: Harness) -> dict[str, float]:
    ours = await _ours(h, await h.new_clips(CLIPS))
    theirs = await _raw(h, await h.new_clips(CLIPS))
    return {"merge_per_s": ours, "merge_raw_per_s": theirs, "merge_ratio_vs_raw": ours / theirs}
