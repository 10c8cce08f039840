"""What the API tells the people running it: HTTP metrics by route template, the pipeline's
gauges (the outbox's backlog and oldest age, clips by status), and its own status report.

The gauges are read from Postgres in the background every few seconds (two small queries), not
on each scrape: a scrape never waits on the database, and many scrapers cost nothing more.
Readiness is the database only: while Kafka is away the API still takes clips (the outbox holds
their events), so it stays in the load balancer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator.metrics import Info
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from clipforge.db.models import Clip, ServiceInstance
from clipforge.events import ClipStatus
from clipforge.observability import metrics
from clipforge.observability.checks import broker_ok, database_ok
from clipforge.observability.heartbeat import Heartbeat
from clipforge.settings import Settings
from clipforge_api.outbox import Relay

log = logging.getLogger(__name__)

SERVICE = "api"
FORGOTTEN_AFTER = timedelta(hours=1)  # a process not heard from for this long leaves the status page
CONVERTER = re.compile(r"\{(\w+):\w+\}")  # `{clip_id:uuid}` in a route's path


def instrument(app: FastAPI) -> None:
    """Count and time every request by its route template (`/api/v1/clips/{clip_id}`, never
    the raw path: one series per route, not per clip), method and status."""
    Instrumentator(
        should_group_status_codes=False, excluded_handlers=["^/metrics$"], registry=metrics.registry(SERVICE)
    ).add(_record_request).instrument(app)


def _record_request(info: Info) -> None:
    route = CONVERTER.sub(r"{\1}", info.modified_handler)  # as the OpenAPI document writes it
    metrics.HTTP_REQUESTS.labels(route, info.method, info.modified_status).inc()
    metrics.HTTP_DURATION.labels(route, info.method).observe(info.modified_duration)


@dataclass
class OutboxState:
    backlog: int
    oldest_age_s: float | None


async def outbox_state(conn: AsyncConnection) -> OutboxState:
    row = (
        await conn.execute(text("SELECT count(*), extract(epoch FROM now() - min(created_at)) FROM outbox"))
    ).one()
    return OutboxState(int(row[0]), float(row[1]) if row[1] is not None else None)


async def clips_by_status(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(select(Clip.status, func.count()).group_by(Clip.status))
    return {status: count for status, count in rows.all()}


async def relay_connected(relay: Relay, broker: KafkaBroker) -> bool:
    """The relay's broker is started (it connects in the background) and answers."""
    return relay.connected and await broker_ok(broker)


class ApiOperations:
    """The API process's background side of operations: the gauges and the heartbeat."""

    def __init__(self, engine: AsyncEngine, relay: Relay, broker: KafkaBroker, settings: Settings) -> None:
        self.engine = engine
        self.relay = relay
        self.broker = broker
        self.interval = settings.heartbeat_s
        self.address = f"{settings.api_host}:{settings.api_port}"
        self.heartbeat = Heartbeat(
            engine,
            service=SERVICE,
            instance=settings.instance,
            interval=settings.heartbeat_s,
            report=self.report,
        )
        self._gauges: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._gauges = asyncio.create_task(self._refresh_gauges(), name="pipeline-gauges")
        self.heartbeat.start()

    async def stop(self) -> None:
        if self._gauges is not None:
            self._gauges.cancel()
            await asyncio.gather(self._gauges, return_exceptions=True)
        await self.heartbeat.stop()

    async def checks(self) -> dict[str, str]:
        database, broker = await asyncio.gather(
            database_ok(self.engine), relay_connected(self.relay, self.broker)
        )
        return {"database": "ok" if database else "unreachable", "broker": "ok" if broker else "unreachable"}

    async def report(self) -> tuple[bool, dict[str, Any]]:
        checks = await self.checks()
        return checks["database"] == "ok", {"http": self.address, "checks": checks}

    async def refresh_gauges(self) -> None:
        """Read the pipeline's gauges once; and forget processes not heard from for an hour."""
        async with asyncio.timeout(self.interval), self.engine.begin() as conn:
            outbox = await outbox_state(conn)
            clips = await clips_by_status(conn)
            await conn.execute(
                delete(ServiceInstance).where(ServiceInstance.seen_at < func.now() - FORGOTTEN_AFTER)
            )
        metrics.OUTBOX_BACKLOG.set(outbox.backlog)
        metrics.OUTBOX_OLDEST_AGE.set(outbox.oldest_age_s or 0)
        for status in {*ClipStatus, *clips}:  # a status no clip has any more reads 0
            metrics.CLIPS.labels(str(status)).set(clips.get(str(status), 0))

    async def _refresh_gauges(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # the database away: the gauges keep their last value
                await self.refresh_gauges()
            await asyncio.sleep(self.interval)
