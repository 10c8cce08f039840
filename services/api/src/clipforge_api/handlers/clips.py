"""Writing clips: create, update, delete, reprocess."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from clipforge.db.models import Clip, ClipRun, DeletedClip, Plugin
from clipforge.db.records import clip_record
from clipforge.events import ClipCaptured, ClipDeleted, ClipStatus, ClipUpdated, Topics
from clipforge.media.library import is_upload
from clipforge.media.purge import purge
from clipforge.media.storage import MediaStorage
from clipforge.plugin_scope import PluginScope
from clipforge_api.schemas import ClipCreate, ClipUpdate
from clipforge_api.unit_of_work import Invalid, UnitOfWork

log = logging.getLogger(__name__)


async def create_clip(uow: UnitOfWork, body: ClipCreate, *, sha256: str | None = None) -> Clip:
    """Store a clip; its `clip.captured` event commits with it, and the plugins run on it."""
    now = datetime.now(UTC)
    fields = body.model_dump(exclude={"metadata"})
    values = {
        "id": uuid.uuid4(),
        "status": ClipStatus.PENDING.value,
        "created_at": now,
        "updated_at": now,
        "sha256": sha256,
        **fields,
    }
    clip = Clip(clip_metadata=body.metadata, **values)
    async with uow:
        created = await uow.insert_clip(clip, {**values, "metadata": body.metadata})
        event = ClipCaptured(clip_id=clip.id, clip=clip_record(clip))
        await uow.emit(Topics.CLIP_CAPTURED, created, event)
    # one line per clip at INFO: the start of its trace in the logs (the workers' are at DEBUG)
    log.info("clip created", extra={"clip_id": clip.id, "event_id": event.event_id})
    return clip


async def update_clip(uow: UnitOfWork, clip_id: uuid.UUID, body: ClipUpdate) -> Clip:
    """Change the fields sent. `metadata` replaces the user's own keys; plugin results stay."""
    changes = body.model_dump(exclude_unset=True)
    async with uow:
        locked = await uow.clip(clip_id)
        clip = locked.row
        changed = []
        if "metadata" in changes:
            user = changes.pop("metadata") or {}
            plugins = (clip.clip_metadata or {}).get("plugins")
            clip.clip_metadata = {**user, **({"plugins": plugins} if plugins is not None else {})}
            changed.append("metadata")
        for field, value in changes.items():
            setattr(clip, field, value if field != "tags" else (value or []))
            changed.append(field)
        if changed:
            await uow.session.flush()
            await uow.session.refresh(clip)
            event = ClipUpdated(clip_id=clip.id, changed=sorted(changed), clip=clip_record(clip))
            await uow.emit(Topics.CLIP_UPDATED, locked, event)
    return clip


async def delete_clip(uow: UnitOfWork, storage: MediaStorage, clip_id: uuid.UUID) -> None:
    """Delete the clip; once that has committed, its files too: what plugins derived from it, and
    the file if clipforge stored it (an upload; a file registered by path is the user's and stays).
    Whatever cannot be deleted now, the API's sweep deletes later (`clipforge.media.purge`)."""
    async with uow:
        locked = await uow.clip(clip_id)
        file_path = locked.row.file_path
        await uow.session.delete(locked.row)
        # events still in flight for it are then dropped, and its files are purged
        uow.session.add(DeletedClip(id=clip_id, file_path=file_path if is_upload(file_path) else None))
        await uow.emit(Topics.CLIP_DELETED, locked, ClipDeleted(clip_id=clip_id))
    try:
        await purge(uow.sessions, storage, clip_ids=[clip_id])
    except Exception:
        log.warning("clip %s: files not purged yet; the sweep retries", clip_id, exc_info=True)


async def reprocess_clip(uow: UnitOfWork, clip_id: uuid.UUID, plugins: list[str] | None) -> uuid.UUID:
    """Run the plugins again on one clip (every enabled one, or those named); returns the run id.
    A plugin limited to other games is not run (the runner leaves it out; named, it is a 422)."""
    async with uow:
        locked = await uow.clip(clip_id)
        clip = locked.row
        if plugins:
            found = await uow.session.execute(
                select(Plugin.name, Plugin.games).where(Plugin.name.in_(plugins))
            )
            games = {name: scope for name, scope in found}
            if unknown := sorted(set(plugins) - games.keys()):
                raise Invalid("plugins", f"no such plugin(s): {unknown}")
            game = (clip.game_name, clip.game_id)
            if elsewhere := sorted(n for n, g in games.items() if not PluginScope(g).includes(*game)):
                raise Invalid("plugins", f"limited to other games than this clip's: {elsewhere}")
        run_id = uuid.uuid4()
        clip.status = ClipStatus.PROCESSING.value
        uow.session.add(ClipRun(run_id=run_id, clip_id=clip.id))  # open until the runner reports all
        await uow.session.flush()
        await uow.session.refresh(clip)
        event = ClipCaptured(event_id=run_id, clip_id=clip.id, clip=clip_record(clip), plugins=plugins)
        await uow.emit(Topics.CLIP_CAPTURED, locked, event)
    return run_id
