"""Operations of the API in-process against the real servers: liveness, readiness, metrics by
route template, the pipeline's gauges read from Postgres, and the admins' status page."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.db.engine import make_engine
from clipforge.db.models import Clip, OutboxEvent, ServiceInstance
from clipforge.observability import metrics
from clipforge.settings import Settings
from clipforge_api.operations import ApiOperations
from tests.auth import bearer
from tests.polling import until
from tests.seed import SEED_CLIP
from tests.servers import fresh_database

pytestmark = pytest.mark.integration

NO_KEY = {"Authorization": ""}


def samples(scrape: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value)
        for family in text_string_to_metric_families(scrape)
        for s in family.samples
        if s.name == name
    ]


async def test_livez_readyz_and_metrics_answer_without_a_key(api: httpx.AsyncClient) -> None:
    assert (await api.get("/livez", headers=NO_KEY)).json() == {"status": "alive"}
    ready = await api.get("/readyz", headers=NO_KEY)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok"}
    scraped = await api.get("/metrics", headers=NO_KEY)
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "clipforge_" in scraped.text


async def test_requests_are_counted_by_route_template_not_by_path(api: httpx.AsyncClient) -> None:
    missing = uuid.uuid4()
    assert (await api.get(f"/api/v1/clips/{missing}")).status_code == 404
    created = await api.post("/api/v1/clips", json=SEED_CLIP)
    assert created.status_code == 201
    scrape = (await api.get("/metrics")).text

    counted = {
        (labels["route"], labels["method"], labels["status"]): value
        for labels, value in samples(scrape, "clipforge_http_requests_total")
    }
    assert counted[("/api/v1/clips/{clip_id}", "GET", "404")] >= 1
    assert counted[("/api/v1/clips", "POST", "201")] >= 1
    assert str(missing) not in scrape, "never a raw path: one series per route"
    assert not any(route == "/metrics" for route, _, _ in counted), "scrapes are not counted"
    timed = samples(scrape, "clipforge_http_request_duration_seconds_count")
    assert any(labels["route"] == "/api/v1/clips" and value >= 1 for labels, value in timed)

    async def relay_counted() -> bool:  # the relay's publishing, by FastStream's middleware
        published = samples((await api.get("/metrics")).text, "clipforge_kafka_published_messages_total")
        return any(labels["destination"] == "clip.captured" and value >= 1 for labels, value in published)

    await until(relay_counted, timeout=30)


@pytest.fixture
async def private_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """A database of its own: nothing else writes its outbox while the test looks at it."""
    engine = make_engine(await fresh_database(settings.database_url), pool_size=2)
    yield engine
    await engine.dispose()


async def test_the_pipeline_gauges_are_read_from_postgres(
    private_engine: AsyncEngine, settings: Settings
) -> None:
    operations = ApiOperations(private_engine, None, None, settings)  # type: ignore[arg-type]  # gauges only
    registry = metrics.registry("api")
    await operations.refresh_gauges()
    assert registry.get_sample_value("clipforge_outbox_backlog") == 0
    assert registry.get_sample_value("clipforge_outbox_oldest_age_seconds") == 0
    assert registry.get_sample_value("clipforge_clips", {"status": "completed"}) == 0, "every status, 0 too"

    async with private_engine.begin() as conn:
        outbox = insert(OutboxEvent).values(topic="clip.captured", key="k", payload={})
        await conn.execute(outbox.values(created_at=func.now() - text("interval '90 seconds'")))
        await conn.execute(outbox)
        for status in ("pending", "completed", "completed"):
            await conn.execute(insert(Clip).values(title="gauged", file_path="g.mp4", status=status))
        forgotten = insert(ServiceInstance).values(instance="long-gone", service="metadata", ready=True)
        await conn.execute(forgotten.values(seen_at=func.now() - text("interval '2 hours'")))
    await operations.refresh_gauges()  # the values below are read before anything else runs
    assert registry.get_sample_value("clipforge_outbox_backlog") == 2
    assert (registry.get_sample_value("clipforge_outbox_oldest_age_seconds") or 0) >= 90
    assert registry.get_sample_value("clipforge_clips", {"status": "completed"}) == 2
    assert registry.get_sample_value("clipforge_clips", {"status": "pending"}) == 1
    async with private_engine.connect() as conn:
        left = await conn.scalar(select(func.count()).select_from(ServiceInstance))
    assert left == 0, "a process not heard from for an hour is forgotten"


async def report_row(engine: AsyncEngine, instance: str, age_s: float, detail: dict[str, Any]) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(ServiceInstance).values(
                instance=instance,
                service="plugin-runner",
                ready=True,
                detail=detail,
                seen_at=func.now() - text(f"interval '{age_s} seconds'"),
            )
        )


async def test_the_status_page_shows_each_process_and_its_lag_to_admins_only(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine, settings: Settings
) -> None:
    tag = uuid.uuid4().hex[:8]
    lag = [{"group": "plugin-runner", "topic": "clip.captured", "partition": 4, "lag": 17}]
    fresh_detail = {
        "http": "127.0.0.1:8001",
        "checks": {"broker": "ok", "database": "ok", "partitions": "1 assigned"},
        "lag": lag,
        "plugins": [{"name": "tag_suggester", "version": "1.0.0"}],
        "unloadable": {},
    }
    await report_row(engine, f"runner-{tag}", 0, fresh_detail)
    await report_row(engine, f"stale-{tag}", 60, {**fresh_detail, "lag": [{**lag[0], "partition": 5}]})
    await report_row(engine, f"gone-{tag}", 7200, fresh_detail)
    await api_app.state.operations.heartbeat.beat()  # the API's own report, now
    try:
        status = await api.get("/api/v1/status")
        assert status.status_code == 200, status.text
        body = status.json()
        instances = {i["instance"]: i for i in body["instances"]}
        me = instances[settings.instance]
        assert (me["service"], me["state"]) == ("api", "ready")
        assert me["checks"]["database"] == "ok"
        assert me["http"] == f"{settings.api_host}:{settings.api_port}"
        runner = instances[f"runner-{tag}"]
        assert runner["state"] == "ready"
        assert runner["plugins"] == [{"name": "tag_suggester", "version": "1.0.0"}]
        assert instances[f"stale-{tag}"]["state"] == "stale", "not heard from for 3 report intervals"
        assert f"gone-{tag}" not in instances, "older than an hour: not listed"
        mine = [p for p in body["consumer_lag"] if p["instance"].endswith(tag)]
        assert mine == [{**lag[0], "instance": f"runner-{tag}"}], "a stale process's lag is left out"
        assert body["outbox"]["backlog"] >= 0

        viewer = await api.post("/api/v1/keys", json={"name": "status viewer", "role": "viewer"})
        assert (await api.get("/api/v1/status", headers=bearer(viewer.json()["key"]))).status_code == 403
        assert (await api.get("/api/v1/status", headers=NO_KEY)).status_code == 401
    finally:
        async with engine.begin() as conn:
            await conn.execute(delete(ServiceInstance).where(ServiceInstance.instance.like(f"%-{tag}")))
