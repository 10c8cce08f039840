"""The transactional outbox: no event lost while Kafka is away, none published twice."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.engine import make_engine, make_sessionmaker
from clipforge.db.models import OutboxEvent
from clipforge.kafka_acls import clipforge_acls, ensure_acls
from clipforge.messaging import ensure_topics, make_broker
from clipforge.settings import Settings
from clipforge_api.outbox import Relay, enqueue
from clipforge_devstack.kafka import ADMIN, LocalKafka
from clipforge_devstack.paths import free_port
from tests.integration.inprocess import api_on
from tests.kafka_reader import KafkaReader
from tests.servers import Servers, fresh_database

pytestmark = pytest.mark.integration

HANG = 20.0  # seconds: half the producer's request time-out
CLIP = {"title": "While Kafka sleeps", "file_path": "/clips/k.mp4", "duration": 5}


@pytest.fixture
def private_kafka() -> Iterator[LocalKafka]:
    """A broker of this test's own, so it can be stopped and frozen without harming others."""
    home = Path(tempfile.mkdtemp(prefix="clipforge-outbox-"))
    kafka = LocalKafka(home / "kafka", port=free_port(), controller_port=free_port())
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.reset()
        shutil.rmtree(home, ignore_errors=True)


def logged_in(kafka: LocalKafka, user: str = ADMIN) -> Settings:
    """Settings for a client of this broker, as one of its users."""
    users = kafka.credentials
    assert users is not None
    login: dict[str, Any] = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, **users.env_for(user)}
    return Settings(**login)


@pytest.fixture
async def private_settings(settings: Settings, private_kafka: LocalKafka) -> Settings:
    """Own broker and own database: no other relay of the session can take these rows."""
    admin = logged_in(private_kafka)
    await ensure_topics(admin, partitions=3)
    await ensure_acls(admin, clipforge_acls())
    api = logged_in(private_kafka, "api")
    login = ("bootstrap_servers", "security_protocol", "sasl_mechanism", "username", "password")
    kafka = {f"kafka_{name}": getattr(api, f"kafka_{name}") for name in login}
    return settings.model_copy(update={**kafka, "database_url": await fresh_database(settings.database_url)})


@pytest.fixture
async def private_sessions(private_settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(private_settings.database_url, pool_size=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def timed_create(api: httpx.AsyncClient) -> tuple[str, float]:
    started = time.monotonic()
    response = await api.post("/api/v1/clips", json=CLIP)
    assert response.status_code == 201
    return response.json()["id"], time.monotonic() - started


async def pending(sessions: async_sessionmaker[AsyncSession], keys: list[str]) -> int:
    async with sessions() as session:
        return (
            await session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.key.in_(keys))
            )
            or 0
        )


async def test_clips_created_while_kafka_is_down_are_published_when_it_returns(
    private_settings: Settings, private_kafka: LocalKafka, private_sessions: async_sessionmaker[AsyncSession]
) -> None:
    sessions = private_sessions
    async with api_on(private_settings) as api:
        before, _ = await timed_create(api)
        private_kafka.stop()
        # The API never waits on Kafka: every answer comes while the broker is gone. (A design that
        # published inside the request would hang until the producer's 40 s request time-out;
        # the limit below only catches such a hang, it is no performance bound.)
        async with asyncio.timeout(HANG):
            down = [await timed_create(api) for _ in range(5)]
        print(f"POST latencies with Kafka stopped: {[round(e * 1000) for _, e in down]} ms")
        await asyncio.sleep(1.5)
        assert await pending(sessions, [clip_id for clip_id, _ in down]) == 5, "events wait in the outbox"
        private_kafka.start()
        reader = KafkaReader(logged_in(private_kafka))
        try:
            wanted = {clip_id for clip_id, _ in down} | {before}
            events = await reader.wait_for(
                "clip.captured", lambda e: e["clip_id"] in wanted, count=6, timeout=90
            )
        finally:
            await reader.close()
    assert {e["clip_id"] for e in events} == wanted
    assert await pending(sessions, list(wanted)) == 0


async def test_a_frozen_broker_does_not_slow_the_api(
    private_settings: Settings, private_kafka: LocalKafka
) -> None:
    async with api_on(private_settings) as api:
        await timed_create(api)
        pid = private_kafka.pid()
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            async with asyncio.timeout(HANG):  # answered while the broker is still frozen
                frozen = [await timed_create(api) for _ in range(3)]
                ready = await api.get("/readyz")
        finally:
            os.kill(pid, signal.SIGCONT)
        assert ready.status_code == 200, "still ready: a load balancer keeps sending it clips"
        print(f"POST latencies with Kafka frozen: {[round(e * 1000) for _, e in frozen]} ms")
        reader = KafkaReader(logged_in(private_kafka))
        try:
            wanted = {clip_id for clip_id, _ in frozen}
            events = await reader.wait_for(
                "clip.captured", lambda e: e["clip_id"] in wanted, count=3, timeout=90
            )
        finally:
            await reader.close()
    assert {e["clip_id"] for e in events} == wanted


class Numbered(BaseModel):
    event_id: uuid.UUID
    key: str
    seq: int


async def test_two_relays_publish_every_row_exactly_once_in_key_order(
    servers: Servers, kafka_reader: KafkaReader
) -> None:
    engine = make_engine(await fresh_database(servers.database_url), pool_size=4)
    sessions = make_sessionmaker(engine)
    topic = f"outbox-test-{uuid.uuid4().hex[:8]}"
    admin = servers.kafka_settings()  # the topic is the test's own: only the super user may write it
    await ensure_topics(admin, partitions=3)
    keys = [f"key-{i}" for i in range(100)]
    relays = [Relay(sessions, make_broker(admin, client_id=f"relay-{i}"), batch_size=20) for i in range(2)]
    for relay in relays:
        relay.start()
    try:
        async with asyncio.timeout(30):
            while not all(r.connected for r in relays):
                await asyncio.sleep(0.05)
        async with sessions() as session, session.begin():
            for seq in range(3):
                for key in keys:
                    await enqueue(session, topic, key, Numbered(event_id=uuid.uuid4(), key=key, seq=seq))
        for relay in relays:
            relay.wake()
        events = await kafka_reader.wait_for(topic, lambda e: True, count=300, timeout=60)
        async with asyncio.timeout(10):
            while await pending(sessions, keys):
                await asyncio.sleep(0.1)
    finally:
        for relay in relays:
            await relay.stop()
            await relay._broker.stop()
        await engine.dispose()
    late = await kafka_reader.read_all(topic)  # the relays are stopped: nothing more can come
    assert len(events) == 300
    assert len(late) == 300, "a row was published twice"
    assert len({e["event_id"] for e in late}) == 300
    assert sum(r.published for r in relays) == 300
    assert all(r.published > 0 for r in relays), f"both relays took part: {[r.published for r in relays]}"
    for key in keys:
        assert [e["seq"] for e in late if e["key"] == key] == [0, 1, 2]
