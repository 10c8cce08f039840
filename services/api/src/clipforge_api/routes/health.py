"""Health, for what runs the API: `/livez` (the process answers), `/readyz` (it can take
requests: its database answers), and `/health`, the detailed one (database and broker).

Kafka is not part of readiness: while it is away the API still accepts clips (the outbox holds
their events until it is back), so a load balancer must keep sending it requests. `/health`
says `degraded` then, with 200; only a database that does not answer makes it 503.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from clipforge.observability import metrics
from clipforge.observability.checks import database_ok
from clipforge_api.operations import SERVICE, relay_connected

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: Literal["alive"]


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    database: Literal["ok", "unreachable"]


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(description="degraded: something is unreachable")
    database: Literal["ok", "unreachable"]
    broker: Literal["ok", "unreachable"] = Field(
        description="unreachable: clips are still accepted, their events wait in the outbox"
    )
    outbox_published: int = Field(description="events this process's relay has published")


@router.get("/livez", response_model=Liveness)
async def get_liveness() -> dict[str, str]:
    """200 while the process answers (for a liveness probe: restart it when this fails)."""
    return {"status": "alive"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "the database is unreachable"}},
)
async def get_readiness(request: Request) -> JSONResponse:
    """200 when the API can take requests: its database answers (Kafka may be away). For load
    balancers and readiness probes."""
    ok = await database_ok(request.app.state.engine)
    body = {"status": "ready" if ok else "not ready", "database": "ok" if ok else "unreachable"}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus' text format",
        }
    },
)
async def get_metrics() -> Response:
    """The API's Prometheus metrics (`clipforge_*`, see the README's Operations)."""
    return Response(generate_latest(metrics.registry(SERVICE)), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "the database is unreachable"}},
)
async def get_health(request: Request) -> JSONResponse:
    """Each dependency's state. 200 unless the database is unreachable (`degraded` with the
    broker away); load balancers should use `/readyz`."""
    state = request.app.state
    database, broker = await asyncio.gather(
        database_ok(state.engine), relay_connected(state.relay, state.broker)
    )
    body = {
        "status": "ok" if database and broker else "degraded",
        "database": "ok" if database else "unreachable",
        "broker": "ok" if broker else "unreachable",
        "outbox_published": state.relay.published,
    }
    return JSONResponse(body, status_code=200 if database else 503)
