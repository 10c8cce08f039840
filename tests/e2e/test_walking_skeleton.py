"""The whole pipeline through real processes, a real broker and a real database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunningStack
from tests.e2e.helpers import FINAL, results, wait_for_clip
from tests.kafka_reader import KafkaReader
from tests.media import make_clip
from tests.seed import SEED_CLIP
from tests.servers import Servers

pytestmark = pytest.mark.e2e


SEED_BURSTS = (1.0, 2.5)  # seconds where the seed clip's file gets loud


async def test_seed_clip_is_enriched_by_highlight_detector(stack: RunningStack, media_dir: Path) -> None:
    # The seed clip's file, written into the library before the clip is registered; removed
    # afterwards, as other tests register the seed clip expecting no file.
    media = media_dir / SEED_CLIP["file_path"].lstrip("/")
    media.parent.mkdir(parents=True, exist_ok=True)
    make_clip(media, seconds=4, width=160, height=90, bursts=SEED_BURSTS, variant=7)
    try:
        async with stack.client() as client:
            created = await client.post("/api/v1/clips", json=SEED_CLIP)
            assert created.status_code == 201, created.text
            clip_id = created.json()["id"]
            assert created.headers["location"] == f"/api/v1/clips/{clip_id}"
            assert created.json()["status"] == "pending"

            clip = await wait_for_clip(client, clip_id, lambda c: c["status"] in FINAL)
    finally:  # once every plugin is done with the file
        media.unlink(missing_ok=True)

    result = clip["metadata"]["plugins"]["highlight_detector"]
    assert result["_run"]["status"] == "ok", result["_run"]
    assert result["_run"]["version"] == "0.2.0"
    assert result["highlight_count"] == len(result["highlights"]) == len(SEED_BURSTS)
    for burst in SEED_BURSTS:
        assert any(abs(h["timestamp"] - burst) <= 0.5 and h["kind"] == "loud" for h in result["highlights"])
    assert clip["status"] == "completed", {
        n: (r["_run"]["status"], r["_run"]["error"]) for n, r in results(clip).items()
    }
    assert clip["title"] == SEED_CLIP["title"]


async def test_outside_subscriber_sees_each_stage_with_the_envelope(
    stack: RunningStack, servers: Servers
) -> None:
    """As the read-only `subscriber` user a real subscriber gets (on the session's own broker)."""
    kafka_reader = KafkaReader(servers.kafka_settings("subscriber"))
    try:
        await _sees_each_stage(stack, kafka_reader)
    finally:
        await kafka_reader.close()


async def _sees_each_stage(stack: RunningStack, kafka_reader: KafkaReader) -> None:
    async with stack.client() as client:
        created = await client.post("/api/v1/clips", json={**SEED_CLIP, "title": "Envelope check"})
        assert created.status_code == 201
    clip_id = created.json()["id"]

    def mine(event: dict[str, Any]) -> bool:
        return bool(event.get("clip_id") == clip_id)

    captured, processed, enriched = await asyncio.gather(
        kafka_reader.wait_for("clip.captured", mine),
        kafka_reader.wait_for("clip.processed", mine),
        kafka_reader.wait_for("clip.enriched", mine),
    )
    for (event,), kind in (
        (captured, "clip.captured"),
        (processed, "clip.processed"),
        (enriched, "clip.enriched"),
    ):
        assert event["event_type"] == kind
        assert event["schema_version"] == 1
        assert event["_key"] == clip_id  # keyed by clip: one clip's events keep their order
        assert event["occurred_at"].endswith("Z") or event["occurred_at"].endswith("+00:00")
        assert len(event["event_id"]) == 36
    assert captured[0]["clip"]["title"] == "Envelope check"
    assert processed[0]["source_event_id"] == captured[0]["event_id"]
    assert "tag_suggester" in [r["plugin"] for r in processed[0]["results"]]
    assert enriched[0]["clip"]["metadata"]["plugins"]["tag_suggester"]["_run"]["status"] == "ok"
