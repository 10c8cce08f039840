"""Merging `clip.processed` into a clip row.

Idempotent: the event id goes into `processed_events` in the same transaction as the update, so
a redelivered event changes nothing. Order-independent: each plugin's result lives under its own
key (`metadata.plugins.<name>`) and an older run never replaces a newer one, whatever order the
events arrive in; the row lock serialises concurrent merges of one clip.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Clip, ProcessedEvent
from clipforge.events import ClipProcessed, PluginRunStatus

CONSUMER = "metadata"
RUN_KEY = "_run"  # beside a plugin's own result keys: how that run went


def _stamp(at: datetime) -> str:
    """Sortable as text: fixed width, always with microseconds, always UTC."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f%z")


def merge_results(plugins: dict[str, Any], event: ClipProcessed) -> dict[str, Any]:
    merged = dict(plugins)
    stamp = _stamp(event.occurred_at)
    for r in event.results:
        current = merged.get(r.plugin)
        if isinstance(current, dict) and current.get(RUN_KEY, {}).get("at", "") > stamp:
            continue  # a newer run of this plugin is already merged
        merged[r.plugin] = {
            **r.result,
            RUN_KEY: {
                "status": r.status.value,
                "version": r.version,
                "duration_ms": r.duration_ms,
                "error": r.error,
                "event_id": str(event.event_id),
                "at": stamp,
            },
        }
    return merged


def clip_status(plugins: dict[str, Any]) -> str:
    statuses = [p.get(RUN_KEY, {}).get("status") for p in plugins.values() if isinstance(p, dict)]
    failed = {PluginRunStatus.ERROR.value, PluginRunStatus.TIMEOUT.value}
    bad = sum(1 for s in statuses if s in failed)
    if bad == 0:
        return "completed"
    return "failed" if bad == len(statuses) else "completed_with_errors"


async def merge(sessions: async_sessionmaker[AsyncSession], event: ClipProcessed) -> Clip | None:
    """Apply the event once; return the clip as it now stands (None if it was deleted)."""
    async with sessions() as session, session.begin():
        first_time = await session.scalar(
            insert(ProcessedEvent)
            .values(consumer=CONSUMER, event_id=event.event_id)
            .on_conflict_do_nothing()
            .returning(ProcessedEvent.event_id)
        )
        clip = await session.scalar(select(Clip).where(Clip.id == event.clip_id).with_for_update())
        if clip is None or first_time is None:
            return clip
        metadata = dict(clip.clip_metadata or {})
        plugins = merge_results(metadata.get("plugins", {}), event)
        clip.clip_metadata = {**metadata, "plugins": plugins}
        clip.status = clip_status(plugins)
    return clip
