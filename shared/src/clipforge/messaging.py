"""Kafka wiring shared by every service: producer guarantees, topic creation, event publishing."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from pydantic import BaseModel

from clipforge.events import Topics
from clipforge.retries import Retry

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


def subscribe_batches(
    broker: KafkaBroker,
    topic: str,
    handler: Callable[[KafkaMessage], Awaitable[None]],
    *,
    group_id: str,
    max_records: int,
    title: str,
) -> None:
    """A consumer group's batch subscriber with clipforge's delivery rules: from the earliest
    offset for a new group, batches of up to `max_records` without waiting for more than 5 ms,
    offsets committed when `handler` returns (it publishes or dead-letters every record first),
    and a seek back when it raises (the worker stopping), so the batch is delivered again."""
    broker.subscriber(
        topic,
        group_id=group_id,
        auto_offset_reset="earliest",
        batch=True,
        max_records=max_records,
        batch_timeout_ms=5,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title=title,
    )(handler)


def encode(event: BaseModel) -> bytes:
    return event.model_dump_json().encode()


async def publish_in_key_order(broker: KafkaBroker, messages: Iterable[tuple[str, str, bytes]]) -> None:
    """Publish already-encoded (topic, key, value) messages and wait for every acknowledgement.

    All are handed to the producer at once, in the order given, and waited for together (one
    round of acknowledgements, not one per message); the idempotent producer keeps that order
    within a partition, so one key's events never overtake each other."""
    await asyncio.gather(*[await send_encoded(broker, topic, value, key) for topic, key, value in messages])


async def send_encoded(broker: KafkaBroker, topic: str, value: bytes, key: str) -> asyncio.Future[Any]:
    """Hand one encoded message to the producer; the future resolves on the acknowledgement."""
    future: asyncio.Future[Any] | None = await broker.publish(
        value, topic=topic, key=key.encode(), headers=JSON_HEADERS, no_confirm=True
    )
    if future is None:  # FastStream's TestKafkaBroker delivers in place and hands back nothing
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
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


@dataclass
class Outgoing:
    """A message handed to the producer, and the acknowledgement to wait for (or the error
    that kept it from leaving)."""

    topic: str
    key: str
    value: bytes
    sent: asyncio.Future[Any] | BaseException


async def send_later(broker: KafkaBroker, topic: str, key: str, value: bytes) -> Outgoing:
    """Hand a message to the producer without waiting; never raises (see `confirm`)."""
    try:
        sent: asyncio.Future[Any] | BaseException = await send_encoded(broker, topic, value, key)
    except Exception as exc:  # refused before it left: too large, producer closed, ...
        sent = exc
    return Outgoing(topic, key, value, sent)


async def confirm(broker: KafkaBroker, outgoing: Iterable[Outgoing], retry: Retry) -> None:
    """Wait for every acknowledgement; send again, one at a time and in order, only what was
    refused or not acknowledged (transient faults are waited out). Raises `GaveUp` when a
    message keeps failing otherwise."""
    for message in outgoing:
        if not isinstance(message.sent, BaseException):
            try:
                await message.sent
                continue
            except Exception as exc:
                message.sent = exc
        log.warning(
            "%s for %s not acknowledged (%s); sending again", message.topic, message.key, message.sent
        )
        await retry.run(
            functools.partial(_send_and_wait, broker, message),
            what=f"publishing {message.topic} for {message.key}",
        )


async def _send_and_wait(broker: KafkaBroker, message: Outgoing) -> None:
    await (await send_encoded(broker, message.topic, message.value, message.key))
