"""The metadata service's clip.processed handler on FastStream's TestKafkaBroker, with a fake
merge and a fake clip lookup: how a batch is checked, split around what the database refuses,
and announced."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from clipforge.db.clip_ids import Known
from clipforge.db.models import Clip
from clipforge.events import ClipProcessed, PluginResult, PluginRunStatus, Topics, derived_event_id
from clipforge.messaging import make_broker
from clipforge.settings import Settings
from clipforge_metadata.merge import Applied
from clipforge_metadata.processed import ProcessedHandler

DELETED = uuid.uuid4()


class FakeMerge:
    """Merges by recording; a result of the plugin `refused` fails the whole batch, as a value
    the database refuses would. Clips it knows are stored; a run completes on its first result."""

    def __init__(self, stored: set[uuid.UUID]) -> None:
        self.stored = stored
        self.batches: list[list[str]] = []

    async def __call__(self, events: Sequence[ClipProcessed]) -> list[Applied]:
        self.batches.append([e.results[0].plugin for e in events])
        if any(e.results[0].plugin == "refused" for e in events):
            raise ValueError("value too long for type character varying(64)")
        now = datetime.now(UTC)
        return [
            Applied(
                Clip(
                    id=e.clip_id,
                    title="t",
                    file_path="/t.mp4",
                    status="completed",
                    tags=[],
                    clip_metadata={},
                    created_at=now,
                    updated_at=now,
                ),
                True,
            )
            if e.clip_id in self.stored
            else Applied(None, False)
            for e in events
        ]


async def lookup(ids: Collection[uuid.UUID]) -> Known:
    return Known(stored=set(), deleted={i for i in ids if i == DELETED})


def processed(clip_id: uuid.UUID, plugin: str, result: dict[str, Any] | None = None) -> bytes:
    event = ClipProcessed(
        clip_id=clip_id,
        source_event_id=uuid.uuid4(),
        runner="unit",
        due=[plugin],
        results=[PluginResult(plugin=plugin, version="1", status=PluginRunStatus.OK, result=result or {})],
    )
    return event.model_dump_json().encode()


class Harness:
    def __init__(self, broker: KafkaBroker, merge: FakeMerge, handler: ProcessedHandler) -> None:
        self.broker = broker
        self.merge = merge
        self.handler = handler
        self.enriched: list[dict[str, Any]] = []
        self.letters: list[dict[str, Any]] = []

        async def on_enriched(msg: KafkaMessage) -> None:
            self.enriched.append(json.loads(msg.body))

        async def on_letter(msg: KafkaMessage) -> None:
            self.letters.append(json.loads(msg.body))

        broker.subscriber(Topics.CLIP_ENRICHED)(on_enriched)
        broker.subscriber("clip.processed.dlq")(on_letter)

    async def batch(self, *values: bytes) -> None:
        await self.broker.publish_batch(*values, topic=Topics.CLIP_PROCESSED)


CLIPS = [uuid.uuid4() for _ in range(6)]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    settings = Settings(CLIPFORGE_INSTANCE="unit")
    broker = make_broker(settings, client_id="unit")
    merge = FakeMerge(set(CLIPS))
    handler = ProcessedHandler(broker, merge, lookup, settings)
    broker.subscriber(Topics.CLIP_PROCESSED, group_id="metadata", batch=True)(handler.on_batch)
    harness = Harness(broker, merge, handler)
    async with TestKafkaBroker(broker):
        yield harness


async def test_a_batch_is_split_around_what_the_database_refuses(harness: Harness) -> None:
    good = [processed(c, "fine", {"n": i}) for i, c in enumerate(CLIPS)]
    await harness.batch(*good[:3], processed(CLIPS[0], "refused"), *good[3:])
    merged = [name for batch in harness.merge.batches for name in batch]
    assert merged.count("refused") == 1 + 1 + 1 + 3, "halved down to itself, then its 3 attempts"
    assert [b for b in harness.merge.batches if "refused" not in b] == [["fine"] * 3, ["fine"], ["fine"] * 2]
    (letter,) = harness.letters
    assert letter["error"] == "merge failed: ValueError: value too long for type character varying(64)"
    assert letter["attempts"] == 3
    assert sorted(e["clip_id"] for e in harness.enriched) == sorted(str(c) for c in CLIPS)


async def test_unstorable_values_never_reach_the_merge(harness: Harness) -> None:
    await harness.batch(processed(CLIPS[0], "fine", {"text": "a\x00b"}), processed(CLIPS[1], "fine"))
    assert harness.merge.batches == [["fine"]]
    (letter,) = harness.letters
    assert letter["error"] == "cannot be stored: results[0].result.text: NUL character"


async def test_results_for_clips_never_stored_are_dead_lettered_and_deleted_ones_dropped(
    harness: Harness,
) -> None:
    ghost = uuid.uuid4()
    source = processed(CLIPS[2], "fine")
    await harness.batch(processed(ghost, "fine"), processed(DELETED, "fine"), source)
    (letter,) = harness.letters
    assert letter["error"] == f"clip {ghost} was never stored"
    (enriched,) = harness.enriched
    run = json.loads(source)["source_event_id"]
    assert enriched["event_id"] == str(derived_event_id(uuid.UUID(run), "enriched"))
