"""Folder import against the real database: a video that stops growing in a watched folder
becomes a clip, once, however it is moved, renamed or scanned again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Clip, OutboxEvent
from clipforge.media.storage import MediaStorage
from clipforge.settings import Settings
from clipforge_api.importer import FolderImporter
from clipforge_api.outbox import Relay
from clipforge_api.unit_of_work import UnitOfWork
from tests.media import make_clip

pytestmark = pytest.mark.integration


class IdleRelay(Relay):
    """The outbox rows are what these tests read; nothing needs publishing."""

    def wake(self) -> None:
        pass


@pytest.fixture
def watched(media_dir: Path, tmp_path: Path) -> Path:
    folder = media_dir / "recordings" / tmp_path.name  # inside the library: imported in place
    folder.mkdir(parents=True)
    return folder


def importer_of(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], *folders: Path
) -> FolderImporter:
    relay = IdleRelay(sessions, broker=None)  # type: ignore[arg-type]
    return FolderImporter(
        lambda: UnitOfWork(sessions, relay), MediaStorage.from_settings(settings), list(folders)
    )


async def clips_with_sha(sessions: async_sessionmaker[AsyncSession], sha256: str) -> list[Clip]:
    async with sessions() as session:
        return list((await session.scalars(select(Clip).where(Clip.sha256 == sha256))).all())


async def test_a_finished_recording_becomes_one_clip(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], watched: Path, tmp_path: Path
) -> None:
    importer = importer_of(settings, sessions, watched)
    recording = make_clip(tmp_path / "Ace on Inferno.mp4", seconds=1, width=320, height=180, variant=101)
    os.utime(recording, (1_700_000_000, 1_700_000_000))
    shutil.copy2(recording, watched / recording.name)
    assert await importer.scan() == [], "first seen: it may still be growing"
    (imported,) = await importer.scan()
    assert imported.clip_id is not None
    async with sessions() as session:
        clip = await session.get(Clip, imported.clip_id)
        events = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.key == str(imported.clip_id))
        )
    assert clip is not None
    assert clip.title == "Ace on Inferno"
    assert clip.file_path == f"/recordings/{watched.name}/Ace on Inferno.mp4", "imported in place"
    assert (clip.resolution, clip.codec, clip.file_size) == ("320x180", "h264", recording.stat().st_size)
    assert clip.recorded_at is not None
    assert clip.recorded_at.timestamp() == 1_700_000_000, "the file's time"
    assert events == 1, "its clip.captured is in the outbox: the plugins run on it"

    assert await importer.scan() == [], "scanning again imports nothing"
    moved = watched / "sub" / "renamed.mp4"
    moved.parent.mkdir()
    (watched / recording.name).rename(moved)
    await importer.scan()
    (again,) = await importer.scan()
    assert (again.clip_id, again.reason) == (imported.clip_id, "already a clip")
    (clip,) = await clips_with_sha(sessions, clip.sha256 or "")
    assert clip.file_path == f"/recordings/{watched.name}/sub/renamed.mp4", "the clip follows its file"

    fresh = importer_of(settings, sessions, watched)  # a restarted API scans everything again
    await fresh.scan()
    await fresh.scan()
    assert len(await clips_with_sha(sessions, clip.sha256 or "")) == 1


async def test_a_growing_file_waits_and_what_is_not_a_video_is_left_alone(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], watched: Path, tmp_path: Path
) -> None:
    importer = importer_of(settings, sessions, watched)
    whole = make_clip(tmp_path / "long.mp4", seconds=1, width=160, height=90, variant=102).read_bytes()
    growing = watched / "long.mp4"
    growing.write_bytes(whole[: len(whole) // 2])
    (watched / "notes.mp4").write_text("not a video")
    (watched / ".hidden.mp4").write_bytes(whole)
    (watched / "readme.txt").write_text("ignored: not a video name")
    await importer.scan()
    results = (
        await importer.scan()
    )  # nothing changed in between: half a file, as a stalled recorder leaves it
    assert [r.clip_id for r in results] == [None, None], "long.mp4 and notes.mp4 were tried, and refused"
    assert all("no decoder can open it" in r.reason for r in results)
    with growing.open("ab") as out:  # the recorder writes on
        out.write(whole[len(whole) // 2 :])
    assert await importer.scan() == [], "it grew since the last scan"
    (done,) = await importer.scan()
    assert done.clip_id is not None
    assert await importer.scan() == [], "the refused file is not tried again until it changes"


async def test_a_folder_outside_the_library_is_copied_into_storage(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], media_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "obs"
    outside.mkdir()
    make_clip(outside / "Clutch.mkv", seconds=1, width=160, height=90, variant=103)
    importer = importer_of(settings, sessions, outside)
    await importer.scan()
    (imported,) = await importer.scan()
    async with sessions() as session:
        clip = await session.get(Clip, imported.clip_id)
    assert clip is not None
    assert clip.file_path.startswith("/uploads/")
    assert (media_dir / clip.file_path.lstrip("/")).read_bytes() == (outside / "Clutch.mkv").read_bytes()
