"""The plugins loaded in this worker, kept in step with the registry.

The registry in Postgres is the truth: on start the host loads the enabled set, and on every
`plugin.changed` it re-reads that plugin's row and loads, reloads or unloads it to match. So a
missed or reordered change message is repaired by the next one, or by a restart.

An enabled plugin this worker cannot load (no such plugin in its folders, an import error, a
failing `initialize()`) is still due on every clip, and reported `skipped` with the load error:
the clip says why it has no result from that plugin, and nothing runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clipforge.events import PluginResult, PluginRunStatus
from clipforge.sdk import PluginBase, PluginContext
from clipforge.storable import scrub_text
from clipforge_plugin_runner.discovery import Discovered, discover
from clipforge_plugin_runner.execution import call_hook, run_captured_hook, run_processed_hook
from clipforge_plugin_runner.registry import PluginRegistry, PluginState

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    plugin: PluginBase
    name: str
    version: str
    timeout: float


class PluginHost:
    def __init__(
        self, registry: PluginRegistry, folders: list[Path], default_timeout: float, max_result_bytes: int
    ) -> None:
        self.registry = registry
        self.folders = folders
        self.default_timeout = default_timeout
        self.max_result_bytes = max_result_bytes
        self.discovered: dict[str, Discovered] = {}
        self.loaded: dict[str, Loaded] = {}
        self.unloadable: dict[str, str] = {}  # enabled here, but failed to load: name -> why
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Discover, register what was found, and load the enabled plugins."""
        async with self._lock:
            self.discovered = await asyncio.to_thread(discover, self.folders)
            await self.registry.sync_discovered(self.discovered.values())
            for state in await self.registry.enabled():
                await self._load(state, reload=False)
        log.info("plugins loaded: %s", ", ".join(sorted(self.loaded)) or "none")

    async def rescan(self) -> None:
        """Pick up plugins added to the folders, and changed code, while the worker runs:
        register what is new, reload enabled plugins whose code changed."""
        async with self._lock:
            before = self.discovered
            self.discovered = await asyncio.to_thread(discover, self.folders)
            created = await self.registry.sync_discovered(self.discovered.values())
            if created:
                log.info("new plugins registered: %s", ", ".join(created))
            for state in await self.registry.enabled():
                old, new = before.get(state.name), self.discovered.get(state.name)
                changed = new is not None and (old is None or old.code_mtimes != new.code_mtimes)
                if state.name not in self.loaded or changed:
                    await self._load(state, reload=changed)

    async def refresh(self, name: str, *, reload_code: bool) -> None:
        """Bring one plugin in line with its registry row (enabled, configuration, existence)."""
        async with self._lock:
            state = await self.registry.get(name)
            if name not in self.discovered or reload_code:
                found = (await asyncio.to_thread(discover, self.folders)).get(name)
                if found is not None:
                    self.discovered[name] = found
            if state is None or not state.enabled:
                await self._unload(name)
            else:
                await self._load(state, reload=reload_code or name in self.loaded)

    async def _load(self, state: PluginState, *, reload: bool) -> None:
        found = self.discovered.get(state.name)
        if found is None or found.error:
            reason = (found.error if found else None) or "no plugin of that name in the plugin folders"
            log.warning("cannot load plugin %s: %s", state.name, reason.splitlines()[0])
            await self._unload(state.name)
            await self._cannot_load(state.name, reason)
            return
        await self._unload(state.name)
        try:
            plugin = found.instantiate(reload=reload)
            config = type(plugin).parse_config(state.config)
            plugin.context = PluginContext(logging.getLogger(f"plugin.{state.name}"), config)
            await call_hook(plugin.initialize)
        except Exception as exc:
            log.exception("plugin %s failed to initialize", state.name)
            await self._cannot_load(state.name, scrub_text(f"{type(exc).__name__}: {exc}"))
            return
        version = found.metadata.version if found.metadata else "0.0.0"
        declared = found.metadata.timeout_s if found.metadata else None
        timeout = float(state.config.get("timeout_s", declared or self.default_timeout))
        self.loaded[state.name] = Loaded(plugin, state.name, version, timeout)
        self.unloadable.pop(state.name, None)
        await self.registry.record_error(state.name, None)
        log.info("plugin %s %s loaded", state.name, version)

    async def _cannot_load(self, name: str, reason: str) -> None:
        self.unloadable[name] = reason
        await self.registry.record_error(name, reason)

    async def _unload(self, name: str) -> None:
        self.unloadable.pop(name, None)
        loaded = self.loaded.pop(name, None)
        if loaded is None:
            return
        try:
            async with asyncio.timeout(loaded.timeout):
                await call_hook(loaded.plugin.shutdown)
        except Exception:
            log.exception("plugin %s failed to shut down", name)
        log.info("plugin %s unloaded", name)

    async def stop(self) -> None:
        async with self._lock:
            for name in list(self.loaded):
                await self._unload(name)

    def due(self, only: list[str] | None) -> list[str]:
        """The plugins a run covers: every enabled one (loaded or not), or the ones asked for."""
        return sorted({*self.loaded, *self.unloadable}) if only is None else sorted(set(only))

    async def run_captured(
        self, clip: dict[str, Any], due: list[str], *, partial_after: float, artifacts: Path | None = None
    ) -> AsyncIterator[list[PluginResult]]:
        """Run every due plugin on the clip, concurrently, each under its own time limit. Each
        gets its own empty `clip_data["artifacts_dir"]` under `artifacts` for the files it makes.

        Yields the results in at most two pieces: if some plugins are still running after
        `partial_after` seconds, what has finished is reported first, so the clip shows its
        fast results (and the status "processing") while the slow ones work."""
        skipped = [self._skipped(n) for n in due if n not in self.loaded]
        tasks = [
            asyncio.create_task(
                run_captured_hook(
                    p.plugin.on_clip_captured,
                    _with_artifacts_dir(clip, artifacts, p.name),
                    plugin=p.name,
                    version=p.version,
                    timeout=p.timeout,
                    max_result_bytes=self.max_result_bytes,
                )
            )
            for p in (self.loaded[n] for n in due if n in self.loaded)
        ]
        if not tasks:
            yield skipped
            return
        done, pending = await asyncio.wait(tasks, timeout=partial_after)
        if pending and done:
            yield skipped + [t.result() for t in done]
            skipped = []
            done, _ = await asyncio.wait(pending)
        elif pending:
            done, _ = await asyncio.wait(pending)
            done |= set(tasks)
        yield skipped + [t.result() for t in tasks if t in done]

    def _skipped(self, name: str) -> PluginResult:
        """The result of a due plugin that is not loaded here, saying why."""
        found = self.discovered.get(name)
        why = self.unloadable.get(name)
        return PluginResult(
            plugin=name,
            version=found.metadata.version if found and found.metadata else "",
            status=PluginRunStatus.SKIPPED,
            error=f"not loaded: {why}" if why else "plugin is not enabled",
        )

    async def run_processed(self, clip: dict[str, Any]) -> list[PluginResult]:
        """Call every enabled plugin's `on_clip_processed` hook; failures are contained and logged."""
        results = await asyncio.gather(
            *(
                run_processed_hook(
                    p.plugin.on_clip_processed, clip, plugin=p.name, version=p.version, timeout=p.timeout
                )
                for p in list(self.loaded.values())
                if p.plugin.handles("on_clip_processed")
            )
        )
        for r in results:
            if r.status is not PluginRunStatus.OK:
                log.warning("on_clip_processed of %s: %s %s", r.plugin, r.status.value, r.error or "")
        return list(results)


def _with_artifacts_dir(clip: dict[str, Any], root: Path | None, plugin: str) -> dict[str, Any]:
    if root is None:
        return {**clip, "artifacts_dir": None}
    folder = root / plugin
    folder.mkdir(parents=True, exist_ok=True)
    return {**clip, "artifacts_dir": str(folder)}
