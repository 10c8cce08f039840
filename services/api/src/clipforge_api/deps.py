"""What routes get injected: a session to read with, or a unit of work to write with."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from clipforge.media.storage import MediaStorage
from clipforge_api.unit_of_work import UnitOfWork


async def _session(request: Request) -> AsyncGenerator[AsyncSession, None]:
    async with request.app.state.sessions() as session:
        yield session


async def _snapshot(request: Request) -> AsyncGenerator[AsyncSession, None]:
    async with request.app.state.sessions() as session:
        await session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
        yield session


async def _unit_of_work(request: Request) -> UnitOfWork:  # async: a sync dependency costs a thread hop
    return UnitOfWork(request.app.state.sessions, request.app.state.relay)


Session = Annotated[AsyncSession, Depends(_session)]
Snapshot = Annotated[AsyncSession, Depends(_snapshot)]
"""A read-only session whose queries all see one snapshot: a page's total agrees with its items,
and a summary's parts with each other, while the pipeline keeps changing the rows."""


async def _storage(request: Request) -> MediaStorage:
    storage: MediaStorage = request.app.state.storage
    return storage


UoW = Annotated[UnitOfWork, Depends(_unit_of_work)]
"""A write's unit of work (not yet begun: the handler enters it)."""
Storage = Annotated[MediaStorage, Depends(_storage)]
"""Where clips' files live (a local folder or an S3 bucket)."""
