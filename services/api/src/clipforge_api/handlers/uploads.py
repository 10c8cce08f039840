"""Uploading a clip's file into storage, in one pass.

The file part streams off the request straight into storage (a part at a time, hashed on the
way: a 2 GB upload never sits in memory or crosses the disk twice), under a private incoming key.
Before anything is committed it is opened with the ffmpeg libraries (which read its headers,
through a seekable reader, not the whole file): what is not a video (text named `.mp4`, zero
bytes, an unreadable header) is refused with the reason, and the incoming object is deleted.
Uploads are stored by content (`uploads/<sha256[:2]>/<sha256>.<ext>`), so the same file uploaded
twice is found, and answered with the clip it already is.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select
from starlette.requests import Request

from clipforge.db.models import Clip
from clipforge.media.library import INCOMING, upload_key
from clipforge.media.probe import NotAVideo, image_format, probe
from clipforge.media.storage import MediaStorage
from clipforge_api.form_stream import BadForm, Event, Part, form_events, part_data
from clipforge_api.handlers.clips import create_clip
from clipforge_api.schemas import ClipCreate
from clipforge_api.unit_of_work import UnitOfWork

FIELDS = ("title", "description", "game_name", "game_id", "tags", "recorded_at", "metadata")
FIELD_MAX_BYTES = 64 * 1024  # a form field (the file aside) is at most this: it is held in memory


class NotAVideoUpload(Exception):
    """The upload is not a video a decoder can open (a 415 with the reason)."""


class AlreadyUploaded(Exception):
    """The same file is already a clip (a 409 with its Location)."""

    def __init__(self, clip_id: uuid.UUID) -> None:
        super().__init__(f"this file is already clip {clip_id}")
        self.location = f"/api/v1/clips/{clip_id}"


def _invalid(field_name: str, msg: str, kind: str = "value_error") -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field_name), "msg": msg, "type": kind}])


@dataclass
class Received:
    key: str
    filename: str
    sha256: str = ""
    size: int = 0
    fields: dict[str, list[str]] = field(default_factory=dict)


async def _hashed(chunks: AsyncIterator[bytes], received: Received) -> AsyncIterator[bytes]:
    digest = hashlib.sha256()
    async for chunk in chunks:
        digest.update(chunk)
        received.size += len(chunk)
        yield chunk
    received.sha256 = digest.hexdigest()


async def _field_value(events: AsyncIterator[Event], name: str) -> str:
    value = bytearray()
    async for chunk in part_data(events):
        value.extend(chunk)
        if len(value) > FIELD_MAX_BYTES:
            raise _invalid(name, f"must be at most {FIELD_MAX_BYTES} bytes")
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise _invalid(name, "must be UTF-8 text") from None


async def _receive(request: Request, storage: MediaStorage) -> Received:
    """Read the form: its fields into memory, its file into storage (under an incoming key)."""
    received: Received | None = None
    fields: dict[str, list[str]] = {}
    events = form_events(request)
    try:
        async for event in events:
            if not isinstance(event, Part):
                raise BadForm("data outside a part")
            if event.name == "file" and event.filename is not None:
                if received is not None:
                    raise _invalid("file", "exactly one file per upload")
                received = Received(f"{INCOMING}/{uuid.uuid4().hex}", event.filename)
                await storage.put_stream(received.key, _hashed(part_data(events), received))
            elif event.name in FIELDS:
                fields.setdefault(event.name, []).append(await _field_value(events, event.name))
            else:
                async for _ in part_data(events):  # a field we don't know: read past it
                    pass
    except BaseException:
        if received is not None:
            await storage.delete(received.key)
        raise
    if received is None:
        raise _invalid("file", "a video file is required", "missing")
    received.fields = fields
    return received


def _clip_fields(received: Received) -> ClipCreate:
    """The form's clip fields, validated as the JSON body of `POST /clips` would be (a 422
    naming the field)."""
    values: dict[str, Any] = {k: v[-1] for k, v in received.fields.items() if k != "tags"}
    if "tags" in received.fields:
        values["tags"] = received.fields["tags"]
    if "metadata" in values:
        try:
            values["metadata"] = json.loads(values["metadata"])
        except ValueError:
            raise _invalid("metadata", "must be a JSON object", "json_invalid") from None
    values.setdefault("title", PurePosixPath(received.filename).stem or "upload")
    try:
        return ClipCreate.model_validate({**values, "file_path": "/uploads/pending"})
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


def _checked(storage: MediaStorage, received: Received) -> dict[str, Any]:
    if received.size == 0:
        raise NotAVideoUpload("the file is empty")
    try:
        with storage.reader(received.key) as source:
            info = probe(source)
    except NotAVideo as exc:
        raise NotAVideoUpload(f"not a video: {exc}") from None
    if image_format(info["container"]):
        raise NotAVideoUpload(f"not a video: a picture ({info['container']})")
    return info


async def upload_clip(uow: UnitOfWork, storage: MediaStorage, request: Request) -> Clip:
    received = await _receive(request, storage)
    try:
        body = _clip_fields(received)
        info = await asyncio.to_thread(_checked, storage, received)
        async with uow:
            existing = await uow.session.scalar(select(Clip.id).where(Clip.sha256 == received.sha256))
        if existing is not None:
            raise AlreadyUploaded(existing)
        suffix = PurePosixPath(received.filename).suffix.lower()[:8] or ".mp4"
        final = upload_key(received.sha256, suffix)
        await storage.move(received.key, final)
    except BaseException:  # refused, a duplicate, or the client gone: the incoming copy goes
        await storage.delete(received.key)
        raise
    video = info["video"]
    known = {
        "file_path": f"/{final}",
        "file_size": received.size,
        "duration": body.duration if body.duration is not None else info["duration"],
        "fps": body.fps if body.fps is not None else video["average_fps"],
        "resolution": body.resolution or video["resolution"],
        "codec": body.codec or video["codec"],
    }
    return await create_clip(uow, body.model_copy(update=known), sha256=received.sha256)
