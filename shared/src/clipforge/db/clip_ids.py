"""Which clip ids an event may still refer to: the consumers' check before they act on one.

An event for a clip that is not stored is either late (the clip was deleted while the event was
on its way: dropped, as `clip.deleted` promises) or wrong (the clip never existed: a forged or
misrouted event, dead-lettered so an operator sees it). The `deleted_clips` tombstones, written
in the delete's transaction, tell the two apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Clip, DeletedClip


@dataclass
class Known:
    stored: set[uuid.UUID]
    deleted: set[uuid.UUID]


def never_stored(clip_id: uuid.UUID) -> str:
    """The dead letter's reason for an event about a clip that never existed."""
    return f"clip {clip_id} was never stored"


async def known_clips(session: AsyncSession, ids: Collection[uuid.UUID]) -> Known:
    """Two indexed lookups, the second only for ids that are not stored."""
    stored = set((await session.scalars(select(Clip.id).where(Clip.id.in_(ids)))).all()) if ids else set()
    missing = set(ids) - stored
    deleted = (
        set((await session.scalars(select(DeletedClip.id).where(DeletedClip.id.in_(missing)))).all())
        if missing
        else set()
    )
    return Known(stored, deleted)


ClipLookup = Callable[[Collection[uuid.UUID]], Awaitable[Known]]
"""How a consumer asks which clips are stored or deleted (a fake in unit tests)."""


def clip_lookup(sessions: async_sessionmaker[AsyncSession]) -> ClipLookup:
    async def lookup(ids: Collection[uuid.UUID]) -> Known:
        if not ids:  # most batches: every clip was found by the merge, or nothing decoded
            return Known(set(), set())
        async with sessions() as session:
            return await known_clips(session, ids)

    return lookup
