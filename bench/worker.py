"""Worker: plugin-runner with only a no-op plugin enabled, against a raw aiokafka consume → produce
loop on the same broker, each clearing the same backlog of `clip.captured` events."""

from __future__ import annotations

import sys
import uuid

from bench.harness import Harness
from bench.kafka_tools import create_topic, produce, skip_backlog, watching
from clipforge.events import ClipCaptured, ClipRecord, Topics
from clipforge.messaging import encode
from clipforge_devstack.supervisor import Service

EVENTS = 20000
RAW_GROUP = "bench-raw-worker"
RAW_OUT = "bench.raw-worker.out"


def _backlog(ids: list[uuid.UUID]) -> list[tuple[str, bytes]]:
    events = []
    for i, clip_id in enumerate(ids):
        clip = ClipRecord(id=clip_id, title=f"bench clip {i}", file_path=f"/clips/{i}.mp4", duration=45.0)
        events.append((str(clip_id), encode(ClipCaptured(clip_id=clip_id, clip=clip))))
    return events


async def run(h: Harness) -> dict[str, float]:
    await h.only_enabled("bench_noop")
    await create_topic(h.kafka, RAW_OUT, 12)
    await skip_backlog(h.kafka, "plugin-runner", Topics.CLIP_CAPTURED)
    await skip_backlog(h.kafka, RAW_GROUP, Topics.CLIP_CAPTURED)
    backlog = _backlog(await h.new_clips(EVENTS))
    ids = [key for key, _ in backlog]
    await produce(h.kafka, Topics.CLIP_CAPTURED, backlog)

    async with watching(h.kafka, Topics.CLIP_PROCESSED) as watch, h.running(h.service("plugin-runner")):
        if missing := await watch.until(ids, timeout=180):
            raise RuntimeError(f"plugin-runner left {missing} events unprocessed")
        ours = watch.rate(ids)

    raw = Service(
        "raw-kafka",
        [
            sys.executable,
            "-m",
            "bench.raw_kafka",
            RAW_GROUP,
            Topics.CLIP_CAPTURED,
            RAW_OUT,
            str(EVENTS),
        ],
        h.admin_env(),  # logged in as the super user: RAW_OUT is no clipforge topic
    )
    async with watching(h.kafka, RAW_OUT) as watch, h.running(raw):
        if missing := await watch.until(ids, timeout=180):
            raise RuntimeError(f"the raw loop left {missing} events unprocessed")
        theirs = watch.rate(ids)
    return {
        "worker_events_per_s": ours,
        "worker_raw_events_per_s": theirs,
        "worker_ratio_vs_raw_kafka": ours / theirs,
    }
