"""Rows as event payloads: the one mapping from a `clips` row to the public `ClipRecord`."""

from __future__ import annotations

from clipforge.db.models import Clip
from clipforge.events import ClipRecord


def clip_record(clip: Clip) -> ClipRecord:
    return ClipRecord(
        id=clip.id,
        title=clip.title,
        description=clip.description,
        file_path=clip.file_path,
        resolution=clip.resolution,
        fps=clip.fps,
        codec=clip.codec,
        duration=clip.duration,
        file_size=clip.file_size,
        game_name=clip.game_name,
        game_id=clip.game_id,
        status=clip.status,
        tags=list(clip.tags or []),
        metadata=dict(clip.clip_metadata or {}),
        recorded_at=clip.recorded_at,
        created_at=clip.created_at,
        updated_at=clip.updated_at,
    )
