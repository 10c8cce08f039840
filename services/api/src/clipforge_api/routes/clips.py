"""Clips: stored, announced on Kafka through the outbox, enriched by plugins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import Select, func, select

from clipforge.db.models import Clip
from clipforge.events import ClipStatus
from clipforge.storable import Text
from clipforge_api.auth import Admin, Uploader, Viewer
from clipforge_api.deps import Session, Snapshot, Storage, UoW
from clipforge_api.handlers import clips as handlers
from clipforge_api.responses import EVERY_OPERATION, responses
from clipforge_api.schemas import (
    ClipCreate,
    ClipOut,
    ClipSort,
    ClipStats,
    ClipUpdate,
    Page,
    SortOrder,
    Tag,
    Timestamp,
)
from clipforge_api.unit_of_work import NotFound

router = APIRouter(prefix="/clips", tags=["clips"], responses=EVERY_OPERATION, dependencies=[Viewer])

SORT_COLUMNS = {
    ClipSort.RECORDED_AT: Clip.recorded_at,
    ClipSort.CREATED_AT: Clip.created_at,
    ClipSort.DURATION: Clip.duration,
    ClipSort.TITLE: Clip.title,
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ClipOut,
    responses=responses(location=201),
    dependencies=[Uploader],
)
async def create_clip(body: ClipCreate, uow: UoW, response: Response) -> Clip:
    """Store a clip; its `clip.captured` event commits with it and the plugins run on it."""
    clip = await handlers.create_clip(uow, body)
    response.headers["Location"] = f"/api/v1/clips/{clip.id}"
    return clip


@router.get("/stats/summary", response_model=ClipStats)
async def get_clip_stats(session: Snapshot) -> ClipStats:
    """Totals, counts by status and by game, summed duration and file size."""
    totals = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Clip.duration), 0.0),
                func.coalesce(func.sum(Clip.file_size), 0),
            )
        )
    ).one()
    by_status = (await session.execute(select(Clip.status, func.count()).group_by(Clip.status))).all()
    game = func.coalesce(Clip.game_name, "")
    by_game = (await session.execute(select(game, func.count()).group_by(game))).all()
    return ClipStats(
        total_clips=totals[0],
        total_duration=float(totals[1] or 0),
        total_file_size=int(totals[2] or 0),
        by_status={s: n for s, n in by_status},
        by_game={g: n for g, n in by_game},
    )


@router.get("/{clip_id:uuid}", response_model=ClipOut, responses=responses(404))
async def get_clip(clip_id: uuid.UUID, session: Session) -> Clip:
    clip = await session.get(Clip, clip_id)
    if clip is None:
        raise NotFound(f"clip {clip_id} not found")
    return clip


def _filtered(
    query: Select[Any],
    game_name: str | None,
    game_id: str | None,
    clip_status: ClipStatus | None,
    tag: str | None,
    q: str | None,
    recorded_after: datetime | None,
    recorded_before: datetime | None,
) -> Select[Any]:
    if game_name is not None:
        query = query.where(Clip.game_name == game_name)
    if game_id is not None:
        query = query.where(Clip.game_id == game_id)
    if clip_status is not None:
        query = query.where(Clip.status == clip_status.value)
    if tag is not None:
        query = query.where(Clip.tags.contains([tag]))
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Clip.title.ilike(f"%{escaped}%", escape="\\"))
    if recorded_after is not None:
        query = query.where(Clip.recorded_at >= recorded_after)
    if recorded_before is not None:
        query = query.where(Clip.recorded_at < recorded_before)
    return query


@router.get("", response_model=Page[ClipOut])
async def list_clips(
    session: Snapshot,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    game_name: Annotated[Text | None, Query(max_length=200)] = None,
    game_id: Annotated[Text | None, Query(max_length=100)] = None,
    clip_status: Annotated[ClipStatus | None, Query(alias="status")] = None,
    tag: Annotated[Tag | None, Query()] = None,
    q: Annotated[
        Text | None, Query(max_length=200, description="text in the title (case-insensitive)")
    ] = None,
    recorded_after: Annotated[Timestamp | None, Query(description="recorded_at ≥ this")] = None,
    recorded_before: Annotated[Timestamp | None, Query(description="recorded_at < this")] = None,
    sort: ClipSort = ClipSort.CREATED_AT,
    order: SortOrder = SortOrder.DESC,
) -> dict[str, Any]:
    filters = (game_name, game_id, clip_status, tag, q, recorded_after, recorded_before)
    total = await session.scalar(_filtered(select(func.count()).select_from(Clip), *filters))
    column = SORT_COLUMNS[sort]
    ordering = column.asc().nulls_last() if order is SortOrder.ASC else column.desc().nulls_last()
    items = (
        await session.scalars(
            _filtered(select(Clip), *filters).order_by(ordering, Clip.id).limit(limit).offset(offset)
        )
    ).all()
    return {"items": items, "total": total or 0, "limit": limit, "offset": offset}


@router.put("/{clip_id:uuid}", response_model=ClipOut, responses=responses(404), dependencies=[Uploader])
async def update_clip(clip_id: uuid.UUID, body: ClipUpdate, uow: UoW) -> Clip:
    """Change the fields sent. `metadata` replaces the user's own keys; plugin results stay."""
    return await handlers.update_clip(uow, clip_id, body)


@router.delete(
    "/{clip_id:uuid}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404), dependencies=[Admin]
)
async def delete_clip(clip_id: uuid.UUID, uow: UoW, storage: Storage) -> Response:
    """Delete the clip, its derived files (poster, storyboard), and its file if it was uploaded."""
    await handlers.delete_clip(uow, storage, clip_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
