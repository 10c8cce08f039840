"""Uploading videos and playing them back, in-process against the real Postgres, with the files
in a local folder and in S3 (a real S3Proxy): what is stored, what is refused (with nothing left
behind), and the Range requests a `<video>` element makes."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import httpx
import obstore
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Clip, DeletedClip
from clipforge.media.library import INCOMING, artifact_key, upload_key
from clipforge.media.purge import drop_stale_incoming, purge
from clipforge.media.storage import MediaStorage
from clipforge.settings import Settings
from clipforge_devstack.s3proxy import LocalS3
from tests.integration.inprocess import api_on
from tests.media import make_clip

pytestmark = pytest.mark.integration

UPLOAD = "/api/v1/clips/upload"


@pytest.fixture(params=["local", "s3"])
def store_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The session's settings, with the files in the local library or in a fresh S3 prefix."""
    if request.param == "local":
        return settings
    s3: LocalS3 = request.getfixturevalue("s3_server")
    return settings.model_copy(
        update={
            "storage_url": f"s3://{s3.bucket}/{uuid.uuid4().hex}",
            "s3_endpoint": s3.endpoint,
            "s3_access_key_id": s3.access_key,
            "s3_secret_access_key": SecretStr(s3.secret_key),
        }
    )


@pytest.fixture
def storage(store_settings: Settings) -> MediaStorage:
    return MediaStorage.from_settings(store_settings)


@pytest.fixture
async def api(store_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_on(store_settings) as client:
        yield client


def unique_clip(path: Path, **kwargs: Any) -> Path:
    """A clip no other test (nor the other storage backend's run) uploads: uploads are
    deduplicated by content, and every test shares one database."""
    return make_clip(path, label=uuid.uuid4().hex, **kwargs)


async def stored_files(storage: MediaStorage) -> set[str]:
    return {meta["path"] async for batch in obstore.list(storage.store) for meta in batch}


async def total(api: httpx.AsyncClient) -> int:
    count: int = (await api.get("/api/v1/clips", params={"limit": 1})).json()["total"]
    return count


async def test_an_upload_becomes_a_clip_with_the_file_s_own_properties(
    api: httpx.AsyncClient, storage: MediaStorage, tmp_path: Path
) -> None:
    video = unique_clip(tmp_path / "Ace on Mirage.mp4", seconds=2, width=1280, height=720, fps=60)
    data = {"game_name": "CS2", "tags": ["ace", "clutch"], "metadata": '{"map": "mirage"}'}
    response = await api.post(UPLOAD, files={"file": video.open("rb")}, data=data)
    assert response.status_code == 201, response.text
    clip = response.json()
    assert response.headers["location"] == f"/api/v1/clips/{clip['id']}"
    assert (clip["title"], clip["game_name"], clip["tags"]) == ("Ace on Mirage", "CS2", ["ace", "clutch"])
    assert (clip["resolution"], clip["fps"], clip["codec"]) == ("1280x720", 60, "h264")
    assert clip["duration"] == pytest.approx(2.0, abs=0.05)
    assert clip["file_size"] == video.stat().st_size
    assert clip["metadata"] == {"map": "mirage"}
    sha = hashlib.sha256(video.read_bytes()).hexdigest()
    assert clip["file_path"] == f"/uploads/{sha[:2]}/{sha}.mp4"
    assert await storage.read_all(clip["file_path"].lstrip("/")) == video.read_bytes()

    again = await api.post(UPLOAD, files={"file": video.open("rb")})
    assert again.status_code == 409
    assert again.headers["location"] == f"/api/v1/clips/{clip['id']}"

    media = f"/api/v1/clips/{clip['id']}/media"
    whole = await api.get(media)
    assert (whole.status_code, whole.headers["content-type"]) == (200, "video/mp4")
    assert whole.content == video.read_bytes()
    assert whole.headers["accept-ranges"] == "bytes"
    part = await api.get(media, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{video.stat().st_size}"
    assert part.content == video.read_bytes()[100:1100]
    assert part.headers["etag"] == whole.headers["etag"]

    assert (await api.delete(f"/api/v1/clips/{clip['id']}")).status_code == 204
    assert await storage.stat(clip["file_path"]) is None, "an upload goes with its clip"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [("text.mp4", b"hello, not a video", "not a video"), ("empty.mp4", b"", "the file is empty")],
)
async def test_what_is_not_a_video_is_refused_and_nothing_is_stored(
    api: httpx.AsyncClient, storage: MediaStorage, name: str, content: bytes, reason: str
) -> None:
    before_files, before_clips = await stored_files(storage), await total(api)
    response = await api.post(UPLOAD, files={"file": (name, content, "video/mp4")})
    assert response.status_code == 415
    assert reason in response.json()["detail"]
    assert await stored_files(storage) == before_files
    assert await total(api) == before_clips


async def test_audio_alone_is_refused(api: httpx.AsyncClient, tmp_path: Path) -> None:
    audio = unique_clip(tmp_path / "voice.m4a", video=False)
    response = await api.post(UPLOAD, files={"file": audio.open("rb")})
    assert response.status_code == 415
    assert "no video stream" in response.json()["detail"]


async def test_bad_fields_are_refused_before_the_file_is_stored(
    api: httpx.AsyncClient, storage: MediaStorage, tmp_path: Path
) -> None:
    video = unique_clip(tmp_path / "c.mp4")
    before = await stored_files(storage)
    for data, field in (({"recorded_at": "yesterday"}, "recorded_at"), ({"metadata": "{nope"}, "metadata")):
        response = await api.post(UPLOAD, files={"file": video.open("rb")}, data=data)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", field]
    assert await stored_files(storage) == before


async def test_an_upload_over_the_limit_is_a_413(settings: Settings, tmp_path: Path) -> None:
    small = settings.model_copy(update={"upload_max_bytes": 1000})
    video = unique_clip(tmp_path / "c.mp4")
    async with api_on(small) as api:
        response = await api.post(UPLOAD, files={"file": video.open("rb")})
    assert response.status_code == 413


async def test_no_file_outside_the_library_is_ever_served(
    api: httpx.AsyncClient, media_dir: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"secret")
    (media_dir / "linked.mp4").unlink(missing_ok=True)
    (media_dir / "linked.mp4").symlink_to(secret)
    for file_path, status in (("/linked.mp4", 201), ("/clips/not-yet.mp4", 201), ("../secret.mp4", 422)):
        created = await api.post("/api/v1/clips", json={"title": "t", "file_path": file_path})
        assert created.status_code == status, created.text
        if status == 201:
            served = await api.get(f"/api/v1/clips/{created.json()['id']}/media")
            assert served.status_code == 404
            assert b"secret" not in served.content


async def test_range_requests_as_players_make_them(
    api: httpx.AsyncClient, storage: MediaStorage, tmp_path: Path
) -> None:
    video = unique_clip(tmp_path / "seek.mp4", seconds=1)
    content, size = video.read_bytes(), video.stat().st_size
    clip = (await api.post(UPLOAD, files={"file": video.open("rb")})).json()
    media = f"/api/v1/clips/{clip['id']}/media"
    tail = await api.get(media, headers={"Range": "bytes=-100"})
    assert (tail.status_code, tail.content) == (206, content[-100:])
    assert tail.headers["content-range"] == f"bytes {size - 100}-{size - 1}/{size}"
    rest = await api.get(media, headers={"Range": f"bytes={size - 10}-"})
    assert (rest.status_code, rest.content) == (206, content[-10:])
    past = await api.get(media, headers={"Range": f"bytes={size}-"})
    assert (past.status_code, past.headers["content-range"]) == (416, f"bytes */{size}")
    several = await api.get(media, headers={"Range": "bytes=0-1,5-6"})
    assert (several.status_code, several.content) == (200, content), "several ranges: the whole file"
    etag = several.headers["etag"]
    assert (await api.get(media, headers={"If-None-Match": etag})).status_code == 304
    stale = await api.get(media, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert (stale.status_code, stale.content) == (200, content), "If-Range with another ETag: all of it"


async def test_the_poster_and_storyboard_are_served_from_what_the_plugin_made(
    api: httpx.AsyncClient, storage: MediaStorage, sessions: async_sessionmaker[AsyncSession]
) -> None:
    clip_id = uuid.uuid4()
    async with sessions() as session, session.begin():  # no clip.captured: no runner of the
        # session's stack (if it runs) overwrites the result this test writes
        session.add(Clip(id=clip_id, title="pictured", file_path="/clips/pictured.mp4"))
    assert (await api.get(f"/api/v1/clips/{clip_id}/thumbnail")).status_code == 404, "not made yet"
    files = {
        "poster.jpg": b"\xff\xd8jpeg",
        "storyboard.jpg": b"\xff\xd8sprite",
        "storyboard.vtt": b"WEBVTT\n",
    }
    index = {"sprite": "storyboard.jpg", "tiles": [{"timestamp": 0.0, "x": 0, "y": 0, "w": 160, "h": 90}]}
    files["storyboard.json"] = json.dumps(index).encode()
    for name, content in files.items():
        await obstore.put_async(storage.store, artifact_key(clip_id, "thumbnails", name), content)
    async with sessions() as session, session.begin():
        row = await session.get(Clip, clip_id)
        assert row is not None
        row.clip_metadata = {
            "plugins": {
                "thumbnails": {
                    "poster": {"file": "poster.jpg"},
                    "storyboard": {
                        "file": "storyboard.jpg",
                        "index": "storyboard.json",
                        "vtt": "storyboard.vtt",
                    },
                }
            }
        }
    poster = await api.get(f"/api/v1/clips/{clip_id}/thumbnail")
    assert (poster.status_code, poster.headers["content-type"], poster.content) == (
        200,
        "image/jpeg",
        files["poster.jpg"],
    )
    board = (await api.get(f"/api/v1/clips/{clip_id}/storyboard")).json()
    assert board["tiles"] == index["tiles"]
    assert board["sprite"] == f"/api/v1/clips/{clip_id}/storyboard/storyboard.jpg"
    assert (await api.get(board["sprite"])).content == files["storyboard.jpg"]
    vtt = await api.get(board["vtt"])
    assert (vtt.headers["content-type"].split(";")[0], vtt.content) == ("text/vtt", b"WEBVTT\n")
    for name in ("storyboard.json", "poster.jpg", "%2e%2e%2fposter.jpg"):
        response = await api.get(f"/api/v1/clips/{clip_id}/storyboard/{name}")
        assert response.status_code == 404, f"only the files the result names: {name}"

    assert (await api.delete(f"/api/v1/clips/{clip_id}")).status_code == 204
    assert not {k for k in await stored_files(storage) if k.startswith(f"artifacts/{clip_id}")}
    async with sessions() as session:
        tomb = await session.get(DeletedClip, clip_id)
    assert tomb is not None
    assert tomb.purged_at is not None, "the files went right after the commit"


async def test_files_a_delete_could_not_remove_are_swept_later(
    store_settings: Settings,
    storage: MediaStorage,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    clip_id = uuid.uuid4()
    key = upload_key(hashlib.sha256(clip_id.bytes).hexdigest(), ".mp4")
    await obstore.put_async(storage.store, key, b"video")
    await obstore.put_async(storage.store, artifact_key(clip_id, "thumbnails", "poster.jpg"), b"jpeg")
    async with sessions() as session, session.begin():  # as a delete whose purge failed leaves it
        session.add(DeletedClip(id=clip_id, file_path=f"/{key}"))
    assert await purge(sessions, storage, clip_ids=[clip_id]) == 1
    assert await storage.stat(key) is None
    assert not {k for k in await stored_files(storage) if k.startswith(f"artifacts/{clip_id}")}
    assert await purge(sessions, storage, clip_ids=[clip_id]) == 0, "done once"


async def test_an_upload_an_api_died_holding_is_dropped_later(storage: MediaStorage) -> None:
    fresh, stale = f"{INCOMING}/{uuid.uuid4().hex}", f"{INCOMING}/{uuid.uuid4().hex}"
    for key in (fresh, stale):
        await obstore.put_async(storage.store, key, b"half a video")
    assert await drop_stale_incoming(storage, older_than=timedelta(hours=1)) == 0, "one in progress stays"
    assert await drop_stale_incoming(storage, older_than=timedelta(0)) >= 2
    assert await storage.stat(f"/{stale}") is None


@pytest.mark.parametrize(
    ("headers", "body", "status", "reason"),
    [
        ({}, b"", 415, "multipart/form-data"),
        ({"Content-Type": "application/json"}, b"{}", 415, "multipart/form-data"),
        ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x\r\nnot a part", 400, ""),
        ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x--\r\n", 422, "file"),
    ],
)
async def test_a_body_that_is_not_an_upload_form_is_refused_with_the_reason(
    api: httpx.AsyncClient, headers: dict[str, str], body: bytes, status: int, reason: str
) -> None:
    response = await api.post(UPLOAD, headers=headers, content=body)
    assert response.status_code == status, response.text
    assert reason in response.text


async def test_a_picture_is_not_a_clip(api: httpx.AsyncClient, tmp_path: Path) -> None:
    """GIF, PNG: a decoder opens them, but no recorder writes them."""
    picture = tmp_path / "meme.gif"
    with av.open(str(picture), "w", format="gif") as out:
        stream = out.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "rgb8"
        for i in range(3):
            frame = av.VideoFrame(32, 32, "rgb24").reformat(format="rgb8")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    response = await api.post(UPLOAD, files={"file": picture.open("rb")})
    assert response.status_code == 415, response.text
    assert "a picture (gif)" in response.json()["detail"]


async def test_plugins_get_a_local_file_or_none(storage: MediaStorage, tmp_path: Path) -> None:
    """In place from a local library, a download from S3; None for a file not there (yet)."""
    key = f"clips/{uuid.uuid4().hex}.mp4"
    await obstore.put_async(storage.store, key, b"video bytes")
    scratch = tmp_path / "scratch"
    async with storage.local_file(f"/{key}", scratch) as path:
        assert path is not None
        assert path.read_bytes() == b"video bytes"
    async with storage.local_file("/clips/not-there.mp4", scratch) as missing:
        assert missing is None
    assert not any(scratch.glob("*")), "a download is deleted after the run"
