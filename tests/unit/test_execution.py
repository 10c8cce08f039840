"""How a plugin's hook output becomes its result, and how failures are contained."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from clipforge.events import PluginRunStatus
from clipforge.sdk.execution import extract_result, run_captured_hook

LIMIT = 256 * 1024
CLIP = {"id": "c1", "title": "t", "metadata": {"user_key": "kept"}}


def test_seed_style_edit_yields_only_the_changed_keys() -> None:
    before = {"user_key": "kept"}
    returned = {"metadata": {"user_key": "kept", "processed_by": "my_plugin"}}
    assert extract_result(before, returned, {}, max_bytes=LIMIT) == {"processed_by": "my_plugin"}


def test_in_place_edit_with_none_returned_is_the_result() -> None:
    mutated = {"metadata": {"user_key": "changed", "n": 1}}
    assert extract_result({"user_key": "kept"}, None, mutated, max_bytes=LIMIT) == {
        "user_key": "changed",
        "n": 1,
    }


def test_plain_dict_is_the_result_as_it_is() -> None:
    assert extract_result({}, {"score": 0.9}, {}, max_bytes=LIMIT) == {"score": 0.9}


async def test_sync_seed_plugin_hook_runs_off_loop() -> None:
    def hook(clip_data: dict[str, Any]) -> dict[str, Any]:
        clip_data["metadata"]["processed_by"] = "my_plugin"
        return clip_data

    result = await run_captured_hook(
        hook, CLIP, plugin="p", version="1.0.0", timeout=5, max_result_bytes=LIMIT
    )
    assert result.status is PluginRunStatus.OK
    assert result.result == {"processed_by": "my_plugin"}
    assert CLIP["metadata"] == {"user_key": "kept"}, "the caller's clip must not be mutated"


async def test_exception_becomes_an_error_result() -> None:
    def hook(clip_data: dict[str, Any]) -> None:
        raise ValueError("bad frame")

    result = await run_captured_hook(
        hook, CLIP, plugin="p", version="1.0.0", timeout=5, max_result_bytes=LIMIT
    )
    assert result.status is PluginRunStatus.ERROR
    assert result.error == "ValueError: bad frame"
    assert result.result == {}


async def test_hanging_async_hook_times_out() -> None:
    async def hook(clip_data: dict[str, Any]) -> None:
        await asyncio.sleep(60)

    started = time.monotonic()
    result = await run_captured_hook(
        hook, CLIP, plugin="p", version="1.0.0", timeout=0.2, max_result_bytes=LIMIT
    )
    assert result.status is PluginRunStatus.TIMEOUT
    assert time.monotonic() - started < 5


async def test_hanging_sync_hook_times_out_without_blocking_the_loop() -> None:
    def hook(clip_data: dict[str, Any]) -> None:
        time.sleep(2)

    result = await run_captured_hook(
        hook, CLIP, plugin="p", version="1.0.0", timeout=0.2, max_result_bytes=LIMIT
    )
    assert result.status is PluginRunStatus.TIMEOUT


async def test_non_json_result_is_an_error() -> None:
    def hook(clip_data: dict[str, Any]) -> int:
        return 42

    result = await run_captured_hook(
        hook, CLIP, plugin="p", version="1.0.0", timeout=5, max_result_bytes=LIMIT
    )
    assert result.status is PluginRunStatus.ERROR
    assert "hook returned int" in (result.error or "")


async def test_a_result_postgres_cannot_store_is_that_plugins_error_saying_where() -> None:
    def hook(clip_data: dict[str, Any]) -> dict[str, Any]:
        clip_data["metadata"]["text"] = "a\x00b"
        return clip_data

    result = await run_captured_hook(
        hook, CLIP, plugin="p", version="1.0.0", timeout=5, max_result_bytes=LIMIT
    )
    assert result.status is PluginRunStatus.ERROR
    assert result.error == "result.text: NUL character"
    assert result.result == {}


async def test_an_exception_message_is_scrubbed_before_it_is_stored() -> None:
    def hook(clip_data: dict[str, Any]) -> None:
        raise ValueError("bad\x00byte")

    result = await run_captured_hook(
        hook, CLIP, plugin="p", version="1.0.0", timeout=5, max_result_bytes=LIMIT
    )
    assert result.error == "ValueError: bad\ufffdbyte"
