"""The web app in a real browser (Debian's Chromium, driven by Playwright) against the running
stack: the journey a player and an operator take, each page screenshotted to
`test-artifacts/web/` and checked by axe-core, with no console error along the way."""

from __future__ import annotations

import re
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.auth import ADMIN_KEY
from tests.browser import Tab, chromium, sign_in, tab
from tests.e2e.conftest import RunningStack
from tests.e2e.helpers import FINAL, plugin_named, results, wait_for_clip
from tests.media import make_clip
from tests.polling import until

pytestmark = pytest.mark.e2e

BURSTS = (1.5, 4.5)
CHECKER = """
from pydantic import BaseModel, Field
from clipforge.sdk import PluginBase, PluginMetadata

class Settings(BaseModel):
    sensitivity: float = Field(0.5, ge=0, le=1, title="Sensitivity", description="0 to 1")
    label: str = Field("checked", title="Label")

class Checker(PluginBase):
    config_model = Settings

    @property
    def metadata(self):
        return PluginMetadata(
            name="{name}", display_name="{display}", version="1.2.0", author="The web tests",
            description="Marks each clip it sees, for the web app's end-to-end test.",
        )

    async def on_clip_captured(self, clip_data):
        return {"checked": True, "label": self.config.label}
"""


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as running:
        yield running


def m_ss(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


async def current_time(page: Page) -> float:
    value: float = await page.evaluate("document.querySelector('video').currentTime")
    return value


async def poster_shown(page: Page, title: str) -> bool:
    shown: bool = await page.evaluate(
        """(alt) => { const img = document.querySelector(`img[alt="${alt}"]`);
                      return !!img && img.complete && img.naturalWidth > 0; }""",
        f"Poster of {title}",
    )
    return shown


async def test_a_clip_from_upload_to_playback_and_a_plugin_from_switch_to_backfill(
    stack: RunningStack, browser: Browser, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    name, display = f"web_checker_{tag}", f"Web Checker {tag}"
    (stack.plugin_dir / f"{name}.py").write_text(
        textwrap.dedent(CHECKER).replace("{name}", name).replace("{display}", display)
    )
    title = f"Ace round {tag}"
    video = make_clip(tmp_path / f"{title}.mp4", seconds=6, width=640, height=360, bursts=BURSTS, label=tag)

    async with stack.client() as api, tab(browser, stack.api_url) as t:
        plugin = await until(lambda: plugin_named(api, name), timeout=30)
        page = t.page
        await page.goto("/")
        await expect(page.get_by_label("API key")).to_be_visible()
        await t.screenshot("sign-in")
        await t.audit("sign-in")
        await sign_in(page, ADMIN_KEY)

        clip_id = await upload(t, video)
        await see_it_in_the_library(t, title)
        await play_it(t, api, clip_id)
        try:
            await switch_the_plugin(t, api, plugin, display)
            await refuse_a_bad_setting(t, api, plugin)
            await backfill(t, api, plugin)
        finally:  # the stack's other tests do not need it running on their clips
            await api.post(f"/api/v1/plugins/{plugin['id']}/disable")
        await manage_keys(t, api, tag)
        await delete_it(t, api, clip_id)
        t.assert_clean()


async def upload(t: Tab, video: Path) -> str:
    page = t.page
    await page.get_by_role("link", name="Upload").click()
    await expect(page.get_by_role("heading", name="Upload", level=1)).to_be_visible()
    await page.get_by_label("Choose video files").set_input_files(str(video))
    opened = page.get_by_role("link", name=re.compile(f"^Open {re.escape(video.stem)}"))
    await expect(opened).to_be_visible(timeout=30_000)
    await t.screenshot("upload")
    await t.audit("upload")
    href = await opened.get_attribute("href")
    found = re.search(r"/clips/([0-9a-f-]{36})$", href or "")
    assert found, href
    return found.group(1)


async def see_it_in_the_library(t: Tab, title: str) -> None:
    """It is listed at once, and its poster appears when the thumbnails plugin has run: no reload."""
    page = t.page
    await page.get_by_role("link", name="Library").click()
    await expect(page.get_by_role("heading", name="Library", level=1)).to_be_visible()
    await expect(page.get_by_role("link", name=title)).to_be_visible(timeout=10_000)
    await until(lambda: poster_shown(page, title), timeout=60, every=0.5)
    await page.get_by_label("Search").fill(title)
    await expect(page).to_have_url(re.compile(r"[?&]q="))
    await expect(page.get_by_role("link", name=title)).to_have_count(1)
    await t.screenshot("library")
    await t.audit("library")


async def play_it(t: Tab, api: httpx.AsyncClient, clip_id: str) -> None:
    """The video plays from the API (Range), and each highlight marker seeks it to its moment."""
    page = t.page
    await page.get_by_role("link", name=re.compile("Ace round")).first.click()
    await expect(page).to_have_url(re.compile(f"/clips/{clip_id}$"))
    clip = await wait_for_clip(api, clip_id, lambda c: c["status"] in FINAL, timeout=60)
    assert clip["status"] == "completed", results(clip)
    highlights: list[dict[str, Any]] = results(clip)["highlight_detector"]["highlights"]
    assert len(highlights) >= len(BURSTS)
    await page.wait_for_function("() => document.querySelector('video')?.readyState >= 1", timeout=30_000)
    for highlight in highlights:
        at = highlight_time(highlight)
        marker = page.get_by_role("button", name=f"Highlight at {m_ss(at)}").first
        await marker.click()
        assert abs(await current_time(page) - at) < 0.1, (at, highlight)
    started = await current_time(page)
    await page.evaluate(
        "() => { const v = document.querySelector('video'); v.muted = true; return v.play() }"
    )
    await page.wait_for_function(
        "(from) => document.querySelector('video').currentTime > from + 0.5", arg=started, timeout=30_000
    )  # it plays: decoded in the browser, streamed by Range requests
    await page.evaluate("() => document.querySelector('video').pause()")
    await expect(page.get_by_role("heading", name="media_probe")).to_be_visible()
    await t.screenshot("clip")
    await t.audit("clip")


def highlight_time(highlight: dict[str, Any]) -> float:
    for key in ("time", "at", "timestamp", "start"):
        if isinstance(highlight.get(key), int | float):
            return float(highlight[key])
    raise AssertionError(f"no time in {highlight}")


async def switch_the_plugin(t: Tab, api: httpx.AsyncClient, plugin: dict[str, Any], display: str) -> None:
    """The switch changes the registry at once, and a reload shows what the API holds."""
    page = t.page
    await page.get_by_role("link", name="Plugins").click()
    switch = page.get_by_role("switch", name=f"Enable {display}")
    await expect(switch).not_to_be_checked()
    for wanted in (True, False, True):
        await switch.click()
        await expect(switch).to_be_checked(checked=wanted)

        async def agrees(wanted: bool = wanted) -> bool:
            return (await api.get(f"/api/v1/plugins/{plugin['id']}")).json()["enabled"] is wanted

        await until(agrees, timeout=10)
    await page.reload()
    await expect(page.get_by_role("switch", name=f"Enable {display}")).to_be_checked()
    await t.screenshot("plugins")
    await t.audit("plugins")


async def refuse_a_bad_setting(t: Tab, api: httpx.AsyncClient, plugin: dict[str, Any]) -> None:
    """Out of the schema's range: the form says so by the field, and nothing reaches the API."""
    page = t.page
    await page.goto(f"/plugins/{plugin['id']}")
    sensitivity = page.get_by_label("Sensitivity")
    await sensitivity.fill("5")
    await page.get_by_role("button", name="Save settings").click()
    await expect(sensitivity).to_have_accessible_description(re.compile("must be <= 1"))
    config = (await api.get(f"/api/v1/plugins/{plugin['id']}/config")).json()["items"]
    assert "sensitivity" not in {row["key"] for row in config}, config
    await sensitivity.fill("0.75")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_text("Settings saved.")).to_be_visible()
    config = (await api.get(f"/api/v1/plugins/{plugin['id']}/config")).json()["items"]
    assert {row["key"]: row["value"] for row in config}.get("sensitivity") == 0.75
    await t.screenshot("plugin-settings")
    await t.audit("plugin-settings")


async def backfill(t: Tab, api: httpx.AsyncClient, plugin: dict[str, Any]) -> None:
    """Backfill runs the plugin over the clips that lack its result, with live progress to 100 %."""
    page = t.page
    async with page.expect_response(
        lambda r: r.url.endswith("/backfill") and r.request.method == "POST"
    ) as sent:
        await page.get_by_role("button", name="Backfill", exact=True).click()
    started = await (await sent.value).json()
    assert started["total"] >= 1, started
    progress = page.get_by_role("progressbar", name="Backfill progress")
    await expect(progress).to_be_visible()
    await expect(page.get_by_text("Backfill finished")).to_be_visible(timeout=120_000)
    await expect(progress).to_have_attribute("aria-valuenow", "100")
    done = (await api.get(f"/api/v1/plugins/{plugin['id']}/backfills/{started['id']}")).json()
    assert (done["done"], done["pending"], done["failed"]) == (started["total"], 0, 0), done
    await t.screenshot("plugin-backfill")


async def manage_keys(t: Tab, api: httpx.AsyncClient, tag: str) -> None:
    page = t.page
    await page.get_by_role("link", name="Keys").click()
    await page.get_by_label("Name").fill(f"viewer {tag}")
    await page.get_by_label("Role").select_option("viewer")
    await page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key-secret")
    await expect(secret).to_have_text(re.compile(r"^cf_"))
    key = (await secret.inner_text()).strip()
    assert (await api.get("/api/v1/clips", headers={"Authorization": f"Bearer {key}"})).status_code == 200
    await t.screenshot("keys")
    await t.audit("keys")
    await page.get_by_role("button", name=f"Revoke viewer {tag}").click()
    await page.get_by_role("button", name=f"Yes, revoke viewer {tag}").click()

    async def revoked() -> bool:
        answer = await api.get("/api/v1/clips", headers={"Authorization": f"Bearer {key}"})
        return answer.status_code == 401

    await until(revoked, timeout=10)


async def delete_it(t: Tab, api: httpx.AsyncClient, clip_id: str) -> None:
    page = t.page
    await page.goto(f"/clips/{clip_id}")
    await page.get_by_role("button", name="Delete", exact=True).click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Delete clip").click()
    await expect(page.get_by_role("heading", name="Library", level=1)).to_be_visible()
    assert (await api.get(f"/api/v1/clips/{clip_id}")).status_code == 404
