"""The readiness checks every service makes of what it depends on: each answers within a bound,
and says no rather than raising (a probe must not hang on a server that hangs)."""

from __future__ import annotations

import asyncio

from faststream.kafka import KafkaBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

TIMEOUT_S = 2.0


async def database_ok(engine: AsyncEngine) -> bool:
    try:
        async with asyncio.timeout(TIMEOUT_S), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def broker_ok(broker: KafkaBroker) -> bool:
    try:
        return bool(await broker.ping(timeout=TIMEOUT_S))
    except Exception:
        return False
