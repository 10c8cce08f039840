"""Folder import: videos that appear in the watched folders (`CLIPFORGE_WATCH_DIRS`) become clips.

A recorder (OBS, ShadowPlay, Steam) writes a clip over several seconds, so a file is imported
only once it has stopped growing: the same size and modification time at two scans in a row. A
file is a clip once, by its content: a clip is found by the file's SHA-256 (the column uploads
use), so moving, renaming or scanning again never makes a second one; a moved file's clip is
pointed at its new place. The folders are polled (a scan every `CLIPFORGE_WATCH_INTERVAL_S`),
which works on network shares where change notifications don't.

A watched folder inside a local media library is imported in place (the clip's `file_path`
names the file); otherwise the file is copied into storage as an upload would be.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from clipforge.db.models import Clip
from clipforge.db.records import clip_record
from clipforge.events import ClipUpdated, Topics
from clipforge.media.library import upload_key
from clipforge.media.probe import NotAVideo, image_format, probe
from clipforge.media.storage import MediaStorage
from clipforge.settings import Settings
from clipforge_api.handlers.clips import create_clip
from clipforge_api.schemas import ClipCreate
from clipforge_api.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".flv", ".ts", ".mts"})
HASH_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int


@dataclass
class Imported:
    clip_id: str | None  # None: not a video (or it failed), not tried again until it changes
    reason: str = ""


def watched_folders(settings: Settings) -> list[Path]:
    return [Path(p).expanduser().resolve() for p in settings.watch_dirs.split(os.pathsep) if p.strip()]


def _candidates(folder: Path) -> dict[Path, Seen]:
    """Video files under the folder (not hidden, not a symlink), with their size and time."""
    found: dict[Path, Seen] = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(root) / name
            if name.startswith(".") or path.suffix.lower() not in VIDEO_SUFFIXES or path.is_symlink():
                continue
            try:
                st = path.stat()
            except OSError:  # gone between the listing and the stat
                continue
            if st.st_size > 0:
                found[path] = Seen(st.st_size, st.st_mtime_ns)
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _recorded_at(info: dict[str, Any], seen: Seen) -> datetime:
    """When the container says it was made, or else the file's modification time."""
    created = info.get("creation_time")
    if isinstance(created, str):
        try:
            at = datetime.fromisoformat(created.replace("Z", "+00:00"))
            if at.year > 1970:
                return at if at.tzinfo else at.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.fromtimestamp(seen.mtime_ns / 1e9, tz=UTC)


class FolderImporter:
    def __init__(
        self, uow_factory: Callable[[], UnitOfWork], storage: MediaStorage, folders: list[Path]
    ) -> None:
        self.new_uow = uow_factory
        self.storage = storage
        self.folders = folders
        self.growing: dict[Path, Seen] = {}  # as seen at the last scan, not imported yet
        self.done: dict[Path, tuple[Seen, Imported]] = {}

    async def run(self, every_s: float) -> None:
        for folder in self.folders:
            log.info("importing new videos from %s every %.1f s", folder, every_s)
        while True:
            try:
                await self.scan()
            except Exception:  # a folder away (unmounted), the database away: next scan
                log.warning("folder import scan failed; next in %.1f s", every_s, exc_info=True)
            await asyncio.sleep(every_s)

    async def scan(self) -> list[Imported]:
        """One pass: import the files that have stopped growing since the last pass."""
        now: dict[Path, Seen] = {}
        for folder in self.folders:
            if folder.is_dir():
                now.update(await asyncio.to_thread(_candidates, folder))
        imported = []
        for path, seen in sorted(now.items()):
            done = self.done.get(path)
            if done is not None and done[0] == seen:
                continue
            if self.growing.get(path) != seen:
                continue  # new or still being written: look again next pass
            result = await self._import(path, seen)
            self.done[path] = (seen, result)
            imported.append(result)
        self.growing = {p: s for p, s in now.items() if p not in self.done or self.done[p][0] != s}
        for gone in set(self.done) - set(now):
            del self.done[gone]
        return imported

    @staticmethod
    async def _moved(uow: UnitOfWork, clip_id: uuid.UUID, file_path: str) -> None:
        """A clip's file was moved or renamed: the clip follows it (and says so, `clip.updated`)."""
        locked = await uow.clip(clip_id)
        locked.row.file_path = file_path
        await uow.session.flush()
        await uow.session.refresh(locked.row)
        event = ClipUpdated(clip_id=clip_id, changed=["file_path"], clip=clip_record(locked.row))
        await uow.emit(Topics.CLIP_UPDATED, locked, event)
        log.info("clip %s moved to %s", clip_id, file_path)

    async def _import(self, path: Path, seen: Seen) -> Imported:
        sha256 = await asyncio.to_thread(_sha256, path)
        library = self.storage.library
        in_library = library is not None and path.is_relative_to(library.root)
        file_path = "/" + path.relative_to(library.root).as_posix() if library and in_library else None
        uow: UnitOfWork = self.new_uow()
        async with uow:
            existing = (
                await uow.session.execute(select(Clip.id, Clip.file_path).where(Clip.sha256 == sha256))
            ).first()
            if existing is not None:
                if (
                    file_path
                    and existing.file_path != file_path
                    and not await self.storage.stat(existing.file_path)
                ):
                    await self._moved(uow, existing.id, file_path)
                return Imported(str(existing.id), "already a clip")
        try:
            info = await asyncio.to_thread(probe, path)
        except NotAVideo as exc:
            log.info("not importing %s: %s", path.name, exc)
            return Imported(None, str(exc))
        if image_format(info["container"]):
            return Imported(None, f"a picture ({info['container']}), not a video")
        if file_path is None:
            file_path = "/" + upload_key(sha256, path.suffix.lower()[:8])
            await self.storage.put_file(file_path.lstrip("/"), path)
        body = ClipCreate.model_validate(
            {
                "title": path.stem[:200] or "clip",
                "file_path": file_path,
                "file_size": seen.size,
                "duration": info["duration"],
                "fps": info["video"]["average_fps"],
                "resolution": info["video"]["resolution"],
                "codec": info["video"]["codec"],
                "recorded_at": _recorded_at(info, seen).isoformat(),
            }
        )
        try:
            clip = await create_clip(self.new_uow(), body, sha256=sha256)
        except sa_exc.IntegrityError:  # another API replica imported it first
            return Imported(None, "imported by another replica")
        log.info("imported %s as clip %s", path.name, clip.id)
        return Imported(str(clip.id))
