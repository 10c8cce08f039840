"""Merging `clip.processed` into the clip rows.

Idempotent: a plugin's result in a run is recorded in `plugin_runs`, unique per (run, plugin),
in the same transaction as the merge; a result already recorded is not merged again, so a
redelivered event, or a run reported again in different pieces, changes nothing.
Order-independent: each plugin's result lives under its own key (`metadata.plugins.<name>`),
an older run never replaces a newer one, and the clip row lock serialises concurrent merges of
one clip, whatever replica and order they come in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Clip, ClipRun, PluginRun
from clipforge.events import ClipProcessed, PluginResult, PluginRunStatus

RUN_KEY = "_run"  # beside a plugin's own result keys: how that run went


def _stamp(at: datetime) -> str:
    """Sortable as text: fixed width, always with microseconds, always UTC."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f%z")


def merge_results(
    plugins: dict[str, Any], event: ClipProcessed, results: Sequence[PluginResult]
) -> dict[str, Any]:
    merged = dict(plugins)
    stamp = _stamp(event.occurred_at)
    for r in results:
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
                "run_id": str(event.source_event_id),
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


@dataclass
class Applied:
    clip: Clip | None  # None: the clip was deleted meanwhile
    run_complete: bool


async def _record_results(session: AsyncSession, clip: Clip, event: ClipProcessed) -> list[PluginResult]:
    """Insert the trace rows; return the results not recorded before (the ones to merge)."""
    if not event.results:
        return []
    names = [r.plugin for r in event.results]
    earlier = dict(
        (
            await session.execute(
                select(PluginRun.plugin, func.count())
                .where(PluginRun.clip_id == clip.id, PluginRun.plugin.in_(names))
                .group_by(PluginRun.plugin)
            )
        ).all()
    )
    rows = [
        {
            "run_id": event.source_event_id,
            "clip_id": clip.id,
            "plugin": r.plugin,
            "version": r.version,
            "status": r.status.value,
            "duration_ms": r.duration_ms,
            "error": r.error,
            "attempt": earlier.get(r.plugin, 0) + 1,
            "event_id": event.event_id,
            "runner": event.runner[:255],
            "backfill_id": event.backfill_id,
        }
        for r in event.results
    ]
    inserted = set(
        (
            await session.scalars(
                insert(PluginRun)
                .values(rows)
                .on_conflict_do_nothing(constraint="uq_plugin_runs_run_plugin")
                .returning(PluginRun.plugin)
            )
        ).all()
    )
    return [r for r in event.results if r.plugin in inserted]


async def apply(session: AsyncSession, event: ClipProcessed) -> Applied:
    """Apply one event inside the caller's transaction."""
    clip = await session.scalar(select(Clip).where(Clip.id == event.clip_id).with_for_update())
    if clip is None:
        return Applied(None, False)
    register = insert(ClipRun).values(
        run_id=event.source_event_id, clip_id=clip.id, due=event.due, backfill_id=event.backfill_id
    )
    await session.execute(  # a reprocess request registered the run already, not knowing what is due
        register.on_conflict_do_update(
            index_elements=[ClipRun.run_id], set_={"due": register.excluded.due}, where=ClipRun.due.is_(None)
        )
    )
    fresh = await _record_results(session, clip, event)
    metadata = dict(clip.clip_metadata or {})
    plugins = merge_results(metadata.get("plugins", {}), event, fresh)
    if fresh:
        clip.clip_metadata = {**metadata, "plugins": plugins}

    run = await session.scalar(select(ClipRun).where(ClipRun.run_id == event.source_event_id))
    assert run is not None
    if run.completed_at is None and run.due is not None:
        reported = set(
            (await session.scalars(select(PluginRun.plugin).where(PluginRun.run_id == run.run_id))).all()
        )
        if set(run.due) <= reported:
            run.completed_at = datetime.now(UTC)
    still_open = await session.scalar(
        select(func.count())
        .select_from(ClipRun)
        .where(ClipRun.clip_id == clip.id, ClipRun.completed_at.is_(None))
    )
    status = "processing" if still_open else clip_status(plugins)
    if status != clip.status:
        clip.status = status
    await session.flush()
    return Applied(clip, run.completed_at is not None)


async def merge_batch(
    sessions: async_sessionmaker[AsyncSession], events: Sequence[ClipProcessed]
) -> list[Applied]:
    """Apply a batch in one transaction (one commit for a burst)."""
    async with sessions() as session, session.begin():
        return [await apply(session, event) for event in events]


async def merge(sessions: async_sessionmaker[AsyncSession], event: ClipProcessed) -> Applied:
    (applied,) = await merge_batch(sessions, [event])
    return applied
