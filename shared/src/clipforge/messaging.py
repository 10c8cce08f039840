"""Kafka wiring shared by every service: producer guarantees, topic creation, event publishing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from pydantic import BaseModel

from clipforge.events import Topics

log = logging.getLogger(__name__)


def make_broker(bootstrap_servers: str, *, client_id: str, **kwargs: Any) -> KafkaBroker:
    """A FastStream broker whose producer is idempotent with acks=all (the delivery rules)."""
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=kwargs.pop("linger_ms", 2),
        graceful_timeout=kwargs.pop("graceful_timeout", 15.0),
        logger=kwargs.pop("logger", logging.getLogger(client_id)),
        **kwargs,
    )


def encode(event: BaseModel) -> bytes:
    return event.model_dump_json().encode()


async def publish(broker: KafkaBroker, topic: str, event: BaseModel, key: str) -> None:
    """Publish one event and wait for the broker's acknowledgement."""
    await publish_raw(broker, topic, encode(event), key)


async def publish_raw(broker: KafkaBroker, topic: str, value: bytes, key: str) -> None:
    """Publish an already-encoded JSON event and wait for the broker's acknowledgement."""
    await broker.publish(value, topic=topic, key=key.encode(), headers={"content-type": "application/json"})


async def publish_in_key_order(broker: KafkaBroker, messages: Iterable[tuple[str, str, bytes]]) -> None:
    """Publish (topic, key, value) messages concurrently across keys and in order within a key,
    waiting for every acknowledgement: one key's events never overtake each other."""
    by_key: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
    for topic, key, value in messages:
        by_key[key].append((topic, value))

    async def in_order(key: str, items: list[tuple[str, bytes]]) -> None:
        for topic, value in items:
            await publish_raw(broker, topic, value, key)

    await asyncio.gather(*(in_order(key, items) for key, items in by_key.items()))


async def _wait_for_group_coordinator(admin: AIOKafkaAdminClient, timeout: float = 30.0) -> None:
    """A new broker creates its offsets topic on the first coordinator lookup; doing that here
    spares the services a burst of GroupCoordinatorNotAvailable errors on their first start."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                await admin.find_coordinator("clipforge-warmup")
                return
            except KafkaError:
                await asyncio.sleep(0.2)


async def ensure_topics(bootstrap_servers: str, partitions: int) -> list[str]:
    """Create every clipforge topic that is missing; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="clipforge-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name, num_partitions=partitions if not name.endswith(".dlq") else 1, replication_factor=1
            )
            for name in Topics.all()
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another starter won the race
                await admin.create_topics(wanted)
        await _wait_for_group_coordinator(admin)
        return [t.name for t in wanted]
    finally:
        await admin.close()
