"""The web app's budgets, measured in a real browser: the library's first posters on a
10,000-clip database, and the size of the app's JavaScript.

The time is measured and reported (printed, and written to `test-artifacts/web/budgets.json`),
not asserted: these machines are shared and noisy. The size is asserted: it does not vary.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import re
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from PIL import Image, ImageDraw
from playwright.async_api import Browser, expect
from sqlalchemy.engine import make_url

from clipforge.media.library import artifact_key
from tests.auth import ADMIN_KEY
from tests.browser import ARTIFACTS, chromium, sign_in, tab
from tests.e2e.conftest import WEB_DIST, RunningStack, running_stack
from tests.servers import Servers, fresh_database

pytestmark = pytest.mark.e2e

CLIPS = 10_000
WITH_POSTERS = 96  # the newest two pages: what the library shows first
JS_BUDGET_BYTES = 300_000
FIRST_POSTERS = 4  # "the first posters": the first row

SEED = """
    INSERT INTO clips (id, title, file_path, game_name, status, duration, resolution, tags, created_at)
    SELECT gen_random_uuid(), 'Seeded clip ' || i, 'seed/' || i || '.mp4',
           (ARRAY['Valorant', 'Apex Legends', 'Rocket League', 'Fortnite'])[1 + i % 4],
           'completed', 5 + i % 55, '1920x1080', '["seeded"]'::jsonb, now() - make_interval(secs => i)
    FROM generate_series(1, $1) AS i
"""


def poster(text: str) -> bytes:
    picture = Image.new("RGB", (640, 360), (40 + hash(text) % 160, 90, 140))
    ImageDraw.Draw(picture).text((24, 160), text, fill=(255, 255, 255))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80)
    return out.getvalue()


async def seed_library(database_url: str, media_dir: Path) -> None:
    """CLIPS clips; the newest WITH_POSTERS have a poster as the thumbnails plugin leaves it."""
    url = make_url(database_url)
    conn = await asyncpg.connect(
        user=url.username, password=url.password, host=url.host, port=url.port, database=url.database
    )
    try:
        await conn.execute(SEED, CLIPS)
        newest = await conn.fetch("SELECT id FROM clips ORDER BY created_at DESC LIMIT $1", WITH_POSTERS)
        result = json.dumps({"plugins": {"thumbnails": {"poster": {"file": "poster.jpg"}}}})
        await conn.execute(
            "UPDATE clips SET metadata = $1::jsonb WHERE id = ANY($2::uuid[])",
            result,
            [r["id"] for r in newest],
        )
        await conn.execute("ANALYZE clips")
    finally:
        await conn.close()
    for row in newest:
        file = media_dir / artifact_key(row["id"], "thumbnails", "poster.jpg")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(poster(str(row["id"])[:8]))


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as running:
        yield running


async def page_poll_ms(stack: RunningStack) -> float:
    """The library polls its page every 3 s: the median time of that request on CLIPS clips."""
    async with stack.client() as api:
        times = []
        for _ in range(21):
            started = time.perf_counter()
            assert (await api.get("/api/v1/clips", params={"limit": 48})).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def gzipped_js_bytes() -> dict[str, int]:
    return {p.name: len(gzip.compress(p.read_bytes(), 9)) for p in sorted((WEB_DIST / "assets").glob("*.js"))}


async def test_the_library_shows_its_first_posters_quickly_on_ten_thousand_clips(
    servers: Servers, browser: Browser, tmp_path: Path
) -> None:
    database_url = await fresh_database(servers.database_url)
    media_dir = tmp_path / "media"
    await seed_library(database_url, media_dir)
    env = {**servers.addresses(), "DATABASE_URL": database_url, "CLIPFORGE_MEDIA_DIR": str(media_dir)}
    async with (
        running_stack(env, servers.kafka_users, only={"api"}) as stack,
        tab(browser, stack.api_url) as t,
    ):
        await sign_in(t.page, ADMIN_KEY)
        timings = []
        for _ in range(3):  # the first load warms the API's connections and Postgres' cache
            await t.page.goto(f"/?cache-bust={uuid.uuid4().hex[:6]}")
            shown_at = await t.page.wait_for_function(
                """(n) => {
                    const posters = [...document.querySelectorAll('img[alt^="Poster of"]')].slice(0, n);
                    const loaded = posters.every((p) => p.complete && p.naturalWidth > 0);
                    return posters.length === n && loaded && performance.now();
                }""",
                arg=FIRST_POSTERS,
                polling="raf",
                timeout=30_000,
            )
            timings.append(round(await shown_at.json_value()))
        await expect(t.page.get_by_text(re.compile(r"Showing 1–\d+ of 10,?000"))).to_be_visible()
        await t.screenshot("library-10k")
        t.assert_clean()
        poll_ms = await page_poll_ms(stack)

    sizes = gzipped_js_bytes()
    report = {
        "clips": CLIPS,
        "first_posters_ms": timings,
        "first_posters_budget_ms": 1000,
        "library_poll_ms_median": poll_ms,  # what each open library costs the API every 3 s
        "js_gzipped_bytes": sum(sizes.values()),
        "js_budget_bytes": JS_BUDGET_BYTES,
        "js_files": sizes,
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread((ARTIFACTS / "budgets.json").write_text, json.dumps(report, indent=2))
    js = sum(sizes.values())
    print(f"\nweb: first {FIRST_POSTERS} posters of {CLIPS:,}: {timings} ms; poll {poll_ms} ms; JS {js:,} B")
    assert js < JS_BUDGET_BYTES, sizes
