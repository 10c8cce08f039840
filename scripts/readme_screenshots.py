"""The README's pictures of the web app, taken from a running `make dev`: a few generated clips
are uploaded (once: uploads are deduplicated), then the library, a clip and a plugin's settings
are photographed in Chromium into docs/screenshots/.

    make dev                  # in one terminal
    make screenshots          # in another
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import chromium, sign_in, tab  # noqa: E402
from tests.media import make_clip  # noqa: E402

API = os.environ.get("CLIPFORGE_URL", "http://localhost:8000")
OUT = ROOT / "docs" / "screenshots"
CLIPS = [  # title, game, tags, loud moments, scene cuts
    ("Clutch 1v4 on Ascent", "Valorant", ["clutch", "ace"], (1.5, 4.0), (2.0,)),
    ("Last circle third party", "Apex Legends", ["endgame"], (3.0,), (1.0, 3.5)),
    ("Ceiling shot overtime winner", "Rocket League", ["goal", "overtime"], (2.5,), ()),
    ("No-scope across the map", "Counter-Strike 2", ["awp"], (1.0,), (2.5, 4.0)),
    ("Boss down with 1 HP", "Elden Ring", ["boss"], (4.5,), (3.0,)),
    ("Triple kill in the jungle", "League of Legends", ["multikill"], (2.0, 3.2), (1.5,)),
]


async def upload_all(api: httpx.AsyncClient, folder: Path) -> str:
    first = ""
    for variant, (title, game, tags, bursts, cuts) in enumerate(CLIPS):
        video = make_clip(
            folder / f"{title}.mp4", seconds=6, width=1280, height=720, fps=30,
            variant=variant, bursts=bursts, cuts=cuts,
        )  # fmt: skip
        with video.open("rb") as file:
            form = {"title": title, "game_name": game, "tags": tags}
            answer = await api.post("/api/v1/clips/upload", files={"file": file}, data=form)
        if answer.status_code not in (201, 409):
            raise SystemExit(f"upload of {title!r} failed: {answer.status_code} {answer.text}")
        first = first or answer.headers["location"].rsplit("/", 1)[-1]
    return first


async def main() -> None:
    key = os.environ.get("CLIPFORGE_KEY") or (ROOT / ".data" / "admin-key").read_text().strip()
    async with httpx.AsyncClient(base_url=API, headers={"Authorization": f"Bearer {key}"}, timeout=60) as api:
        with tempfile.TemporaryDirectory() as folder:
            clip_id = await upload_all(api, Path(folder))
        await asyncio.sleep(5)  # the plugins make posters and storyboards
        plugins = (await api.get("/api/v1/plugins")).json()["items"]
        highlight = next(p for p in plugins if p["name"] == "highlight_detector")
    OUT.mkdir(parents=True, exist_ok=True)
    async with chromium() as browser, tab(browser, API) as t:
        await sign_in(t.page, key)
        for name, path in [
            ("library", "/"),
            ("clip", f"/clips/{clip_id}"),
            ("plugins", "/plugins"),
            ("plugin-settings", f"/plugins/{highlight['id']}"),
        ]:
            await t.page.goto(path)
            await t.page.wait_for_load_state("networkidle")
            await t.page.screenshot(path=str(OUT / f"{name}.png"))
            print(OUT / f"{name}.png")


if __name__ == "__main__":
    asyncio.run(main())
