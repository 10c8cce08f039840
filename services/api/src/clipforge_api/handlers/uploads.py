"""Uploading a clip's file into the media library.

The file is copied into the library in 1 MiB chunks, hashed on the way, and opened with the
ffmpeg libraries before anything is committed: what is not a video (text named `.mp4`, zero
bytes, an unreadable header) is refused with the reason and leaves nothing behind. Uploads are
stored by content (`/uploads/<sha256[:2]>/<sha256>.<ext>`), so the same file uploaded twice is
found, and answered with the clip it already is.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from fastapi import UploadFile
from sqlalchemy import select

from clipforge.db.models import Clip
from clipforge.media.library import UPLOADS, MediaLibrary
from clipforge.media.probe import NotAVideo, probe
from clipforge_api.handlers.clips import create_clip
from clipforge_api.schemas import ClipCreate
from clipforge_api.unit_of_work import UnitOfWork

CHUNK = 1024 * 1024


class NotAVideoUpload(Exception):
    """The upload is not a video a decoder can open (a 415 with the reason)."""


class AlreadyUploaded(Exception):
    """The same file is already a clip (a 409 with its Location)."""

    def __init__(self, clip_id: uuid.UUID) -> None:
        super().__init__(f"this file is already clip {clip_id}")
        self.location = f"/api/v1/clips/{clip_id}"


@dataclass
class Received:
    path: Path
    sha256: str
    size: int


def _receive(source: BinaryIO, library: MediaLibrary) -> Received:
    """Copy the upload into the library's incoming folder, hashing it on the way."""
    incoming = library.root / UPLOADS / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / uuid.uuid4().hex
    digest = hashlib.sha256()
    size = 0
    source.seek(0)
    with path.open("wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return Received(path, digest.hexdigest(), size)


def _checked(received: Received) -> dict[str, object]:
    if received.size == 0:
        raise NotAVideoUpload("the file is empty")
    try:
        return probe(received.path)
    except NotAVideo as exc:
        raise NotAVideoUpload(f"not a video: {exc}") from None


async def upload_clip(uow: UnitOfWork, library: MediaLibrary, file: UploadFile, body: ClipCreate) -> Clip:
    received = await asyncio.to_thread(_receive, file.file, library)
    try:
        info = await asyncio.to_thread(_checked, received)
        async with uow:
            existing = await uow.session.scalar(select(Clip.id).where(Clip.sha256 == received.sha256))
        if existing is not None:
            raise AlreadyUploaded(existing)
        suffix = PurePosixPath(file.filename or "").suffix.lower()[:8] or ".mp4"
        final = library.upload_path(received.sha256, suffix)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(received.path, final)
    finally:
        received.path.unlink(missing_ok=True)
    video = info["video"]
    assert isinstance(video, dict)
    known = {
        "file_path": library.file_path_of(final),
        "file_size": received.size,
        "duration": body.duration if body.duration is not None else info["duration"],
        "fps": body.fps if body.fps is not None else video["average_fps"],
        "resolution": body.resolution or video["resolution"],
        "codec": body.codec or video["codec"],
    }
    return await create_clip(uow, body.model_copy(update=known), sha256=received.sha256)
