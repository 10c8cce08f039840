"""An outside subscriber, as any user of the public topics would write one: a plain aiokafka
consumer with no group, reading whole topics from the start (logged in as the settings' user:
the tests use the super user, since they read dead letters too)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from clipforge.messaging import kafka_options
from clipforge.settings import Settings


def _decode(value: bytes | None) -> dict[str, Any] | None:
    """A JSON object, or None for anything else (the dead-letter tests put junk on the topics)."""
    try:
        event = json.loads(value or b"")
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


class KafkaReader:
    def __init__(self, settings: Settings) -> None:
        self._kafka = kafka_options(settings)
        self._consumers: list[AIOKafkaConsumer] = []

    async def wait_for(
        self, topic: str, match: Callable[[dict[str, Any]], bool], *, count: int = 1, timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """Read `topic` from the beginning until `count` JSON events satisfy `match` (each with
        its record's `_key` and `_headers`)."""
        consumer = AIOKafkaConsumer(
            topic,
            **self._kafka,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self._consumers.append(consumer)
        await consumer.start()
        found: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while len(found) < count:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for record in records:
                        event = _decode(record.value)
                        if event is None:
                            continue
                        event["_key"] = record.key.decode() if record.key else None
                        event["_headers"] = {name: value.decode() for name, value in record.headers}
                        if match(event):
                            found.append(event)
        return found

    async def read_all(self, topic: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Every event on the topic, up to its end offsets at the time of the call."""
        # Subscribing makes the consumer fetch the topic's metadata; then assign by hand.
        consumer = AIOKafkaConsumer(topic, **self._kafka, group_id=None, enable_auto_commit=False)
        self._consumers.append(consumer)
        await consumer.start()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or set())]
        assert partitions, f"topic {topic} has no partitions"
        consumer.unsubscribe()
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        events: list[dict[str, Any]] = []

        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        async with asyncio.timeout(timeout):
            while await behind():
                for records in (await consumer.getmany(*partitions, timeout_ms=200)).values():
                    events += [e for e in (_decode(r.value) for r in records) if e is not None]
        return events

    async def close(self) -> None:
        for consumer in self._consumers:
            await consumer.stop()


def of_backfill(backfill: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """Matches the clip.captured events a backfill (as the API answered it) enqueued. Its id
    alone is not enough: backfill ids count per database, and the session's tests use several
    databases on one Kafka; the plugin's name (unique per test) tells them apart."""
    return lambda e: e.get("backfill_id") == backfill["id"] and e.get("plugins") == [backfill["plugin"]]
