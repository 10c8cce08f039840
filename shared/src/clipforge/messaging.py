"""Kafka wiring shared by every service: producer guarantees, topic creation, event publishing."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from faststream.kafka import KafkaBroker, Topic
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import BaseModel

from clipforge.events import Topics
from clipforge.observability import tracing
from clipforge.retries import Retry
from clipforge.settings import Settings

log = logging.getLogger(__name__)

JSON_HEADERS = {"content-type": "application/json"}


SASL_MECHANISMS: dict[str, type[SASLPlaintext | SASLScram256 | SASLScram512]] = {
    "PLAIN": SASLPlaintext,
    "SCRAM-SHA-256": SASLScram256,
    "SCRAM-SHA-512": SASLScram512,
}


def kafka_options(settings: Settings) -> dict[str, Any]:
    """Where Kafka is and how to log in to it, as keyword arguments of every aiokafka client
    (producer, consumer, admin): the one way the code connects, from KAFKA_BOOTSTRAP_SERVERS,
    KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_USERNAME/KAFKA_PASSWORD and
    KAFKA_SSL_CAFILE. `make_broker` turns the same settings into FastStream's terms."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": protocol,
    }
    if protocol in ("SSL", "SASL_SSL"):
        # The system's trusted certificates, or only KAFKA_SSL_CAFILE's (a private CA).
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile or None)
    if protocol.startswith("SASL_"):
        password = settings.kafka_password.get_secret_value()
        if not settings.kafka_username or not password:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_USERNAME and KAFKA_PASSWORD")
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_username,
            "sasl_plain_password": password,
        }
    return options


def broker_security(settings: Settings) -> BaseSecurity | None:
    """`kafka_options`' security in FastStream's terms (its KafkaBroker takes no raw aiokafka
    security arguments)."""
    options = kafka_options(settings)
    ssl_context = options.get("ssl_context")
    if "sasl_mechanism" in options:
        return SASL_MECHANISMS[options["sasl_mechanism"]](
            options["sasl_plain_username"],
            options["sasl_plain_password"],
            ssl_context=ssl_context,
            use_ssl=ssl_context is not None,
        )
    return BaseSecurity(ssl_context=ssl_context) if ssl_context is not None else None


def make_broker(settings: Settings, *, client_id: str, **kwargs: Any) -> KafkaBroker:
    """A FastStream broker on the settings' Kafka, logged in as their user, whose producer is
    idempotent with acks=all (the delivery rules)."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=broker_security(settings),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=kwargs.pop("linger_ms", 2),
        # aiokafka's default (16 KiB) holds ~10 clip records, and a full batch makes the next
        # send wait for it to leave: bursts would go out ten messages at a time.
        max_batch_size=kwargs.pop("max_batch_size", 512 * 1024),
        graceful_timeout=kwargs.pop("graceful_timeout", 15.0),
        logger=kwargs.pop("logger", logging.getLogger(client_id)),
        # tracing on: publish spans that write each record's `traceparent`, consume spans
        middlewares=(*tracing.kafka_middlewares(), *kwargs.pop("middlewares", ())),
        **kwargs,
    )


def provisioned(topic: str) -> Topic:
    """A topic `clipforge.admin init` creates, for a subscriber: FastStream would otherwise try
    to create it on start (with one partition when missing), which a service's Kafka user is not
    allowed to do (and says so in a warning)."""
    return Topic(topic, declare=False)


def subscribe_batches(
    broker: KafkaBroker,
    topic: str,
    handler: Callable[[KafkaMessage], Awaitable[None]],
    *,
    group_id: str,
    max_records: int,
    title: str,
    listener: ConsumerRebalanceListener | None = None,
) -> Any:
    """A consumer group's batch subscriber with clipforge's delivery rules: from the earliest
    offset for a new group, batches of up to `max_records` without waiting for more than 5 ms,
    offsets committed when `handler` returns (it publishes or dead-letters every record first),
    and a seek back when it raises (the worker stopping), so the batch is delivered again.
    Returns the subscriber (its `consumer` is the aiokafka consumer, once it runs); `listener`
    hears of its partition assignments."""
    subscriber = broker.subscriber(
        provisioned(topic),
        group_id=group_id,
        auto_offset_reset="earliest",
        batch=True,
        max_records=max_records,
        batch_timeout_ms=5,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title=title,
        listener=listener,
    )
    subscriber(handler)
    return subscriber


def encode(event: BaseModel) -> bytes:
    return event.model_dump_json().encode()


async def publish_in_key_order(
    broker: KafkaBroker, messages: Iterable[tuple[str, str, bytes, dict[str, str] | None]]
) -> None:
    """Publish already-encoded (topic, key, value, headers) messages and wait for every
    acknowledgement. `headers` (or None) go with the message: the outbox's carry the trace
    context of the request that made the event, which the publish continues.

    All are handed to the producer at once, in the order given, and waited for together (one
    round of acknowledgements, not one per message); the idempotent producer keeps that order
    within a partition, so one key's events never overtake each other."""
    await asyncio.gather(
        *[await send_encoded(broker, topic, value, key, headers) for topic, key, value, headers in messages]
    )


async def send_encoded(
    broker: KafkaBroker, topic: str, value: bytes, key: str, headers: dict[str, str] | None = None
) -> asyncio.Future[Any]:
    """Hand one encoded message to the producer; the future resolves on the acknowledgement.
    The trace context in `headers`, if any, is current meanwhile (see `tracing.attached`)."""
    with tracing.attached(headers):
        future: asyncio.Future[Any] | None = await broker.publish(
            value,
            topic=topic,
            key=key.encode(),
            # a dict of its own: FastStream's command keeps it, and the tracing middleware writes into it
            headers={**JSON_HEADERS, **(headers or {})},
            no_confirm=True,
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


async def ensure_topics(settings: Settings, partitions: int) -> list[str]:
    """Create every clipforge topic that is missing; return the names created."""
    admin = AIOKafkaAdminClient(**kafka_options(settings), client_id="clipforge-admin")
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
    headers: dict[str, str] | None = None


async def send_later(broker: KafkaBroker, topic: str, key: str, value: bytes) -> Outgoing:
    """Hand a message to the producer without waiting; never raises (see `confirm`). It carries
    the current trace context, and so does a resend."""
    headers = tracing.current_headers()
    try:
        sent: asyncio.Future[Any] | BaseException = await send_encoded(broker, topic, value, key, headers)
    except Exception as exc:  # refused before it left: too large, producer closed, ...
        sent = exc
    return Outgoing(topic, key, value, sent, headers)


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
    await (await send_encoded(broker, message.topic, message.value, message.key, message.headers))
