"""Kafka plumbing the stages share: skip a group past old events, produce in bulk, and watch a
topic for the events each stage waits on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from bench.polling import until
from clipforge.messaging import kafka_options
from clipforge.settings import Settings


async def skip_backlog(kafka: Settings, group: str, topic: str) -> None:
    """Commit `group`'s offsets at the end of `topic`, so a stage starts on its own events only.

    Kafka takes offsets from outside a group only while it has no members, and a member that
    just stopped may linger until its session times out: wait for the group to be empty."""
    admin = AIOKafkaAdminClient(**kafka_options(kafka))
    await admin.start()
    try:

        async def empty() -> bool:
            (response,) = await admin.describe_consumer_groups([group])
            return response.to_object()["groups"][0]["state"] in ("Empty", "Dead", "")

        await until(empty, timeout=60, what=f"consumer group {group} to be empty", every=0.5)
        (described,) = await admin.describe_topics([topic])
        partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(**kafka_options(kafka), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def create_topic(kafka: Settings, name: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(**kafka_options(kafka))
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()


async def produce(kafka: Settings, topic: str, messages: Iterable[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(**kafka_options(kafka), acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key.encode()) for key, value in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


@dataclass
class Watch:
    """When each awaited key (a clip id) was first seen on a topic, in wall-clock seconds."""

    seen: dict[str, float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def until(self, keys: Iterable[str], timeout: float) -> int:
        """Wait until every key was seen or the time is up; return how many are missing."""
        wanted = set(keys)
        deadline = time.monotonic() + timeout
        while missing := wanted - self.seen.keys():
            left = deadline - time.monotonic()
            if left <= 0:
                return len(missing)
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 0.5))
        return 0

    def rate(self, keys: Iterable[str]) -> float:
        """Events per second between the first and the last of `keys` seen: a throughput that
        leaves out start-up."""
        times = sorted(self.seen[k] for k in keys if k in self.seen)
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0


@contextlib.asynccontextmanager
async def watching(kafka: Settings, topic: str, key_field: str = "clip_id") -> AsyncIterator[Watch]:
    """Read `topic` from its current end in the background, noting when each key first shows."""
    consumer = AIOKafkaConsumer(
        topic,
        **kafka_options(kafka),
        auto_offset_reset="latest",
        enable_auto_commit=False,
        fetch_max_wait_ms=5,
    )
    await consumer.start()
    await consumer.seek_to_end()
    for tp in consumer.assignment():  # resolve the end offsets now, before any event is awaited
        await consumer.position(tp)
    watch = Watch()

    async def read() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=100, max_records=2000)
            now = time.time()
            for records in batches.values():
                for record in records:
                    try:
                        key = str(json.loads(record.value or b"{}")[key_field])
                    except (ValueError, KeyError, TypeError):
                        continue
                    watch.seen.setdefault(key, now)
            if batches:
                watch.changed.set()

    task = asyncio.create_task(read())
    try:
        yield watch
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()
