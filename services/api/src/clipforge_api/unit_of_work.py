"""One API write: its transaction, the rows it locks, the events it emits, the relay woken after.

Every change commits together with the events that announce it (the transactional outbox), and
one clip's (or one plugin's) events must leave in the order they were committed. The relay keeps
that order per key as long as every write that emits for a key holds that key's row lock (or
created the row) in its transaction: two writes to one clip then commit, and enqueue, one after
the other. So the unit of work hands out rows only locked (`Locked`), and emits only about a
`Locked` row: emitting for a row that is not locked cannot be written.

    async with uow:
        clip = await uow.clip(clip_id)            # SELECT ... FOR UPDATE, or NotFound
        clip.row.title = "..."
        await uow.emit(Topics.CLIP_UPDATED, clip, event)
    # committed; the relay is woken to publish at once
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Clip, Plugin
from clipforge_api.outbox import Relay, enqueue

R = TypeVar("R")


class NotFound(Exception):
    """The resource the request names does not exist (a 404)."""


class Conflict(Exception):
    """The request conflicts with the current state (a 409)."""


class Invalid(Exception):
    """A body field valid on its own but not against the stored state (a 422 naming it)."""

    def __init__(self, field: str, message: str, *, entries: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.entries = entries or [{"loc": ["body", field], "msg": message, "type": "value_error"}]


@dataclass(frozen=True)
class Locked(Generic[R]):
    """A row this unit of work holds the lock of (or created), and the key its events go under."""

    row: R
    key: str


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], relay: Relay) -> None:
        self.sessions = sessions
        """Also for work after the unit's commit (outside it)."""
        self._relay = relay
        self._emitted = False

    async def __aenter__(self) -> UnitOfWork:
        self.session = self.sessions()
        await self.session.begin()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                await self.session.commit()
            else:
                await self.session.rollback()
        finally:
            await self.session.close()
        if kind is None and self._emitted:
            self._relay.wake()

    async def clip(self, clip_id: uuid.UUID) -> Locked[Clip]:
        clip = await self.session.scalar(select(Clip).where(Clip.id == clip_id).with_for_update())
        if clip is None:
            raise NotFound(f"clip {clip_id} not found")
        return Locked(clip, str(clip.id))

    async def plugin(self, plugin_id: int) -> Locked[Plugin]:
        plugin = await self.session.scalar(select(Plugin).where(Plugin.id == plugin_id).with_for_update())
        if plugin is None:
            raise NotFound(f"plugin {plugin_id} not found")
        return Locked(plugin, plugin.name)

    async def insert_clip(self, clip: Clip, values: dict[str, Any]) -> Locked[Clip]:
        """A new clip row from `values` (a plain INSERT: the hottest write skips the ORM's unit
        of work); `clip` is the same clip as an object, for the caller to answer with."""
        table = Clip.__table__
        assert isinstance(table, Table)
        await self.session.execute(insert(table).values(**values))
        return Locked(clip, str(clip.id))

    async def add_plugin(self, plugin: Plugin) -> Locked[Plugin]:
        self.session.add(plugin)
        await self.session.flush()
        return Locked(plugin, plugin.name)

    async def emit(self, topic: str, about: Locked[Any], event: BaseModel) -> None:
        """Commit `event` with this unit's changes, keyed by the locked row it is about."""
        await enqueue(self.session, topic, about.key, event)
        self._emitted = True

    def emitted_by_statement(self) -> None:
        """Events the caller wrote with one SQL statement (a backfill's, one per clip): the relay
        is woken for them too."""
        self._emitted = True
