"""Kafka wiring shared by every service: producer guarantees, topic creation, event publishing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from pydantic import BaseModel

from clipforge.events import Topics

log = logging.getLogger(__name__)

JSON_HEADERS = {"content-type": "application/json"}


def make_broker(bootstrap_servers: str, *, client_id: str, **kwargs: Any) -> KafkaBroker:
    """A FastStream broker whose producer is idempotent with acks=all (the delivery rules)."""
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=kwargs.pop("linger_ms", 2),
        # aiokafka's default (16 KiB) holds ~10 clip records, and a full batch makes the next
        # send wait for it to leave: bursts would go out ten messages at a time.
        max_batch_size=kwargs.pop("max_batch_size", 512 * 1024),
        graceful_timeout=kwargs.pop("graceful_timeout", 15.0),
        logger=kwargs.pop("logger", logging.getLogger(client_id)),
        **kwargs,
    )


def encode(event: BaseModel) -> bytes:
    return event.model_dump_json().encode()


async def publish(broker: KafkaBroker, topic: str, event: BaseModel, key: str) -> None:
    """Publish one event and wait for the broker's acknowledgement."""
    await (await publish_nowait(broker, topic, event, key))


async def publish_nowait(broker: KafkaBroker, topic: str, event: BaseModel, key: str) -> asyncio.Future[Any]:
    """Hand one event to the producer; the returned future resolves on the broker's acknowledgement.
    For consumers that acknowledge a whole batch: wait for all, then commit."""
    return await _send(broker, topic, encode(event), key)


async def publish_in_key_order(broker: KafkaBroker, messages: Iterable[tuple[str, str, bytes]]) -> None:
    """Publish already-encoded (topic, key, value) messages and wait for every acknowledgement.

    All are handed to the producer at once, in the order given, and waited for together (one
    round of acknowledgements, not one per message); the idempotent producer keeps that order
    within a partition, so one key's events never overtake each other."""
    await asyncio.gather(*[await _send(broker, topic, value, key) for topic, key, value in messages])


async def _send(broker: KafkaBroker, topic: str, value: bytes, key: str) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = await broker.publish(
        value, topic=topic, key=key.encode(), headers=JSON_HEADERS, no_confirm=True
    )
    return future


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
