"""Processing: the trace of every plugin run, reprocessing one clip, backfilling a plugin."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Response, status
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from clipforge.db.models import Backfill, Clip, ClipRun, Plugin, PluginRun
from clipforge.db.records import RESULTS_BUDGET_BYTES, clip_record
from clipforge.events import ClipCaptured, Topics
from clipforge_api.deps import RelayDep, Session
from clipforge_api.outbox import enqueue
from clipforge_api.responses import EVERY_OPERATION, responses
from clipforge_api.schemas import BackfillOut, ProcessingOut, ReprocessOut, ReprocessRequest

router = APIRouter(tags=["processing"], responses=EVERY_OPERATION)

PluginId = Annotated[int, Path(ge=1, le=2**31 - 1)]

# The backfill's events are built by Postgres, row by row, so a plugin can be run over any number
# of clips in one statement. The shape is ClipCaptured's (a test holds the two together).
ENQUEUE_BACKFILL = text("""
    INSERT INTO outbox (topic, key, payload)
    SELECT :topic, c.id::text, jsonb_build_object(
        'event_id', gen_random_uuid(), 'event_type', 'clip.captured', 'schema_version', 1,
        'occurred_at', to_jsonb(now()), 'clip_id', c.id,
        'clip', CASE
            WHEN octet_length(coalesce(c.metadata -> 'plugins', '{}'::jsonb)::text) <= :results_budget
            THEN to_jsonb(c)
            ELSE to_jsonb(c) || jsonb_build_object(  -- too large for one message: see clip_record
                'metadata', c.metadata - 'plugins',
                'omitted_results',
                (SELECT jsonb_agg(k ORDER BY k) FROM jsonb_object_keys(c.metadata -> 'plugins') k))
        END,
        'plugins', jsonb_build_array(CAST(:plugin AS text)), 'backfill_id', CAST(:backfill_id AS integer))
    FROM clips c
    WHERE NOT jsonb_exists(coalesce(c.metadata -> 'plugins', '{}'::jsonb), :plugin)
    ORDER BY c.created_at
""")


@router.get("/api/v1/clips/{clip_id}/processing", response_model=ProcessingOut, responses=responses(404))
async def get_clip_processing(clip_id: uuid.UUID, session: Session) -> ProcessingOut:
    """Every processing run of the clip and every plugin run in them, oldest first."""
    clip = await session.get(Clip, clip_id)
    if clip is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"clip {clip_id} not found")
    runs = (
        await session.scalars(
            select(ClipRun).where(ClipRun.clip_id == clip_id).order_by(ClipRun.requested_at)
        )
    ).all()
    items = (
        await session.scalars(select(PluginRun).where(PluginRun.clip_id == clip_id).order_by(PluginRun.id))
    ).all()
    return ProcessingOut.model_validate(
        {"clip_id": clip_id, "status": clip.status, "runs": runs, "items": items}, from_attributes=True
    )


@router.post(
    "/api/v1/clips/{clip_id}/reprocess",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReprocessOut,
    responses=responses(404),
)
async def reprocess_clip(
    clip_id: uuid.UUID,
    session: Session,
    relay: RelayDep,
    body: Annotated[ReprocessRequest | None, Body()] = None,
) -> ReprocessOut:
    """Run the plugins again on one clip (all enabled ones, or those named)."""
    plugins = body.plugins if body else None
    async with session.begin():
        clip = await session.scalar(select(Clip).where(Clip.id == clip_id).with_for_update())
        if clip is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"clip {clip_id} not found")
        if plugins:
            known = set((await session.scalars(select(Plugin.name).where(Plugin.name.in_(plugins)))).all())
            unknown = sorted(set(plugins) - known)
            if unknown:
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    [
                        {
                            "loc": ["body", "plugins"],
                            "msg": f"no such plugin(s): {unknown}",
                            "type": "value_error",
                        }
                    ],
                )
        run_id = uuid.uuid4()
        clip.status = "processing"
        session.add(ClipRun(run_id=run_id, clip_id=clip.id))  # open until the runner reports all
        await session.flush()
        await session.refresh(clip)
        await enqueue(
            session,
            Topics.CLIP_CAPTURED,
            str(clip.id),
            ClipCaptured(event_id=run_id, clip_id=clip.id, clip=clip_record(clip), plugins=plugins),
        )
    relay.wake()
    return ReprocessOut(clip_id=clip_id, run_id=run_id, plugins=plugins)


async def _backfill_out(session: AsyncSession, backfill: Backfill) -> BackfillOut:
    done = (
        await session.scalar(
            select(func.count(func.distinct(PluginRun.clip_id))).where(PluginRun.backfill_id == backfill.id)
        )
        or 0
    )
    return BackfillOut(
        id=backfill.id,
        plugin_id=backfill.plugin_id,
        plugin=backfill.plugin_name,
        total=backfill.total,
        done=done,
        pending=max(backfill.total - done, 0),
        requested_at=backfill.requested_at,
    )


@router.post(
    "/api/v1/plugins/{plugin_id}/backfill",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BackfillOut,
    responses=responses(404, 409, location=202),
)
async def start_backfill(
    plugin_id: PluginId, session: Session, relay: RelayDep, response: Response
) -> BackfillOut:
    """Run an enabled plugin over every existing clip that lacks its result (the others are
    not run again). Follow the progress at the `Location` given."""
    async with session.begin():
        plugin = await session.scalar(select(Plugin).where(Plugin.id == plugin_id).with_for_update())
        if plugin is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"plugin {plugin_id} not found")
        if not plugin.enabled:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"plugin {plugin.name!r} is disabled: enable it first"
            )
        backfill = Backfill(plugin_id=plugin.id, plugin_name=plugin.name, total=0)
        session.add(backfill)
        await session.flush()
        enqueued = await session.execute(
            ENQUEUE_BACKFILL,
            {
                "topic": Topics.CLIP_CAPTURED,
                "plugin": plugin.name,
                "backfill_id": backfill.id,
                "results_budget": RESULTS_BUDGET_BYTES,
            },
        )
        backfill.total = enqueued.rowcount  # type: ignore[attr-defined]
        await session.flush()
    relay.wake()
    response.headers["Location"] = f"/api/v1/plugins/{plugin_id}/backfills/{backfill.id}"
    return await _backfill_out(session, backfill)


@router.get(
    "/api/v1/plugins/{plugin_id}/backfills/{backfill_id}",
    response_model=BackfillOut,
    responses=responses(404),
)
async def get_backfill(
    plugin_id: PluginId, backfill_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: Session
) -> BackfillOut:
    backfill = await session.scalar(
        select(Backfill).where(Backfill.id == backfill_id, Backfill.plugin_id == plugin_id)
    )
    if backfill is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"backfill {backfill_id} of plugin {plugin_id} not found"
        )
    return await _backfill_out(session, backfill)
