"""Videos through the running stack: an uploaded clip's media plugins read its file; a clip
registered before its file is there completes, its media plugins skipped with the reason."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import FINAL, create_clip, results, wait_for_clip
from tests.media import make_clip

pytestmark = pytest.mark.e2e


async def test_an_uploaded_video_is_probed_by_the_runners(client: httpx.AsyncClient, tmp_path: Path) -> None:
    video = make_clip(tmp_path / "Clutch.mp4", seconds=2, width=1280, height=720, fps=60, variant=1)
    response = await client.post("/api/v1/clips/upload", files={"file": video.open("rb")})
    assert response.status_code == 201, response.text
    clip = await wait_for_clip(client, response.json()["id"], lambda c: c["status"] in FINAL)
    probe = results(clip)["media_probe"]
    assert probe["_run"]["status"] == "ok"
    assert probe["video"]["resolution"] == "1280x720"
    assert probe["video"]["average_fps"] == 60
    assert probe["audio"]["codec"] == "aac"
    assert probe["disagreements"] == {}
    assert clip["status"] == "completed"


async def test_a_clip_without_its_file_completes_with_media_plugins_skipped(
    client: httpx.AsyncClient,
) -> None:
    created = await create_clip(client, file_path="/clips/copied-later.mp4")
    clip = await wait_for_clip(client, created["id"], lambda c: c["status"] in FINAL)
    assert results(clip)["media_probe"]["_run"]["status"] == "skipped"
    assert results(clip)["media_probe"]["_run"]["error"] == "no media file"
    assert clip["status"] == "completed"
