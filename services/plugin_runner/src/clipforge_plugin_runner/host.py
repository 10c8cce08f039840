"""The plugins loaded in this worker, kept in step with the registry.

No plugin code runs in the worker: each loaded plugin runs in a process of its own
(`process.HostedPlugin`, confined as `sandbox` describes), and discovery runs in such processes
too. Enabling a plugin starts its process, disabling it stops it, and changed code or
configuration replaces it.

The registry in Postgres is the truth: on start the host loads the enabled set, and on every
`plugin.changed` it re-reads that plugin's row and loads, reloads or unloads it to match. So a
missed or reordered change message is repaired by the next one, or by a restart.

An enabled plugin this worker cannot load (no such plugin in its folders, an import error, an
`sdk` range without this SDK's version, a failing `initialize()`) is still due on every clip,
and reported `skipped` with the load error: the clip says why it has no result from that
plugin, and nothing runs.

A plugin limited to some games (`clipforge.plugin_scope`) is not due on other games' clips at
all: it neither runs nor reports there, so their runs complete without it. Named in a run (a
reprocess or a backfill asked for it before its scope changed), it is reported `skipped`. On its
games' clips it runs with that game's configuration.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from opentelemetry.trace import Span, Status, StatusCode

from clipforge.events import PluginResult, PluginRunStatus
from clipforge.logs import log_context
from clipforge.observability import tracing
from clipforge.plugin_scope import PluginScope
from clipforge.settings import Settings
from clipforge_plugin_runner.discovery import Discovered
from clipforge_plugin_runner.process import HostedPlugin, LoadFailed, discover_isolated
from clipforge_plugin_runner.registry import PluginRegistry, PluginState
from clipforge_plugin_runner.sandbox import Isolation, remove_stale_homes

log = logging.getLogger(__name__)

STARTING_WAIT_S = 60.0  # the most a clip waits for a plugin whose process is starting
EVERY_GAME = PluginScope()


class PluginHost:
    def __init__(
        self,
        registry: PluginRegistry,
        folders: list[Path],
        default_timeout: float,
        max_result_bytes: int,
        isolation: Isolation | None = None,
    ) -> None:
        self.registry = registry
        self.folders = folders
        self.default_timeout = default_timeout
        self.max_result_bytes = max_result_bytes
        self.isolation = isolation or Isolation.from_settings(Settings())
        self.isolation.plugin_folders = folders
        self.discovered: dict[str, Discovered] = {}
        self.loaded: dict[str, HostedPlugin] = {}
        self.unloadable: dict[str, str] = {}  # enabled here, but failed to load: name -> why
        self.starting: dict[str, asyncio.Event] = {}  # its process is starting: set once it has
        self.scopes: dict[str, PluginScope] = {}  # every enabled plugin's, loaded or not
        self._lock = asyncio.Lock()
        self._stopping: set[asyncio.Task[None]] = set()

    async def _discover(self) -> dict[str, Discovered]:
        return await discover_isolated(self.folders, self.isolation)

    async def start(self) -> None:
        """Discover, register what was found, and load the enabled plugins."""
        await asyncio.to_thread(remove_stale_homes, self.isolation.scratch_root)
        async with self._lock:
            self.discovered = await self._discover()
            await self.registry.sync_discovered(self.discovered.values())
            enabled = await self.registry.enabled()
            self._expect(len(enabled))
            await asyncio.gather(*(self._load(state, reload=False) for state in enabled))
        log.info("plugins loaded: %s", ", ".join(sorted(self.loaded)) or "none")

    async def rescan(self) -> None:
        """Pick up plugins added to the folders, and changed code, while the worker runs:
        register what is new, reload enabled plugins whose code changed."""
        async with self._lock:
            before = self.discovered
            self.discovered = await self._discover()
            created = await self.registry.sync_discovered(self.discovered.values())
            if created:
                log.info("new plugins registered: %s", ", ".join(created))
            enabled = await self.registry.enabled()
            self._expect(len(enabled))
            for state in enabled:
                old, new = before.get(state.name), self.discovered.get(state.name)
                changed = new is not None and (old is None or old.code_mtimes != new.code_mtimes)
                if state.name not in self.loaded or changed:
                    await self._load(state, reload=changed)

    async def refresh(self, name: str, *, reload_code: bool) -> None:
        """Bring one plugin in line with its registry row (enabled, configuration, existence)."""
        async with self._lock:
            state = await self.registry.get(name)
            if name not in self.discovered or reload_code:
                found = (await self._discover()).get(name)
                if found is not None:
                    self.discovered[name] = found
            if state is None or not state.enabled:
                await self._unload(name)
                self.scopes.pop(name, None)
            else:
                await self._load(state, reload=reload_code or name in self.loaded)

    def _expect(self, plugins: int) -> None:
        """How many plugin processes may run at once: one per plugin, and a few being replaced."""
        self.isolation.processes = max(self.isolation.processes, plugins + 3, len(self.loaded) + 3)

    async def _load(self, state: PluginState, *, reload: bool) -> None:
        """Start a process for the plugin as its row says; the one it had (if any) is stopped
        once the new one runs (so a reload leaves no gap)."""
        self.scopes[state.name] = state.scope
        found = self.discovered.get(state.name)
        if found is None or found.error:
            reason = (found.error if found else None) or "no plugin of that name in the plugin folders"
            log.warning("cannot load plugin %s: %s", state.name, reason.splitlines()[0])
            await self._unload(state.name)
            await self._cannot_load(state.name, reason)
            return
        self._expect(len(self.loaded) + 1)
        version = found.metadata.version if found.metadata else "0.0.0"
        declared = found.metadata.timeout_s if found.metadata else None
        timeout = float(state.config.get("timeout_s", declared or self.default_timeout))
        limits, problems = self.isolation.limits.lowered_by(state.config)
        for problem in problems:
            log.warning("plugin %s: configuration %s; the operator's limit applies", state.name, problem)

        async def load_error(error: str | None) -> None:
            await self.registry.record_error(state.name, error)

        plugin = HostedPlugin(
            state.name,
            version,
            found.source,
            state.config,
            timeout=timeout,
            limits=limits,
            isolation=self.isolation,
            max_result_bytes=self.max_result_bytes,
            on_load_error=load_error,
            scope=state.scope,
        )
        starting = self.starting.setdefault(state.name, asyncio.Event())
        try:
            await plugin.start()
        except (LoadFailed, OSError) as exc:
            log.warning(
                "plugin %s failed to load: %s", state.name, str(exc).splitlines()[0] if str(exc) else exc
            )
            await self._unload(state.name)
            await self._cannot_load(state.name, str(exc))
            return
        finally:
            self.starting.pop(state.name, None)
            starting.set()
        old = self.loaded.get(state.name)
        self.loaded[state.name] = plugin
        self.unloadable.pop(state.name, None)
        if old is not None:
            self._stop_later(old)
        await self.registry.record_error(state.name, None)
        log.info("plugin %s %s loaded (%s)", state.name, version, "reloaded" if reload else "started")

    async def _cannot_load(self, name: str, reason: str) -> None:
        self.unloadable[name] = reason
        await self.registry.record_error(name, reason)

    async def _unload(self, name: str) -> None:
        self.unloadable.pop(name, None)
        loaded = self.loaded.pop(name, None)
        if loaded is None:
            return
        self._stop_later(loaded)
        log.info("plugin %s unloaded", name)

    def _stop_later(self, plugin: HostedPlugin) -> None:
        """Stop a plugin's process once the calls it has are answered (new ones go elsewhere)."""
        task = asyncio.create_task(plugin.stop(drain=True), name=f"plugin-{plugin.name}-stop")
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def stop(self) -> None:
        async with self._lock:
            for name in list(self.loaded):
                await self._unload(name)
            await asyncio.gather(*list(self._stopping), return_exceptions=True)

    def loaded_plugins(self) -> dict[str, Any]:
        """What this worker runs, for its status report: each loaded plugin's version, and why
        an enabled one could not be loaded."""
        return {
            "plugins": [
                {"name": p.name, "version": p.version}
                for p in sorted(self.loaded.values(), key=lambda p: p.name)
            ],
            "unloadable": dict(self.unloadable),
        }

    def scope(self, name: str) -> PluginScope:
        """The plugin's scope as it runs here: the one its process was loaded with (until a new
        one replaces it, so that which games and which configuration go together)."""
        loaded = self.loaded.get(name)
        return loaded.scope if loaded is not None else self.scopes.get(name, EVERY_GAME)

    def due(self, only: list[str] | None, clip: Mapping[str, Any]) -> list[str]:
        """The plugins a run covers: every enabled one (loaded or not) whose scope includes the
        clip's game, or the ones asked for."""
        if only is not None:
            return sorted(set(only))
        enabled = {*self.loaded, *self.unloadable, *self.starting}
        return sorted(name for name in enabled if self.scope(name).includes_clip(clip))

    async def run_captured(
        self, clip: dict[str, Any], due: list[str], *, partial_after: float, artifacts: Path | None = None
    ) -> AsyncIterator[list[PluginResult]]:
        """Run every due plugin on the clip, concurrently, each under its own time limit. Each
        gets its own empty `clip_data["artifacts_dir"]` under `artifacts` for the files it makes.

        Yields the results in at most two pieces: if some plugins are still running after
        `partial_after` seconds, what has finished is reported first, so the clip shows its
        fast results (and the status "processing") while the slow ones work."""
        if starting := [self.starting[n].wait() for n in due if n not in self.loaded and n in self.starting]:
            # just enabled (or reloaded): its process is starting, not missing
            await asyncio.wait([asyncio.ensure_future(w) for w in starting], timeout=STARTING_WAIT_S)
        elsewhere = {n for n in due if not self.scope(n).includes_clip(clip)}
        skipped = [
            self._skipped(n, elsewhere=n in elsewhere) for n in due if n not in self.loaded or n in elsewhere
        ]
        tasks = [
            asyncio.create_task(self._captured(p, clip, artifacts))
            for p in (self.loaded[n] for n in due if n in self.loaded and n not in elsewhere)
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

    async def _captured(
        self, plugin: HostedPlugin, clip: dict[str, Any], artifacts: Path | None
    ) -> PluginResult:
        found = self.discovered.get(plugin.name)
        wants = found is not None and found.metadata is not None and found.metadata.writes_artifacts
        data = _with_artifacts_dir(clip, artifacts if wants else None, plugin.name)
        folder = data["artifacts_dir"]
        if folder is not None:
            self.isolation.give(Path(folder))
        try:
            return await _traced_call(plugin, "on_clip_captured", data)
        finally:
            if folder is not None:
                self.isolation.take_back(Path(folder))

    def _skipped(self, name: str, *, elsewhere: bool = False) -> PluginResult:
        """The result of a due plugin that does not run here, saying why: it is not loaded, or
        (`elsewhere`) it is limited to other games than the clip's."""
        found = self.discovered.get(name)
        why = self.unloadable.get(name)
        if elsewhere:
            error = "limited to other games than this clip's"
        else:
            error = f"not loaded: {why}" if why else "plugin is not enabled"
        return PluginResult(
            plugin=name,
            version=found.metadata.version if found and found.metadata else "",
            status=PluginRunStatus.SKIPPED,
            error=error,
        )

    async def run_processed(self, clip: dict[str, Any]) -> list[PluginResult]:
        """Call the `on_clip_processed` hook of every enabled plugin whose scope includes the
        clip's game; failures are contained and logged."""
        results = await asyncio.gather(
            *(
                _traced_call(p, "on_clip_processed", clip)
                for p in list(self.loaded.values())
                if "on_clip_processed" in p.handles and p.scope.includes_clip(clip)
            )
        )
        for r in results:
            if r.status is not PluginRunStatus.OK:
                log.warning("on_clip_processed of %s: %s %s", r.plugin, r.status.value, r.error or "")
        return list(results)


async def _traced_call(plugin: HostedPlugin, hook: str, clip: dict[str, Any]) -> PluginResult:
    """One plugin run, in a span of its own (`plugin <name>`, child of the clip's) and with the
    plugin in the log context."""
    with log_context(plugin=plugin.name), tracing.span(f"plugin {plugin.name}", hook=hook) as span:
        result = await plugin.call(hook, clip)
        _describe_run(span, result)
        return result


def _describe_run(span: Span, result: PluginResult) -> None:
    if not span.is_recording():
        return
    span.set_attributes(
        {
            "clipforge.plugin.version": result.version,
            "clipforge.plugin.status": result.status.value,
            "clipforge.plugin.duration_ms": result.duration_ms,
        }
    )
    if result.status in (PluginRunStatus.ERROR, PluginRunStatus.TIMEOUT):
        span.set_status(Status(StatusCode.ERROR, result.error or result.status.value))


def _with_artifacts_dir(clip: dict[str, Any], root: Path | None, plugin: str) -> dict[str, Any]:
    if root is None:
        return {**clip, "artifacts_dir": None}
    folder = root / plugin
    folder.mkdir(parents=True, exist_ok=True)
    return {**clip, "artifacts_dir": str(folder)}
