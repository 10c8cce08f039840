"""Liveness with teeth: 200 only when the database and the broker both answer."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

router = APIRouter(tags=["health"])


async def _database_ok(request: Request) -> bool:
    try:
        async with asyncio.timeout(2), request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def _broker_ok(request: Request) -> bool:
    relay = request.app.state.relay
    if not relay.connected:
        return False
    try:
        return bool(await request.app.state.broker.ping(timeout=2.0))
    except Exception:
        return False


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    broker: Literal["ok", "unreachable"]
    outbox_published: int = Field(description="events this process's relay has published")


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "the database or the broker is unreachable"}},
)
async def get_health(request: Request) -> JSONResponse:
    database, broker = await asyncio.gather(_database_ok(request), _broker_ok(request))
    ok = database and broker
    body = {
        "status": "ok" if ok else "degraded",
        "database": "ok" if database else "unreachable",
        "broker": "ok" if broker else "unreachable",
        "outbox_published": request.app.state.relay.published,
    }
    return JSONResponse(body, status_code=200 if ok else 503)
