"""Uploading videos and playing them back, in-process against the real Postgres: what is stored,
what is refused (with nothing left behind), and Range requests a `<video>` element makes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from clipforge.settings import Settings
from tests.integration.inprocess import api_on
from tests.media import make_clip

pytestmark = pytest.mark.integration

UPLOAD = "/api/v1/clips/upload"


def stored_files(media_dir: Path) -> set[Path]:
    return {p for p in media_dir.rglob("*") if p.is_file()}


async def total(api: httpx.AsyncClient) -> int:
    count: int = (await api.get("/api/v1/clips", params={"limit": 1})).json()["total"]
    return count


async def test_an_upload_becomes_a_clip_with_the_file_s_own_properties(
    api: httpx.AsyncClient, media_dir: Path, tmp_path: Path
) -> None:
    video = make_clip(tmp_path / "Ace on Mirage.mp4", seconds=2, width=1280, height=720, fps=60)
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
    assert (media_dir / clip["file_path"].lstrip("/")).read_bytes() == video.read_bytes()

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
    assert not (media_dir / clip["file_path"].lstrip("/")).exists(), "an upload goes with its clip"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [("text.mp4", b"hello, not a video", "not a video"), ("empty.mp4", b"", "the file is empty")],
)
async def test_what_is_not_a_video_is_refused_and_nothing_is_stored(
    api: httpx.AsyncClient, media_dir: Path, name: str, content: bytes, reason: str
) -> None:
    before_files, before_clips = stored_files(media_dir), await total(api)
    response = await api.post(UPLOAD, files={"file": (name, content, "video/mp4")})
    assert response.status_code == 415
    assert reason in response.json()["detail"]
    assert stored_files(media_dir) == before_files
    assert await total(api) == before_clips


async def test_audio_alone_is_refused(api: httpx.AsyncClient, tmp_path: Path) -> None:
    audio = make_clip(tmp_path / "voice.m4a", video=False)
    response = await api.post(UPLOAD, files={"file": audio.open("rb")})
    assert response.status_code == 415
    assert "no video stream" in response.json()["detail"]


async def test_bad_fields_are_refused_before_the_file_is_stored(
    api: httpx.AsyncClient, media_dir: Path, tmp_path: Path
) -> None:
    video = make_clip(tmp_path / "c.mp4")
    before = stored_files(media_dir)
    for data, field in (({"recorded_at": "yesterday"}, "recorded_at"), ({"metadata": "{nope"}, "metadata")):
        response = await api.post(UPLOAD, files={"file": video.open("rb")}, data=data)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", field]
    assert stored_files(media_dir) == before


async def test_an_upload_over_the_limit_is_a_413(settings: Settings, tmp_path: Path) -> None:
    small = settings.model_copy(update={"upload_max_bytes": 1000})
    video = make_clip(tmp_path / "c.mp4")
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
