"""Merging `clip.processed` into the clip rows.

Idempotent: a plugin's result in a run is recorded in `plugin_runs`, unique per (run, plugin),
in the same transaction as the merge; a result already recorded is not merged again, so a
redelivered event, or a run reported again in different pieces, changes nothing.
Order-independent: each plugin's result lives under its own key (`metadata.plugins.<name>`),
an older run never replaces a newer one, and the clip row lock serialises concurrent merges of
one clip, whatever replica and order they come in.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from clipforge.db.models import Clip, ClipRun, PluginRun
from clipforge.events import ClipProcessed, ClipStatus, PluginResult, PluginRunStatus
from clipforge.events.contracts import RUN_KEY
from clipforge.observability import metrics
from clipforge.sdk.plugin import CLIP_FIELDS, ClipFields


def _sortable_time(at: datetime) -> str:
    """Sortable as text: fixed width, always with microseconds, always UTC."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f%z")


def merge_results(
    plugins: dict[str, Any], event: ClipProcessed, results: Sequence[PluginResult]
) -> dict[str, Any]:
    merged = dict(plugins)
    at = _sortable_time(event.occurred_at)
    for r in results:
        current = merged.get(r.plugin)
        if isinstance(current, dict) and current.get(RUN_KEY, {}).get("at", "") > at:
            continue  # a newer run of this plugin is already merged
        merged[r.plugin] = r.stored(event_id=str(event.event_id), run_id=str(event.source_event_id), at=at)
    return merged


def clip_status(plugins: dict[str, Any]) -> ClipStatus:
    statuses = [p.get(RUN_KEY, {}).get("status") for p in plugins.values() if isinstance(p, dict)]
    failed = {PluginRunStatus.ERROR.value, PluginRunStatus.TIMEOUT.value}
    bad = sum(1 for s in statuses if s in failed)
    if bad == 0:
        return ClipStatus.COMPLETED
    return ClipStatus.FAILED if bad == len(statuses) else ClipStatus.COMPLETED_WITH_ERRORS


@dataclass
class Applied:
    clip: Clip | None  # None: the clip was deleted meanwhile
    run_complete: bool


# One statement writes every clip of the batch (one round trip, not one per clip). Fields a
# plugin read from the file fill only what is empty (COALESCE keeps what the client gave).
UPDATE_CLIPS = text("""
    UPDATE clips AS c SET metadata = v.metadata::jsonb, status = v.status, updated_at = now(),
        duration = COALESCE(c.duration, v.duration), fps = COALESCE(c.fps, v.fps),
        resolution = COALESCE(c.resolution, v.resolution), codec = COALESCE(c.codec, v.codec),
        file_size = COALESCE(c.file_size, v.file_size)
    FROM unnest(
        CAST(:ids AS uuid[]), CAST(:metadata AS text[]), CAST(:statuses AS text[]),
        CAST(:duration AS float8[]), CAST(:fps AS float8[]), CAST(:resolution AS text[]),
        CAST(:codec AS text[]), CAST(:file_size AS bigint[])
    ) AS v(id, metadata, status, duration, fps, resolution, codec, file_size)
    WHERE c.id = v.id
    RETURNING c.id, c.updated_at
""")
FILLABLE = ("duration", "fps", "resolution", "codec", "file_size")


def clip_fields(result: PluginResult) -> dict[str, Any]:
    """The clip fields an ok result read from the file (see `clipforge.sdk.ClipFields`); a
    malformed `clip_fields` fills nothing (the result still shows it)."""
    given = result.result.get(CLIP_FIELDS) if result.status is PluginRunStatus.OK else None
    if not isinstance(given, dict):
        return {}
    try:
        return ClipFields.model_validate(given).model_dump(exclude_none=True)
    except ValidationError:
        return {}


@dataclass
class _Trace:
    """What `plugin_runs` already holds for the batch's clips."""

    attempts: dict[tuple[uuid.UUID, str], int]  # (clip, plugin) -> runs so far
    reported: dict[uuid.UUID, set[str]]  # run -> plugins with a result


async def _trace(session: AsyncSession, clip_ids: list[uuid.UUID]) -> _Trace:
    trace = _Trace(defaultdict(int), defaultdict(set))
    rows = await session.execute(
        select(PluginRun.clip_id, PluginRun.plugin, PluginRun.run_id).where(PluginRun.clip_id.in_(clip_ids))
    )
    for clip_id, plugin, run_id in rows:
        trace.attempts[clip_id, plugin] += 1
        trace.reported[run_id].add(plugin)
    return trace


async def _register_runs(session: AsyncSession, events: Sequence[ClipProcessed]) -> None:
    """A run's row, with the plugins due in it (a reprocess request may have registered the run
    already, not knowing what is due)."""
    first = {
        e.source_event_id: e for e in reversed(events)
    }  # one row per run: the statement may not touch a row twice
    register = insert(ClipRun.metadata.tables[ClipRun.__tablename__])
    await session.execute(
        register.on_conflict_do_update(
            index_elements=[ClipRun.run_id], set_={"due": register.excluded.due}, where=ClipRun.due.is_(None)
        ),
        [
            {"run_id": e.source_event_id, "clip_id": e.clip_id, "due": e.due, "backfill_id": e.backfill_id}
            for e in first.values()
        ],
    )


async def _record_results(
    session: AsyncSession, events: Sequence[ClipProcessed], trace: _Trace
) -> set[tuple[uuid.UUID, str]]:
    """Insert the trace rows not recorded before; return their (run, plugin) keys: the results
    to merge. Attempts continue each (clip, plugin)'s count."""
    rows = []
    for event in events:
        for r in event.results:
            if r.plugin in trace.reported[event.source_event_id]:
                continue  # recorded before (a redelivery), or earlier in this batch
            trace.reported[event.source_event_id].add(r.plugin)
            trace.attempts[event.clip_id, r.plugin] += 1
            rows.append(
                {
                    "run_id": event.source_event_id,
                    "clip_id": event.clip_id,
                    "plugin": r.plugin,
                    "version": r.version,
                    "status": r.status.value,
                    "duration_ms": r.duration_ms,
                    "error": r.error,
                    "attempt": trace.attempts[event.clip_id, r.plugin],
                    "event_id": event.event_id,
                    "runner": event.runner[:255],
                    "backfill_id": event.backfill_id,
                }
            )
    if not rows:
        return set()
    inserted = await session.execute(
        insert(PluginRun.metadata.tables[PluginRun.__tablename__])
        .on_conflict_do_nothing(constraint="uq_plugin_runs_run_plugin")
        .returning(PluginRun.run_id, PluginRun.plugin),
        rows,
    )
    return {(run_id, plugin) for run_id, plugin in inserted}


async def _complete_runs(
    session: AsyncSession,
    run_ids: set[uuid.UUID],
    clip_ids: list[uuid.UUID],
    reported: dict[uuid.UUID, set[str]],
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Mark the batch's runs that every due plugin has now reported on; return (the batch's
    completed runs, clips with a run still open). Both lookups are indexed (the primary key,
    and the partial index of open runs), so they stay cheap however many runs a clip had."""
    runs = (
        await session.execute(
            select(ClipRun.run_id, ClipRun.clip_id, ClipRun.due, ClipRun.completed_at).where(
                or_(
                    ClipRun.run_id.in_(run_ids),
                    and_(ClipRun.clip_id.in_(clip_ids), ClipRun.completed_at.is_(None)),
                )
            )
        )
    ).all()
    newly = {
        r.run_id
        for r in runs
        if r.completed_at is None and r.due is not None and set(r.due) <= reported[r.run_id]
    }
    if newly:
        await session.execute(
            update(ClipRun).where(ClipRun.run_id.in_(newly)).values(completed_at=func.clock_timestamp())
        )
    completed = {r.run_id for r in runs if r.run_id in run_ids and r.completed_at is not None} | newly
    still_open = {r.clip_id for r in runs if r.completed_at is None and r.run_id not in newly}
    return completed, still_open


async def apply_batch(session: AsyncSession, events: Sequence[ClipProcessed]) -> list[Applied]:
    """Apply a batch of events inside the caller's transaction, in a fixed number of statements
    however large the batch. Events for one clip apply in their order."""
    if not events:
        return []
    clip_ids = sorted({e.clip_id for e in events})
    # Lock the clips in id order, so two replicas' overlapping batches never deadlock.
    clips = {
        c.id: c
        for c in await session.scalars(
            select(Clip).where(Clip.id.in_(clip_ids)).order_by(Clip.id).with_for_update()
        )
    }
    live = [e for e in events if e.clip_id in clips]
    if not live:
        return [Applied(None, False) for _ in events]
    live_ids = sorted(clips)
    await _register_runs(session, live)
    trace = await _trace(session, live_ids)
    fresh = await _record_results(session, live, trace)

    plugins = {i: dict((clips[i].clip_metadata or {}).get("plugins", {})) for i in live_ids}
    fills: dict[uuid.UUID, dict[str, Any]] = defaultdict(dict)
    for event in live:
        mine = [r for r in event.results if (event.source_event_id, r.plugin) in fresh]
        if mine:
            plugins[event.clip_id] = merge_results(plugins[event.clip_id], event, mine)
        for r in mine:
            clip = clips[event.clip_id]
            for name, value in clip_fields(r).items():
                if getattr(clip, name) is None:
                    fills[event.clip_id].setdefault(name, value)
    completed, still_open = await _complete_runs(
        session, {e.source_event_id for e in live}, live_ids, trace.reported
    )

    changed = []
    for clip_id in live_ids:
        clip = clips[clip_id]
        metadata = (
            {**(clip.clip_metadata or {}), "plugins": plugins[clip_id]}
            if plugins[clip_id]
            else clip.clip_metadata
        )
        status = ClipStatus.PROCESSING if clip_id in still_open else clip_status(plugins[clip_id])
        if metadata != clip.clip_metadata or status != clip.status or fills.get(clip_id):
            changed.append((clip, metadata, status))
    if changed:
        stamped = await session.execute(
            UPDATE_CLIPS,
            {
                "ids": [c.id for c, _, _ in changed],
                "metadata": [json.dumps(m) for _, m, _ in changed],
                "statuses": [s for _, _, s in changed],
                **{name: [fills.get(c.id, {}).get(name) for c, _, _ in changed] for name in FILLABLE},
            },
        )
        updated_at = {clip_id: at for clip_id, at in stamped}
        for clip, metadata, status in changed:  # the rows as written, without a second write at commit
            set_committed_value(clip, "clip_metadata", metadata)
            set_committed_value(clip, "status", status)
            set_committed_value(clip, "updated_at", updated_at[clip.id])
            for name, value in fills.get(clip.id, {}).items():
                set_committed_value(clip, name, value)
    return [
        Applied(clips[e.clip_id], e.source_event_id in completed)
        if e.clip_id in clips
        else Applied(None, False)
        for e in events
    ]


async def merge_batch(
    sessions: async_sessionmaker[AsyncSession], events: Sequence[ClipProcessed]
) -> list[Applied]:
    """Apply a batch in one transaction (one commit for a burst)."""
    metrics.MERGE_BATCH_SIZE.observe(len(events))
    with metrics.MERGE_DURATION.time():
        async with sessions() as session, session.begin():
            return await apply_batch(session, events)


async def merge(sessions: async_sessionmaker[AsyncSession], event: ClipProcessed) -> Applied:
    (applied,) = await merge_batch(sessions, [event])
    return applied
