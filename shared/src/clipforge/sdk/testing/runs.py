"""`run_plugin`: one hook call, as the runner's host process makes it (see the package's
description)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from clipforge.events import PluginResult
from clipforge.sdk.execution import call_hook, run_captured_hook, run_processed_hook
from clipforge.sdk.plugin import PluginBase, PluginContext, SkipClip, sdk_mismatch
from clipforge.sdk.testing.clips import sample_clip

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
"""The runner's default time limit per hook (CLIPFORGE_PLUGIN_TIMEOUT_S's default)."""
RESULT_MAX_BYTES = 256 * 1024
"""The runner's default result size cap (CLIPFORGE_RESULT_MAX_BYTES's default)."""

Hook = Literal["on_clip_captured", "on_clip_processed"]
Plugin = PluginBase | type[PluginBase] | str | os.PathLike[str]
"""A plugin instance, its class, or the folder of a native plugin (its `plugin.json`)."""


class PluginLoadError(Exception):
    """The runner would not load the plugin; the message is what its `load_error` would say."""


def run_plugin(
    plugin: Plugin,
    clip: Mapping[str, Any] | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    media: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    hook: Hook = "on_clip_captured",
    max_result_bytes: int = RESULT_MAX_BYTES,
    artifacts_dir: str | os.PathLike[str] | None = None,
) -> PluginResult:
    """Load the plugin (`initialize()`), call one hook on the clip, and unload it (`shutdown()`),
    as the runner does; what the runner would report. In an async test, `run_plugin_async`.

    - `clip`: the clip's fields; the others come from `sample_clip()`.
    - `config`: its configuration, parsed by the class's `config_model` (a pydantic
      `ValidationError` where the runner would record a load error); `timeout_s` in it applies.
    - `media`: a video file, handed to the hook as `clip_data["media_path"]`.
    - `timeout`: the time limit; by default as the runner's (configuration, metadata, 10 s).
    - `artifacts_dir`: the folder a plugin that `writes_artifacts` writes into (by default a
      temporary one, removed after the call).

    An exception the hook raises becomes the run's `error`, as in the runner, and is logged with
    its traceback (pytest shows it beside a failing test)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # none running: the usual case
        return asyncio.run(
            run_plugin_async(
                plugin,
                clip,
                config=config,
                media=media,
                timeout=timeout,
                hook=hook,
                max_result_bytes=max_result_bytes,
                artifacts_dir=artifacts_dir,
            )
        )
    raise RuntimeError("run_plugin in an event loop (an async test): await run_plugin_async(...)")


async def run_plugin_async(
    plugin: Plugin,
    clip: Mapping[str, Any] | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    media: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    hook: Hook = "on_clip_captured",
    max_result_bytes: int = RESULT_MAX_BYTES,
    artifacts_dir: str | os.PathLike[str] | None = None,
) -> PluginResult:
    """`run_plugin` for async tests."""
    instance = _instance(plugin)
    metadata = type(instance).describe(instance.metadata)
    if mismatch := sdk_mismatch(metadata.sdk):
        raise PluginLoadError(f"the runner would not load {metadata.name}: {mismatch}")
    values = dict(config or {})
    logger = logging.getLogger(f"plugin.{metadata.name}")
    instance.context = PluginContext(logger, instance.parse_config(values))
    data = _clip(clip, media)
    limit = timeout or float(values.get("timeout_s", metadata.timeout_s or DEFAULT_TIMEOUT_S))
    await call_hook(instance.initialize)
    try:
        with _artifacts(metadata.writes_artifacts, artifacts_dir) as folder:
            data["artifacts_dir"] = folder
            call = _logging_errors(getattr(instance, hook), metadata.name)
            if hook == "on_clip_processed":
                return await run_processed_hook(
                    call, data, plugin=metadata.name, version=metadata.version, timeout=limit
                )
            return await run_captured_hook(
                call,
                data,
                plugin=metadata.name,
                version=metadata.version,
                timeout=limit,
                max_result_bytes=max_result_bytes,
            )
    finally:
        await call_hook(instance.shutdown)


def _clip(clip: Mapping[str, Any] | None, media: str | os.PathLike[str] | None) -> dict[str, Any]:
    fields = dict(clip or {})
    if media is not None:
        fields["media_path"] = os.path.abspath(media)
        fields.setdefault("file_path", Path(media).name)
    return dict(sample_clip(**fields))


def _instance(plugin: Plugin) -> PluginBase:
    if isinstance(plugin, PluginBase):
        return plugin
    if isinstance(plugin, type):
        return plugin()
    try:  # a native plugin runs through the runner's own class for it
        from clipforge_plugin_runner.native import NativePlugin, read_manifest
    except ModuleNotFoundError as exc:
        raise PluginLoadError(
            "running a native plugin needs the plugin runner (the clipforge-plugin-runner package)"
        ) from exc
    folder = Path(plugin)
    return NativePlugin(read_manifest(folder), folder)


@contextlib.contextmanager
def _artifacts(wanted: bool, given: str | os.PathLike[str] | None) -> Iterator[str | None]:
    """The hook's `artifacts_dir`: None unless the plugin `writes_artifacts` (as in the runner)."""
    if not wanted:
        yield None
    elif given is not None:
        Path(given).mkdir(parents=True, exist_ok=True)
        yield str(Path(given).resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="clipforge-artifacts-") as folder:
            yield folder


def _logging_errors(hook: Callable[..., Any], name: str) -> Callable[..., Any]:
    """The hook, logging an exception with its traceback before the runner's handling turns it
    into a one-line `error` (a test's reader wants to see where it came from)."""

    def logged(exc: Exception) -> None:
        if not isinstance(exc, SkipClip):
            log.error("%s raised in %s", name, hook.__name__, exc_info=exc)

    if inspect.iscoroutinefunction(hook):

        @functools.wraps(hook)
        async def async_call(*args: Any) -> Any:
            try:
                return await hook(*args)
            except Exception as exc:
                logged(exc)
                raise

        return async_call

    @functools.wraps(hook)
    def call(*args: Any) -> Any:
        try:
            return hook(*args)
        except Exception as exc:
            logged(exc)
            raise

    return call
