"""The foundation against the real servers: schema, health, outbox publishing."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from clipforge.db.models import Base, OutboxEvent
from clipforge.settings import Settings
from clipforge_devstack.paths import free_port
from tests.integration.inprocess import api_on
from tests.kafka_reader import KafkaReader
from tests.polling import until
from tests.seed import SEED_CLIP

pytestmark = pytest.mark.integration


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert diff == []


async def test_health_is_200_when_database_and_broker_answer(api: httpx.AsyncClient) -> None:
    async def healthy() -> httpx.Response | None:
        # 200 already while the relay still connects (the broker is not needed to serve)
        response = await api.get("/health")
        return response if response.status_code == 200 and response.json()["broker"] == "ok" else None

    response = await until(healthy, timeout=30, every=0.1)
    assert response.json()["database"] == "ok"
    assert response.json()["status"] == "ok"


async def test_the_broker_unreachable_is_degraded_but_ready(settings: Settings) -> None:
    dead = settings.model_copy(update={"kafka_bootstrap_servers": f"127.0.0.1:{free_port()}"})
    async with api_on(dead) as client:
        response = await client.get("/health")
        ready = await client.get("/readyz")
    # clips are still accepted (the outbox holds their events): a load balancer keeps the API
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["broker"] == "unreachable"
    assert response.json()["database"] == "ok"
    assert ready.status_code == 200


async def test_health_is_503_when_the_database_is_unreachable(settings: Settings) -> None:
    dead = settings.model_copy(
        update={"database_url": f"postgresql+asyncpg://clipforge:clipforge@127.0.0.1:{free_port()}/clipforge"}
    )
    async with api_on(dead) as client:
        response = await client.get("/health")
        ready = await client.get("/readyz")
        alive = await client.get("/livez")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert ready.status_code == 503
    assert ready.json() == {"status": "not ready", "database": "unreachable"}
    assert alive.status_code == 200, "alive all the same: restarting it would not bring the database"


async def test_created_clip_is_published_on_clip_captured_and_leaves_the_outbox(
    api: httpx.AsyncClient, kafka_reader: KafkaReader, sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await api.post("/api/v1/clips", json=SEED_CLIP)
    assert created.status_code == 201
    clip_id = created.json()["id"]
    (event,) = await kafka_reader.wait_for("clip.captured", lambda e: e.get("clip_id") == clip_id)
    assert event["clip"]["file_path"] == SEED_CLIP["file_path"]
    assert event["clip"]["status"] == "pending"
    async with sessions() as session:
        for _ in range(50):
            left = await session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.key == clip_id)
            )
            if left == 0:
                break
            await asyncio.sleep(0.1)
    assert left == 0


async def test_bad_clip_gets_422_naming_the_field(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/clips", json={**SEED_CLIP, "resolution": "huge"})
    assert response.status_code == 422
    assert any("resolution" in e["loc"] for e in response.json()["detail"])


async def test_unknown_clip_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/clips/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
