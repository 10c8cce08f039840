"""The local broker as `make dev` runs it: nobody gets in without a user, and each user does only
what its ACLs allow (`clipforge.kafka_acls`). Checked with plain aiokafka clients, as any
outside program would connect."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)

from clipforge.events import Topics
from tests.servers import Servers

pytestmark = pytest.mark.integration

PROBE = b"acl probe: not an event"  # not JSON: every reader of the topics skips it


@pytest.fixture
def secured(servers: Servers) -> Servers:
    if servers.kafka_users is None:
        pytest.skip("the session's Kafka is not its own secured broker (it came from the environment)")
    return servers


async def send(options: dict[str, Any], topic: str, **producer: Any) -> None:
    """One record to `topic`, acknowledged, by a producer with these connection options."""
    client = AIOKafkaProducer(**options, acks="all", request_timeout_ms=10_000, **producer)
    await client.start()
    try:
        await client.send_and_wait(topic, PROBE, key=uuid.uuid4().hex.encode())
    finally:
        await client.stop()


async def first_fetch(consumer: AIOKafkaConsumer) -> None:
    async with asyncio.timeout(30):
        await consumer.start()
        await consumer.getmany(timeout_ms=2000)


@pytest.fixture
async def subscriber_consumer(secured: Servers) -> AsyncIterator[list[AIOKafkaConsumer]]:
    consumers: list[AIOKafkaConsumer] = []
    yield consumers
    for consumer in consumers:
        await consumer.stop()


@pytest.mark.parametrize(
    "login",
    [
        pytest.param({}, id="anonymous"),
        pytest.param(
            {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "SCRAM-SHA-256",
                "sasl_plain_username": "subscriber",
                "sasl_plain_password": "not-the-password",
            },
            id="wrong-password",
        ),
        pytest.param(
            {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "SCRAM-SHA-256",
                "sasl_plain_username": "nobody",
                "sasl_plain_password": "nothing",
            },
            id="unknown-user",
        ),
    ],
)
async def test_a_client_without_a_valid_login_is_refused(secured: Servers, login: dict[str, Any]) -> None:
    consumer = AIOKafkaConsumer(
        Topics.CLIP_ENRICHED,
        bootstrap_servers=secured.kafka_bootstrap,
        request_timeout_ms=5000,
        **login,
    )
    with pytest.raises(KafkaConnectionError):
        async with asyncio.timeout(30):
            await consumer.start()
    await consumer.stop()


async def test_the_subscriber_reads_the_public_topics_in_a_group_of_its_own(
    secured: Servers, subscriber_consumer: list[AIOKafkaConsumer]
) -> None:
    key = f"acl-{uuid.uuid4().hex}"
    producer = AIOKafkaProducer(**secured.kafka_options("metadata"), acks="all", enable_idempotence=True)
    await producer.start()
    try:  # the metadata service's user writes clip.enriched
        await producer.send_and_wait(Topics.CLIP_ENRICHED, PROBE, key=key.encode())
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        Topics.CLIP_ENRICHED,
        **secured.kafka_options("subscriber"),
        group_id=f"subscriber-acl-test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    subscriber_consumer.append(consumer)
    await consumer.start()
    async with asyncio.timeout(30):
        found = False
        while not found:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found = found or any(r.key == key.encode() for r in records)
    await consumer.commit()  # the group is the subscriber's: it may keep its offsets


async def test_the_subscriber_writes_nothing_and_reads_nothing_internal(
    secured: Servers, subscriber_consumer: list[AIOKafkaConsumer]
) -> None:
    subscriber = secured.kafka_options("subscriber")
    for topic in (Topics.CLIP_PROCESSED, Topics.CLIP_ENRICHED):
        with pytest.raises(TopicAuthorizationFailedError):
            await send(subscriber, topic)

    # Not the dead letters (they hold whatever was sent), nor plugin.changed (plugins' settings).
    for topic in (Topics.dlq(Topics.CLIP_CAPTURED), Topics.PLUGIN_CHANGED):
        consumer = AIOKafkaConsumer(topic, **subscriber, group_id=None, request_timeout_ms=5000)
        subscriber_consumer.append(consumer)
        with pytest.raises(TopicAuthorizationFailedError):
            await first_fetch(consumer)

    # Nor a service's consumer group, where it would take partitions from that service.
    consumer = AIOKafkaConsumer(
        Topics.CLIP_PROCESSED, **subscriber, group_id="metadata", request_timeout_ms=5000
    )
    subscriber_consumer.append(consumer)
    with pytest.raises(GroupAuthorizationFailedError):
        await first_fetch(consumer)


async def test_only_the_runners_write_clip_processed(secured: Servers) -> None:
    with pytest.raises(TopicAuthorizationFailedError):  # the API's user, as idempotent as the API
        await send(secured.kafka_options("api"), Topics.CLIP_PROCESSED, enable_idempotence=True)
    with pytest.raises(TopicAuthorizationFailedError):
        await send(secured.kafka_options("metadata"), Topics.CLIP_PROCESSED, enable_idempotence=True)
    await send(secured.kafka_options("runner"), Topics.CLIP_PROCESSED, enable_idempotence=True)


async def test_only_the_api_writes_clip_captured(secured: Servers) -> None:
    """(That the API's user may is what every test of the pipeline shows.)"""
    for user in ("runner", "metadata"):
        with pytest.raises(TopicAuthorizationFailedError):
            await send(secured.kafka_options(user), Topics.CLIP_CAPTURED, enable_idempotence=True)


async def test_the_services_users_are_no_admins(secured: Servers) -> None:
    """Creating topics is the super user's: a service's user cannot make (or auto-create) one."""
    with pytest.raises(TopicAuthorizationFailedError):
        await send(secured.kafka_options("api"), f"acl-test-{uuid.uuid4().hex[:8]}", enable_idempotence=True)
