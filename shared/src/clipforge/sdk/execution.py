"""Running one plugin hook in isolation: a time limit, exceptions turned into results, and the
plugin's output turned into a result Postgres can store.

What a plugin returns is checked before it leaves the runner (NUL characters, lone surrogates,
NaN or Infinity, types JSON has not, nesting too deep, a size cap): one bad value would otherwise
fail the metadata service's whole merge batch. A result that fails the check makes that plugin's
run an `error` saying what was wrong and where (`result.text: NUL character`); the clip's other
plugins are not affected.

It lives in the SDK so that a plugin's tests (`clipforge.sdk.testing`) call hooks exactly as the
runner does. In the runner it runs in a plugin's host process (`plugin_host`), never in the worker.
Sync hooks run in a thread pool so they cannot block the event loop; a sync hook that hangs past
its limit is abandoned (Python cannot kill a thread) and its thread is written off (the host asks
to be replaced after a few). Native plugins run as processes and are killed instead.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from clipforge.events import PluginResult, PluginRunStatus
from clipforge.sdk.plugin import SkipClip
from clipforge.storable import encoded_size, scrub_text, value_problem

MAX_REASON_CHARS = 4000


def storable_error(text: str) -> str:
    """A run's `error` as it is stored: bounded, and nothing Postgres refuses."""
    return scrub_text(text[:MAX_REASON_CHARS])


HOST_THREADS = 16
HOOK_THREADS = ThreadPoolExecutor(max_workers=HOST_THREADS, thread_name_prefix="plugin-hook")


class BadResult(Exception):
    """The hook returned something that is not a result."""


async def call_hook(hook: Callable[..., Any], *args: Any) -> Any:
    """Await an async hook, or run a sync one off the event loop."""
    if inspect.iscoroutinefunction(hook):
        return await hook(*args)
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(HOOK_THREADS, functools.partial(hook, *args))
    if inspect.isawaitable(result):
        return await result
    return result


def extract_result(
    before: dict[str, Any], returned: Any, mutated: dict[str, Any], *, max_bytes: int
) -> dict[str, Any]:
    """What the plugin produced: the metadata keys it added or changed (seed-style plugins
    edit `clip_data["metadata"]` and return `clip_data`), or a plain dict it returned."""
    if returned is None:
        after = mutated.get("metadata", {})
    elif isinstance(returned, dict) and isinstance(returned.get("metadata"), dict):
        after = returned["metadata"]
    elif isinstance(returned, dict):
        return checked_result(returned, max_bytes=max_bytes)
    else:
        raise BadResult(f"hook returned {type(returned).__name__}; expected clip_data, a dict or None")
    if not isinstance(after, dict):
        raise BadResult(f"clip_data['metadata'] is a {type(after).__name__}; expected a dict")
    changed = {k: v for k, v in after.items() if k not in before or before[k] != v}
    return checked_result(changed, max_bytes=max_bytes)


def checked_result(result: dict[str, Any], *, max_bytes: int) -> dict[str, Any]:
    """The result, if Postgres can store it and it is within the size cap; else `BadResult`."""
    problem = value_problem(result, "result")
    if problem:
        raise BadResult(problem)
    size = encoded_size(result)
    if size > max_bytes:
        raise BadResult(f"result: {size} bytes as JSON, over the limit of {max_bytes}")
    return result


async def run_processed_hook(
    hook: Callable[..., Any], clip: dict[str, Any], *, plugin: str, version: str, timeout: float
) -> PluginResult:
    """Run a hook whose return value does not matter (`on_clip_processed`), contained likewise."""
    return await _contained(hook, clip, plugin=plugin, version=version, timeout=timeout, read=None)


async def run_captured_hook(
    hook: Callable[..., Any],
    clip: dict[str, Any],
    *,
    plugin: str,
    version: str,
    timeout: float,
    max_result_bytes: int,
) -> PluginResult:
    """Run `on_clip_captured` on a private copy of the clip and report what it gave."""
    before = copy.deepcopy(clip.get("metadata", {}))
    return await _contained(
        hook,
        clip,
        plugin=plugin,
        version=version,
        timeout=timeout,
        read=lambda returned, data: extract_result(before, returned, data, max_bytes=max_result_bytes),
    )


async def _contained(
    hook: Callable[..., Any],
    clip: dict[str, Any],
    *,
    plugin: str,
    version: str,
    timeout: float,
    read: Callable[[Any, dict[str, Any]], dict[str, Any]] | None,
) -> PluginResult:
    """Call the hook on a private copy of the clip under its time limit; a time-out or an
    exception (in the hook, or in `read`ing its result) becomes the result's status."""
    data = copy.deepcopy(clip)
    started = time.perf_counter()
    status, result, error = PluginRunStatus.OK, {}, None
    try:
        async with asyncio.timeout(timeout):
            returned = await call_hook(hook, data)
        if read is not None:
            result = read(returned, data)
    except TimeoutError:
        status, error = PluginRunStatus.TIMEOUT, f"no result within {timeout:g}s"
    except SkipClip as exc:
        status, error = PluginRunStatus.SKIPPED, storable_error(str(exc))
    except BadResult as exc:  # the message says what and where: `result.text: NUL character`
        status, error = PluginRunStatus.ERROR, storable_error(str(exc))
    except Exception as exc:
        status, error = PluginRunStatus.ERROR, storable_error(f"{type(exc).__name__}: {exc}")
    return PluginResult(
        plugin=plugin,
        version=version,
        status=status,
        result=result,
        error=error,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )
