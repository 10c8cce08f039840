"""The platform's status for admins, in one answer: every service process as it last reported
itself (ready, stale, its checks, a runner's plugins), the outbox, and the consumers' lag.

Processes report themselves in `service_instances` (see `clipforge.observability.heartbeat`),
so answering this reaches no other service. One not heard from for three report intervals is
`stale` (killed, or cut off from the database); after an hour it is no longer listed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from clipforge.db.models import ServiceInstance
from clipforge_api.auth import Admin
from clipforge_api.deps import Session
from clipforge_api.operations import FORGOTTEN_AFTER, outbox_state
from clipforge_api.responses import EVERY_OPERATION

router = APIRouter(prefix="/status", tags=["operations"], responses=EVERY_OPERATION, dependencies=[Admin])

STALE_AFTER_REPORTS = 3


class LoadedPlugin(BaseModel):
    name: str
    version: str


class InstanceStatus(BaseModel):
    instance: str = Field(description="the process (CLIPFORGE_INSTANCE: host and pid by default)")
    service: str = Field(description="api, plugin-runner or metadata")
    state: Literal["ready", "not_ready", "stale"] = Field(
        description="stale: not heard from for three report intervals; its last report follows"
    )
    checks: dict[str, str] = Field(description="what its readiness check found, check by check")
    http: str | None = Field(None, description="where its /metrics, /livez and /readyz answer")
    plugins: list[LoadedPlugin] | None = Field(None, description="a runner's loaded plugins")
    unloadable: dict[str, str] | None = Field(
        None, description="a runner's enabled plugins it could not load, and why"
    )
    started_at: datetime
    seen_at: datetime = Field(description="its last report")


class PartitionLag(BaseModel):
    group: str
    topic: str
    partition: int
    lag: int = Field(description="records not fetched yet by the consumer that holds the partition")
    instance: str


class OutboxStatus(BaseModel):
    backlog: int = Field(description="events committed but not yet published to Kafka")
    oldest_age_s: float | None = Field(description="age of the oldest of them (null: none waits)")


class PlatformStatus(BaseModel):
    instances: list[InstanceStatus]
    outbox: OutboxStatus
    consumer_lag: list[PartitionLag] = Field(
        description="per partition, as the workers last reported it (stale ones left out)"
    )


@router.get("", response_model=PlatformStatus)
async def get_status(request: Request, session: Session) -> dict[str, Any]:
    """Each service process's readiness and detail, the outbox's backlog, consumer lag per
    partition, and the plugins each runner has loaded."""
    stale_after = timedelta(seconds=request.app.state.settings.heartbeat_s * STALE_AFTER_REPORTS)
    rows = (
        await session.execute(
            select(ServiceInstance, (ServiceInstance.seen_at < func.now() - stale_after).label("stale"))
            .where(ServiceInstance.seen_at > func.now() - FORGOTTEN_AFTER)
            .order_by(ServiceInstance.service, ServiceInstance.instance)
        )
    ).all()
    outbox = await outbox_state(await session.connection())
    instances, lag = [], []
    for row, stale in rows:
        detail = row.detail or {}
        instances.append(
            {
                "instance": row.instance,
                "service": row.service,
                "state": "stale" if stale else "ready" if row.ready else "not_ready",
                "checks": detail.get("checks", {}),
                "http": detail.get("http") or None,
                "plugins": detail.get("plugins"),
                "unloadable": detail.get("unloadable"),
                "started_at": row.started_at,
                "seen_at": row.seen_at,
            }
        )
        if not stale:
            lag += [{**partition, "instance": row.instance} for partition in detail.get("lag", [])]
    return {
        "instances": instances,
        "outbox": {"backlog": outbox.backlog, "oldest_age_s": outbox.oldest_age_s},
        "consumer_lag": lag,
    }
