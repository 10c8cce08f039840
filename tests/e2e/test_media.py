"""Videos through the running stack, with the files in a local folder and in S3 (S3Proxy): an
upload gets its real properties, a poster, a storyboard and highlights on its loud moments, plays
back with Range, and leaves nothing behind when deleted. A clip registered before its file is
there completes, its media plugins skipped with the reason; one registered with its fields left
empty gets them from the file."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import httpx
import obstore
import pytest
from PIL import Image

from clipforge.media.storage import MediaStorage
from clipforge.settings import Settings
from tests.e2e.conftest import RunningStack
from tests.e2e.helpers import FINAL, create_clip, results, wait_for_clip
from tests.media import make_clip

pytestmark = pytest.mark.e2e

BURSTS = (1.0, 2.5)
MEDIA_PLUGINS = ("media_probe", "thumbnails", "highlight_detector")


@pytest.fixture(params=["local", "s3"])
def media_stack(request: pytest.FixtureRequest) -> RunningStack:
    running: RunningStack = request.getfixturevalue("stack" if request.param == "local" else "s3_stack")
    return running


async def stored_keys(stack: RunningStack, prefix: str) -> list[str]:
    storage = MediaStorage.from_settings(Settings.model_validate(stack.env))
    return [m["path"] async for batch in obstore.list(storage.store, prefix) for m in batch]


async def test_an_uploaded_video_is_probed_pictured_and_played(
    media_stack: RunningStack, tmp_path: Path
) -> None:
    video = make_clip(
        tmp_path / "Clutch.mp4",
        seconds=4,
        width=1280,
        height=720,
        fps=60,
        bursts=BURSTS,
        label=uuid.uuid4().hex,
    )
    async with media_stack.client() as client:
        response = await client.post("/api/v1/clips/upload", files={"file": video.open("rb")})
        assert response.status_code == 201, response.text
        clip_id = response.json()["id"]
        clip = await wait_for_clip(client, clip_id, lambda c: c["status"] in FINAL, timeout=60)
        assert clip["status"] == "completed", results(clip)
        assert (clip["resolution"], clip["fps"], clip["codec"]) == ("1280x720", 60, "h264")
        assert clip["duration"] == pytest.approx(4.0, abs=0.1)
        for plugin in MEDIA_PLUGINS:
            assert results(clip)[plugin]["_run"]["status"] == "ok", results(clip)[plugin]

        probe = results(clip)["media_probe"]
        assert (probe["video"]["resolution"], probe["video"]["average_fps"]) == ("1280x720", 60)
        assert probe["audio"]["codec"] == "aac"
        assert probe["disagreements"] == {}

        moments = results(clip)["highlight_detector"]["highlights"]
        for burst in BURSTS:
            assert any(m["kind"] == "loud" and abs(m["timestamp"] - burst) <= 0.5 for m in moments), moments

        poster = await client.get(f"/api/v1/clips/{clip_id}/thumbnail")
        assert (poster.status_code, poster.headers["content-type"]) == (200, "image/jpeg")
        picture = Image.open(io.BytesIO(poster.content))
        picture.load()  # decodes, whole
        assert picture.size == (640, 360)

        board = (await client.get(f"/api/v1/clips/{clip_id}/storyboard")).json()
        sprite = Image.open(io.BytesIO((await client.get(board["sprite"])).content))
        assert len(board["tiles"]) == results(clip)["thumbnails"]["storyboard"]["count"]
        assert all(
            t["x"] + t["w"] <= sprite.width and t["y"] + t["h"] <= sprite.height for t in board["tiles"]
        )
        assert (await client.get(board["vtt"])).text.startswith("WEBVTT")

        media = f"/api/v1/clips/{clip_id}/media"
        part = await client.get(media, headers={"Range": "bytes=1000-4999"})
        assert (part.status_code, part.headers["content-type"]) == (206, "video/mp4")
        assert part.headers["content-range"] == f"bytes 1000-4999/{video.stat().st_size}"
        assert part.content == video.read_bytes()[1000:5000]

        assert await stored_keys(media_stack, f"artifacts/{clip_id}/thumbnails/")
        assert (await client.delete(f"/api/v1/clips/{clip_id}")).status_code == 204
        assert (await client.get(media)).status_code == 404
        assert await stored_keys(media_stack, f"artifacts/{clip_id}/") == [], (
            "its poster and storyboard went too"
        )
        assert await stored_keys(media_stack, clip["file_path"].lstrip("/")) == [], "and the upload"


async def test_a_clip_without_its_file_completes_with_media_plugins_skipped(
    client: httpx.AsyncClient,
) -> None:
    created = await create_clip(client, file_path="/clips/copied-later.mp4")
    clip = await wait_for_clip(client, created["id"], lambda c: c["status"] in FINAL)
    for plugin in MEDIA_PLUGINS:
        assert results(clip)[plugin]["_run"]["status"] == "skipped"
        assert results(clip)[plugin]["_run"]["error"] == "no media file"
    assert clip["status"] == "completed"


async def test_fields_left_empty_are_read_from_the_file(client: httpx.AsyncClient, media_dir: Path) -> None:
    path = media_dir / "clips" / f"{uuid.uuid4().hex}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    make_clip(path, seconds=2, width=640, height=360, fps=30, label=path.stem)
    created = await client.post(
        "/api/v1/clips", json={"title": "registered", "file_path": f"/clips/{path.name}", "fps": 25.0}
    )
    assert created.status_code == 201, created.text
    clip = await wait_for_clip(client, created.json()["id"], lambda c: c["status"] in FINAL)
    assert (clip["resolution"], clip["codec"], clip["file_size"]) == ("640x360", "h264", path.stat().st_size)
    assert clip["duration"] == pytest.approx(2.0, abs=0.1)
    assert clip["fps"] == 25.0, "what the client gave stays"
    assert results(clip)["media_probe"]["disagreements"] == {"fps": {"clip": 25.0, "file": 30.0}}
