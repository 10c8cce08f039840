"""What route handlers get injected: a database session and the relay to wake after commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from clipforge_api.outbox import Relay


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


async def _relay(request: Request) -> Relay:  # async: a sync dependency costs a thread hop
    relay: Relay = request.app.state.relay
    return relay


Session = Annotated[AsyncSession, Depends(_session)]
RelayDep = Annotated[Relay, Depends(_relay)]
