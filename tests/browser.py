"""A real browser for the web app's end-to-end tests: Debian's Chromium (`make bootstrap`
installs it; Playwright's own browser download does not work everywhere), driven by Playwright.

Every page a test opens records the console's errors and the page's uncaught exceptions, which
`Tab.assert_clean` fails on; `Tab.audit` runs axe-core and fails on serious or critical issues;
`Tab.screenshot` saves a picture to `test-artifacts/web/`, kept after the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, ConsoleMessage, Error, Page, async_playwright

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "web"
# Headless, and nothing that phones home: this machine's network is closed, and without these
# Chromium keeps retrying connections that are refused.
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests run as root here
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str:
    found = (
        os.environ.get("CLIPFORGE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not found:
        raise AssertionError(
            "no Chromium: `make bootstrap` (scripts/bootstrap-system.sh --browser) installs it"
        )
    return found


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Tab:
    page: Page
    problems: list[str] = field(default_factory=list)

    def assert_clean(self, *, allow: tuple[str, ...] = ()) -> None:
        """No console error and no uncaught exception since the tab opened (but those naming
        one of `allow`, e.g. a 409 the test provoked on purpose)."""
        unexpected = [p for p in self.problems if not any(a in p for a in allow)]
        assert not unexpected, "the browser reported:\n" + "\n".join(unexpected)

    async def audit(self, name: str) -> None:
        """axe-core on the page as it is: no serious or critical accessibility violation."""
        results = await Axe().run(self.page)
        bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
        detail = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in bad
        ]
        assert not bad, f"accessibility on {name}:\n" + "\n".join(detail)

    async def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path


@asynccontextmanager
async def tab(browser: Browser, base_url: str) -> AsyncIterator[Tab]:
    """A fresh browser context (nothing stored from another test) with one page."""
    context = await browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    opened = Tab(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            opened.problems.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_error(error: Error) -> None:
        opened.problems.append(f"uncaught: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    try:
        yield opened
    finally:
        await context.close()


async def sign_in(page: Page, key: str) -> None:
    await page.goto("/")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("navigation", name="Main").wait_for()
