"""Deleting a deleted clip's files, after the commit, until it is done.

A delete commits the row's removal and a tombstone naming the files to go; the files are deleted
after that (a crash between the two leaves the tombstone, not a row without its file), first at
once by the request, then by a sweep for whatever failed. An upload is deleted only while no live
clip names the same file (the same video may have been uploaded again meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

import obstore
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Clip, DeletedClip
from clipforge.media.library import INCOMING, artifacts_prefix
from clipforge.media.storage import MediaStorage

log = logging.getLogger(__name__)


async def purge(
    sessions: async_sessionmaker[AsyncSession],
    storage: MediaStorage,
    *,
    clip_ids: list[uuid.UUID] | None = None,
    older_than: timedelta = timedelta(0),
    limit: int = 100,
) -> int:
    """Delete the files of deleted clips not purged yet (those named, or the oldest); returns how
    many clips' files were purged."""
    async with sessions() as session:
        query = select(DeletedClip.id, DeletedClip.file_path).where(
            DeletedClip.purged_at.is_(None), DeletedClip.deleted_at <= func.now() - older_than
        )
        if clip_ids is not None:
            query = query.where(DeletedClip.id.in_(clip_ids))
        pending = (await session.execute(query.order_by(DeletedClip.deleted_at).limit(limit))).all()
        if not pending:
            return 0
        named = [p.file_path for p in pending if p.file_path]
        in_use = set(
            (await session.scalars(select(Clip.file_path).where(Clip.file_path.in_(named)))).all()
            if named
            else []
        )
    purged = []
    for clip_id, file_path in pending:
        try:
            if file_path and file_path not in in_use:
                await storage.delete(storage.key(file_path))
            await storage.delete_prefix(artifacts_prefix(clip_id))
            purged.append(clip_id)
        except Exception:  # the sweep tries again
            log.warning("purge of clip %s's files failed; retried later", clip_id, exc_info=True)
    if purged:
        async with sessions() as session, session.begin():
            await session.execute(
                update(DeletedClip).where(DeletedClip.id.in_(purged)).values(purged_at=func.now())
            )
    return len(purged)


async def drop_stale_incoming(storage: MediaStorage, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete uploads an API process died holding (received, never moved to their key). An
    incoming object exists only once its upload is whole, and lives seconds, so an hour is safe."""
    cutoff = datetime.now(UTC) - older_than
    stale = [
        meta["path"]
        async for batch in obstore.list(storage.store, INCOMING + "/")
        for meta in batch
        if meta["last_modified"] < cutoff
    ]
    for key in stale:
        await storage.delete(key)
    return len(stale)


async def sweep(
    sessions: async_sessionmaker[AsyncSession], storage: MediaStorage, *, every_s: float = 60.0
) -> None:
    """Purge, forever, what the requests could not (the store or the database was away)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            while await purge(sessions, storage, older_than=timedelta(seconds=every_s)) > 0:
                pass
            await drop_stale_incoming(storage)
        except Exception:
            log.warning("media purge sweep failed; next in %.0f s", every_s, exc_info=True)
