"""The plugin system in the running stack: plugins dropped into a folder while it runs,
enabled, configured, reloaded, disabled through the API; failures contained."""

from __future__ import annotations

import os
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RunningStack
from tests.e2e.helpers import plugin_named, processed_clip, results, set_enabled, until_clips_show
from tests.polling import until
from tests.seed import seed_plugin

pytestmark = pytest.mark.e2e


def drop(stack: RunningStack, name: str, code: str) -> Path:
    path = stack.plugin_dir / f"{name}.py"
    path.write_text(textwrap.dedent(code).replace("{name}", name))
    return path


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:6]}"


async def test_seed_plugin_dropped_in_a_folder_is_discovered_enabled_and_disabled(
    stack: RunningStack, client: httpx.AsyncClient
) -> None:
    name = unique("seed")
    drop(stack, name, seed_plugin(name))
    registered = await until(lambda: plugin_named(client, name))
    assert registered["source"] == "discovered"
    assert registered["enabled"] is False, "a discovered plugin waits to be enabled"
    assert registered["display_name"] == "My Awesome Plugin"

    await set_enabled(client, name, True)
    clip = await until_clips_show(client, lambda c: name in results(c))
    assert results(clip)[name]["processed_by"] == "my_plugin"
    assert results(clip)[name]["_run"]["status"] == "ok"
    assert results(clip)["tag_suggester"]["_run"]["status"] == "ok", "the other plugins still run"

    await set_enabled(client, name, False)
    await until_clips_show(client, lambda c: name not in results(c))
    later = await processed_clip(client)
    assert name not in results(later)


CRASHER = """
from clipforge.sdk import PluginBase, PluginMetadata

class Crasher(PluginBase):
    @property
    def metadata(self):
        return PluginMetadata(name="{name}", display_name="Crasher", version="1.0.0")

    def on_clip_captured(self, clip_data):
        raise RuntimeError("plugin bug")
"""

SLEEPER = """
import time
from clipforge.sdk import PluginBase, PluginMetadata

class Sleeper(PluginBase):
    @property
    def metadata(self):
        return PluginMetadata(name="{name}", display_name="Sleeper", version="1.0.0")

    def on_clip_captured(self, clip_data):
        time.sleep(60)
"""


async def test_a_crashing_and_a_hanging_plugin_do_not_stop_the_others(
    stack: RunningStack, client: httpx.AsyncClient
) -> None:
    crasher, sleeper = unique("crasher"), unique("sleeper")
    drop(stack, crasher, CRASHER)
    drop(stack, sleeper, SLEEPER)
    hanging = await until(lambda: plugin_named(client, sleeper))
    response = await client.post(
        f"/api/v1/plugins/{hanging['id']}/config", json={"key": "timeout_s", "value": 1}
    )
    assert response.status_code == 201
    await set_enabled(client, crasher, True)
    await set_enabled(client, sleeper, True)
    try:
        clip = await until_clips_show(
            client, lambda c: crasher in results(c) and sleeper in results(c), timeout=60
        )
        assert results(clip)[crasher]["_run"]["status"] == "error"
        assert results(clip)[crasher]["_run"]["error"] == "RuntimeError: plugin bug"
        assert results(clip)[sleeper]["_run"]["status"] == "timeout"
        assert results(clip)[sleeper]["_run"]["duration_ms"] < 5000
        assert results(clip)["tag_suggester"]["_run"]["status"] == "ok"
        assert clip["status"] == "completed_with_errors"
    finally:
        await set_enabled(client, crasher, False)
        await set_enabled(client, sleeper, False)


# Configurable: `self.config` is its config_model's instance, and initialize() reads it too (a
# per-game override must reach both)
GREETER = """
from pydantic import BaseModel
from clipforge.sdk import PluginBase, PluginMetadata

class Greeting(BaseModel):
    greeting: str = "hello"

class Greeter(PluginBase):
    config_model = Greeting

    @property
    def metadata(self):
        return PluginMetadata(name="{name}", display_name="Greeter", version="1.0.0")

    def initialize(self):
        self.at_start = self.config.greeting

    async def on_clip_captured(self, clip_data):
        return {"greeting": self.config.greeting, "at_start": self.at_start}
"""


async def test_a_configuration_change_reaches_the_running_plugin(
    stack: RunningStack, client: httpx.AsyncClient
) -> None:
    name = unique("greeter")
    drop(stack, name, GREETER)
    plugin = await until(lambda: plugin_named(client, name))
    assert plugin["metadata"]["config_schema"]["properties"]["greeting"]["type"] == "string"
    bad = await client.post(f"/api/v1/plugins/{plugin['id']}/config", json={"key": "greeting", "value": 42})
    assert bad.status_code == 422, "checked against the plugin's own schema"
    await set_enabled(client, name, True)
    try:
        await until_clips_show(client, lambda c: results(c).get(name, {}).get("greeting") == "hello")
        created = await client.post(
            f"/api/v1/plugins/{plugin['id']}/config", json={"key": "greeting", "value": "hi"}
        )
        assert created.status_code == 201
        await until_clips_show(client, lambda c: results(c).get(name, {}).get("greeting") == "hi")
        await client.put(
            f"/api/v1/plugins/{plugin['id']}/config/{created.json()['id']}", json={"value": "bye"}
        )
        await until_clips_show(client, lambda c: results(c).get(name, {}).get("greeting") == "bye")
    finally:
        await set_enabled(client, name, False)


VERSIONED = """
from clipforge.sdk import PluginBase, PluginMetadata

class Versioned(PluginBase):
    @property
    def metadata(self):
        return PluginMetadata(name="{name}", display_name="Versioned", version="{version}")

    def on_clip_captured(self, clip_data):
        clip_data["metadata"]["generation"] = "{version}"
        return clip_data
"""


async def test_changed_code_is_reloaded_without_a_restart(
    stack: RunningStack, client: httpx.AsyncClient
) -> None:
    name = unique("versioned")
    path = drop(stack, name, VERSIONED.replace("{version}", "1.0.0"))
    await until(lambda: plugin_named(client, name))
    await set_enabled(client, name, True)
    try:
        await until_clips_show(client, lambda c: results(c).get(name, {}).get("generation") == "1.0.0")
        path.write_text(textwrap.dedent(VERSIONED).replace("{name}", name).replace("{version}", "2.0.0"))
        os.utime(path, (time.time() + 5, time.time() + 5))  # a new mtime even within one clock tick
        clip = await until_clips_show(client, lambda c: results(c).get(name, {}).get("generation") == "2.0.0")
        assert results(clip)[name]["_run"]["version"] == "2.0.0"
        assert (await plugin_named(client, name) or {})["version"] == "2.0.0"
    finally:
        await set_enabled(client, name, False)


async def test_a_plugin_that_fails_to_import_is_shown_with_its_error(
    stack: RunningStack, client: httpx.AsyncClient
) -> None:
    name = unique("broken")
    (stack.plugin_dir / f"{name}.py").write_text("from clipforge.sdk import PluginBase\ndef broken(:\n")
    plugin = await until(lambda: plugin_named(client, name))
    assert plugin["load_error"]
    assert "SyntaxError" in plugin["load_error"]
    assert plugin["enabled"] is False
    clip = await processed_clip(client)
    assert results(clip)["tag_suggester"]["_run"]["status"] == "ok", "the runner carries on"


async def test_the_native_plugin_runs_in_its_own_process(client: httpx.AsyncClient) -> None:
    plugin = await until(lambda: plugin_named(client, "clip_quality"))
    assert plugin["plugin_type"] == "rust"
    assert plugin["load_error"] is None
    clip = await processed_clip(client, resolution="2560x1440", fps=30, duration=10, file_size=2_500_000)
    quality: dict[str, Any] = results(clip)["clip_quality"]
    assert quality["_run"]["status"] == "ok"
    assert quality["resolution_class"] == "1440p"
    assert quality["pixels"] == 2560 * 1440
    assert quality["smooth"] is False
    assert quality["bitrate_kbps"] == 2000
