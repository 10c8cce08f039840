"""Clips: stored, announced on `clip.captured`, enriched by plugins."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import func, select

from clipforge.db.models import Clip
from clipforge.db.records import clip_record
from clipforge.events import ClipCaptured, Topics
from clipforge_api.deps import RelayDep, Session
from clipforge_api.outbox import enqueue
from clipforge_api.schemas import ClipCreate, ClipOut, Page

router = APIRouter(prefix="/api/v1/clips", tags=["clips"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClipOut)
async def create_clip(body: ClipCreate, session: Session, relay: RelayDep, response: Response) -> Clip:
    async with session.begin():
        fields = body.model_dump(exclude={"metadata"})
        clip = Clip(id=uuid.uuid4(), clip_metadata=body.metadata, **fields)
        session.add(clip)
        await session.flush()
        enqueue(
            session, Topics.CLIP_CAPTURED, str(clip.id), ClipCaptured(clip_id=clip.id, clip=clip_record(clip))
        )
    relay.wake()
    response.headers["Location"] = f"/api/v1/clips/{clip.id}"
    return clip


@router.get("/{clip_id}", response_model=ClipOut)
async def get_clip(clip_id: uuid.UUID, session: Session) -> Clip:
    clip = await session.get(Clip, clip_id)
    if clip is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"clip {clip_id} not found")
    return clip


@router.get("", response_model=Page[ClipOut])
async def list_clips(
    session: Session,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> dict[str, object]:
    total = await session.scalar(select(func.count()).select_from(Clip))
    items = (
        await session.scalars(
            select(Clip).order_by(Clip.created_at.desc(), Clip.id).limit(limit).offset(offset)
        )
    ).all()
    return {"items": items, "total": total or 0, "limit": limit, "offset": offset}
