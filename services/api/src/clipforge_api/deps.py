"""What route handlers get injected: a database session and the relay to wake after commits."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from clipforge_api.outbox import Relay


async def _session(request: Request) -> AsyncGenerator[AsyncSession, None]:
    async with request.app.state.sessions() as session:
        yield session


async def _snapshot(request: Request) -> AsyncGenerator[AsyncSession, None]:
    async with request.app.state.sessions() as session:
        await session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
        yield session


async def _relay(request: Request) -> Relay:  # async: a sync dependency costs a thread hop
    relay: Relay = request.app.state.relay
    return relay


Session = Annotated[AsyncSession, Depends(_session)]
Snapshot = Annotated[AsyncSession, Depends(_snapshot)]
"""A read-only session whose queries all see one snapshot: a page's total agrees with its items,
and a summary's parts with each other, while the pipeline keeps changing the rows."""
RelayDep = Annotated[Relay, Depends(_relay)]
