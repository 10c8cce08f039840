"""Processing: the trace of every plugin run, reprocessing one clip, backfilling a plugin."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Response, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clipforge.db.models import Backfill, Clip, ClipRun, PluginRun
from clipforge.events.contracts import PluginRunStatus
from clipforge_api.auth import Admin, Viewer
from clipforge_api.deps import Session, UoW
from clipforge_api.handlers import clips, plugins
from clipforge_api.responses import EVERY_OPERATION, responses
from clipforge_api.schemas import BackfillOut, BackfillRequest, ProcessingOut, ReprocessOut, ReprocessRequest
from clipforge_api.unit_of_work import NotFound

FAILED = (PluginRunStatus.ERROR, PluginRunStatus.TIMEOUT)

router = APIRouter(tags=["processing"], responses=EVERY_OPERATION, dependencies=[Viewer])

PluginId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/clips/{clip_id:uuid}/processing", response_model=ProcessingOut, responses=responses(404))
async def get_clip_processing(clip_id: uuid.UUID, session: Session) -> ProcessingOut:
    """Every processing run of the clip and every plugin run in them, oldest first."""
    clip = await session.get(Clip, clip_id)
    if clip is None:
        raise NotFound(f"clip {clip_id} not found")
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
    "/clips/{clip_id:uuid}/reprocess",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReprocessOut,
    responses=responses(404),
    dependencies=[Admin],
)
async def reprocess_clip(
    clip_id: uuid.UUID, uow: UoW, body: Annotated[ReprocessRequest | None, Body()] = None
) -> ReprocessOut:
    """Run the plugins again on one clip (all enabled ones, or those named)."""
    plugins = body.plugins if body else None
    run_id = await clips.reprocess_clip(uow, clip_id, plugins)
    return ReprocessOut(clip_id=clip_id, run_id=run_id, plugins=plugins)


async def _backfill_out(session: AsyncSession, backfill: Backfill) -> BackfillOut:
    of_backfill = PluginRun.backfill_id == backfill.id
    clips_reported = select(func.count(func.distinct(PluginRun.clip_id)))
    done = await session.scalar(clips_reported.where(of_backfill)) or 0
    failed = await session.scalar(clips_reported.where(of_backfill, PluginRun.status.in_(FAILED))) or 0
    return BackfillOut(
        id=backfill.id,
        plugin_id=backfill.plugin_id,
        plugin=backfill.plugin_name,
        total=backfill.total,
        done=done,
        failed=failed,
        pending=max(backfill.total - done, 0),
        requested_at=backfill.requested_at,
    )


@router.post(
    "/plugins/{plugin_id}/backfill",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BackfillOut,
    responses=responses(404, 409, location=202),
    dependencies=[Admin],
)
async def start_backfill(
    plugin_id: PluginId,
    uow: UoW,
    session: Session,
    response: Response,
    body: Annotated[BackfillRequest | None, Body()] = None,
) -> BackfillOut:
    """Run an enabled plugin over every existing clip that lacks its result (the others are
    not run again); with `scope: all` over every clip; with `scope: older_version` over the
    clips whose result an older version made (than `version`, by default the plugin's
    registered version); with `scope: other_config` over the clips whose result was made with
    another configuration than the plugin's current one for the clip's game. Follow the
    progress at the `Location` given."""
    body = body or BackfillRequest()
    backfill = await plugins.start_backfill(uow, plugin_id, body.scope, body.version)
    response.headers["Location"] = f"/api/v1/plugins/{plugin_id}/backfills/{backfill.id}"
    return await _backfill_out(session, backfill)


@router.get(
    "/plugins/{plugin_id}/backfills/{backfill_id}",
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
        raise NotFound(f"backfill {backfill_id} of plugin {plugin_id} not found")
    return await _backfill_out(session, backfill)
