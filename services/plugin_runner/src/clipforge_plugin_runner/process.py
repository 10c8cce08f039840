"""The worker's side of plugin processes (see `plugin_host` for theirs and `sandbox` for how
they are confined).

`HostProcess` is one running plugin process: requests go out as JSON lines, written together
when several are sent in one turn of the event loop (a batch of clips is one write), and answers
come back by id. Its stderr goes to the worker's log, each line prefixed with the plugin's name.

`HostedPlugin` is one loaded plugin: it keeps a process running for it and answers every call
with a `PluginResult`, whatever happens to the process:
- the process dies (a segfault, `os._exit`, SIGXCPU at its CPU time limit): every call in flight
  there becomes an `error` saying how it died, and the next call starts a new process (after a
  back-off once it has crashed several times in a row);
- it does not answer a call within the call's time limit and a grace period: it is killed (the
  whole process tree) and the call is a `timeout`;
- it asks to be replaced (it ran out of memory, left processes behind, used half of its CPU
  time budget, has hung threads): new calls go to a new process, and the old one is stopped once
  its calls are answered.
What a process answers is checked here again (`checked_result`): plugin code runs there.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from clipforge.events import PluginResult, PluginRunStatus
from clipforge.logs import log_context
from clipforge.plugin_scope import PluginScope
from clipforge.sdk.execution import BadResult, checked_result, storable_error
from clipforge_plugin_runner.discovery import Discovered, first_of_each_name, sources, unscannable
from clipforge_plugin_runner.sandbox import (
    Isolation,
    Limits,
    exit_reason,
    kill_tree,
    limits_spec,
    plugin_env,
    remove_home,
)

log = logging.getLogger(__name__)

MODULE = "clipforge_plugin_runner.plugin_host"
ANSWER_GRACE_S = 3.0  # past a call's time limit, before the worker gives up on the process
LOAD_TIMEOUT_S = 120.0  # importing the plugin and its initialize()
STOP_TIMEOUT_S = 5.0
DISCOVERY_STALL_S = 60.0  # one source's import, at most
CRASHES_BEFORE_BACKOFF = 3
MAX_BACKOFF_S = 60.0
STATUSES = {s.value: s for s in PluginRunStatus}
LEVELS = {name: getattr(logging, name) for name in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")}


class HostDied(Exception):
    """The process ended (or was killed) before it answered; the message says how."""


class LoadFailed(Exception):
    """The plugin could not be loaded in a new process; the message says why."""


async def _spawn(name: str, mode: str, isolation: Isolation, limits: Limits, limit: int) -> tuple[Any, Path]:
    """Start a plugin process confined as `sandbox` describes."""
    user = isolation.user
    isolation.prepare()
    home = isolation.home(name)
    as_user: dict[str, Any] = {"user": user.uid, "group": user.gid, "extra_groups": []} if user else {}
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",  # nothing importable from the working directory (its HOME)
            "-s",
            "-m",
            MODULE,
            mode,
            json.dumps(limits_spec(limits, user, isolation.processes)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=plugin_env(home),
            cwd=home,
            start_new_session=True,  # its own process group: a kill reaches what it started
            limit=limit,
            **as_user,
        )
    except BaseException:
        remove_home(home)
        raise
    return proc, home


class HostProcess:
    """One running plugin process and the conversation with it."""

    def __init__(
        self, name: str, proc: Any, home: Path, limits: Limits, on_recycle: Callable[[HostProcess, str], None]
    ) -> None:
        self.name = name
        self.proc = proc
        self.home = home
        self.limits = limits
        self.on_recycle = on_recycle
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.control: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.next_id = 0
        self.frames: list[bytes] = []
        self.died: str | None = None  # why it is gone
        self.kill_reason: str | None = None
        self.recycle: str | None = None  # why it asked to be replaced
        self.idle = asyncio.Event()
        self.idle.set()
        self.closed = asyncio.Event()
        self.logger = logging.getLogger(f"plugin.{name}")
        # In contexts of their own: a process may start during one clip's call, and these outlive
        # it (its log context and trace must not stick to every line they log later).
        self._tasks = [
            asyncio.create_task(self._read(), name=f"plugin-{name}-read", context=contextvars.Context()),
            asyncio.create_task(
                self._relay_stderr(), name=f"plugin-{name}-stderr", context=contextvars.Context()
            ),
        ]

    @classmethod
    async def start(
        cls,
        name: str,
        isolation: Isolation,
        limits: Limits,
        max_frame: int,
        on_recycle: Callable[[HostProcess, str], None],
    ) -> HostProcess:
        proc, home = await _spawn(name, "serve", isolation, limits, max_frame)
        return cls(name, proc, home, limits, on_recycle)

    @property
    def pid(self) -> int:
        return int(self.proc.pid)

    @property
    def usable(self) -> bool:
        return self.died is None and self.kill_reason is None and self.recycle is None

    def send(self, frame: dict[str, Any]) -> None:
        if not self.frames:
            asyncio.get_running_loop().call_soon(self._flush)
        self.frames.append(json.dumps(frame, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")

    def _flush(self) -> None:
        data, self.frames = b"".join(self.frames), []
        if self.died is None and self.proc.stdin is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                self.proc.stdin.write(data)

    def request(self, frame: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        """Send a call; its answer arrives on the returned future (or `HostDied`)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if self.died is not None:
            future.set_exception(HostDied(self.died))
            return future
        self.next_id += 1
        self.pending[self.next_id] = future
        self.idle.clear()
        future.add_done_callback(functools.partial(self._done, self.next_id))
        self.send({**frame, "op": "call", "id": self.next_id})
        return future

    def _done(self, call_id: int, _future: object) -> None:
        self.pending.pop(call_id, None)
        if not self.pending:
            self.idle.set()

    async def _read(self) -> None:
        stdout = self.proc.stdout
        try:
            while line := await stdout.readline():
                frame = json.loads(line)
                if not isinstance(frame, dict):
                    raise ValueError("a frame that is not an object")
                if "id" in frame:
                    future = self.pending.get(frame["id"])
                    if future is not None and not future.done():
                        future.set_result(frame)
                elif frame.get("op") == "recycle":
                    self.recycle = str(frame.get("reason"))[:500]
                    self.on_recycle(self, self.recycle)
                else:
                    await self.control.put(frame)
        except (ValueError, asyncio.LimitOverrunError) as exc:  # too long, or not JSON: not ours to trust
            self.kill_reason = self.kill_reason or f"plugin process broke the protocol ({exc})"
        finally:
            await self._ended()

    async def _ended(self) -> None:
        """Its output closed: it exited, or will be made to."""
        if self.kill_reason is not None:
            kill_tree(self.pid)
        try:
            await asyncio.wait_for(asyncio.shield(self.proc.wait()), 2.0)
        except TimeoutError:
            self.kill_reason = self.kill_reason or "plugin process closed its output"
        kill_tree(self.pid)  # anything it left (its process group, at least)
        await self.proc.wait()
        self.died = self.kill_reason or exit_reason(self.proc.returncode, self.limits)
        for future in list(self.pending.values()):
            if not future.done():
                future.set_exception(HostDied(self.died))
        self.pending.clear()
        self.idle.set()
        await self.control.put({"op": "died", "error": self.died})
        remove_home(self.home)
        self.closed.set()

    async def _relay_stderr(self) -> None:
        with log_context(plugin=self.name):
            await relay_stderr(self.proc, self.name, self.logger)

    async def kill(self, reason: str) -> None:
        if self.died is None:
            self.kill_reason = self.kill_reason or reason
            kill_tree(self.pid)
        await self.closed.wait()

    async def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Let the plugin shut down, then kill the process and everything it started (while it
        still lives, so that its whole tree is found)."""
        if self.died is None:
            self.send({"op": "shutdown"})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    while (await self.control.get()).get("op") not in ("bye", "died"):
                        pass
        await self.kill("plugin process stopped")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class HostedPlugin:
    """One loaded plugin, served by a process of its own (see the module's description)."""

    def __init__(
        self,
        name: str,
        version: str,
        source: dict[str, str],
        config: dict[str, Any],
        *,
        timeout: float,
        limits: Limits,
        isolation: Isolation,
        max_result_bytes: int,
        on_load_error: Callable[[str | None], Awaitable[None]],
        scope: PluginScope | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self.source = source
        self.config = config
        self.scope = scope or PluginScope()
        """The games it runs on, and its configuration per game (loaded with it)."""
        self.config_hashes = self.scope.config_hashes(config)
        """Each game key's `config_hash` (None: the plugin's own configuration), for its results."""
        self.timeout = timeout
        self.limits = limits
        self.isolation = isolation
        self.max_result_bytes = max_result_bytes
        self.on_load_error = on_load_error
        self.handles: set[str] = set()
        self.proc: HostProcess | None = None
        self.retiring: set[asyncio.Task[None]] = set()
        self.crashes = 0  # in a row: with no call answered in between
        self.not_before = 0.0
        self.last_crash = ""
        self._lock = asyncio.Lock()
        self._stopped = False

    async def start(self) -> None:
        """Start its process and load the plugin there; `LoadFailed` if it cannot be."""
        async with self._lock:
            self.proc = await self._spawn()

    async def _spawn(self) -> HostProcess:
        # a frame holds a result (capped) plus its envelope; anything longer breaks the protocol
        max_frame = 2 * self.max_result_bytes + 64 * 1024
        proc = await HostProcess.start(self.name, self.isolation, self.limits, max_frame, self._replace_soon)
        proc.send(
            {
                "op": "load",
                "name": self.name,
                "source": self.source,
                "config": self.config,
                "game_configs": self.scope.configurations(self.config),
                "timeout": self.timeout,
                "max_result_bytes": self.max_result_bytes,
                "memory_mb": self.limits.memory_mb,
                "cpu_s": self.limits.cpu_s,
                "max_files": self.limits.max_files,
            }
        )
        try:
            reply = await asyncio.wait_for(proc.control.get(), max(LOAD_TIMEOUT_S, self.timeout))
        except TimeoutError:
            reply = {"error": f"loading took over {max(LOAD_TIMEOUT_S, self.timeout):g}s"}
        if reply.get("op") != "loaded" or reply.get("error"):
            await proc.kill("it could not be loaded")
            await proc.stop()
            raise LoadFailed(storable_error(str(reply.get("error") or "no answer to loading")))
        handles = reply.get("handles")
        self.handles = {str(h) for h in handles} if isinstance(handles, list) else set()
        return proc

    def _replace_soon(self, proc: HostProcess, reason: str) -> None:
        log.info("plugin %s: replacing its process (%s)", self.name, reason)
        if proc is self.proc:
            self.proc = None
            self._retire(proc)

    def _retire(self, proc: HostProcess) -> None:
        """Stop a process once the calls it has are answered (or their time is up)."""

        async def retire() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.idle.wait(), self.timeout + ANSWER_GRACE_S)
            await proc.stop()

        task = asyncio.create_task(retire(), name=f"plugin-{self.name}-retire")
        self.retiring.add(task)
        task.add_done_callback(self.retiring.discard)

    async def _live(self) -> HostProcess:
        """A process that takes calls: the current one, or a new one."""
        proc = self.proc
        if proc is not None and proc.usable:
            return proc
        async with self._lock:
            proc = self.proc
            if proc is not None and proc.usable:
                return proc
            if self._stopped:
                raise LoadFailed("plugin is unloaded")
            if proc is not None:
                self.proc = None
                if proc.died is not None:
                    self._crashed(proc.died)
                self._retire(proc)
            wait = self.not_before - time.monotonic()
            if wait > 0:
                raise LoadFailed(
                    f"its process failed {self.crashes} times in a row (last: {self.last_crash}); "
                    f"next try in {wait:.0f}s"
                )
            try:
                self.proc = await self._spawn()
            except LoadFailed as exc:
                self._crashed(str(exc))
                await self.on_load_error(str(exc))
                raise
            except OSError as exc:
                self._crashed(f"cannot start its process: {exc}")
                raise LoadFailed(self.last_crash) from exc
            if self.crashes:
                await self.on_load_error(None)
            return self.proc

    def _crashed(self, reason: str) -> None:
        self.crashes += 1
        self.last_crash = reason
        if self.crashes >= CRASHES_BEFORE_BACKOFF:
            backoff = min(MAX_BACKOFF_S, 2.0 ** (self.crashes - CRASHES_BEFORE_BACKOFF))
            self.not_before = time.monotonic() + backoff

    async def call(self, hook: str, clip: dict[str, Any]) -> PluginResult:
        """Run one hook on one clip in the plugin's process, with the configuration of the clip's
        game (its override over the plugin's own, if it has one); every outcome is a result."""
        started = time.perf_counter()
        game = self.scope.override_key_of(clip)
        config_hash = self.config_hashes[game]  # every result says which configuration it ran with
        try:
            proc = await self._live()
        except LoadFailed as exc:
            return self._result(PluginRunStatus.ERROR, started, config_hash, error=str(exc))
        future = proc.request({"hook": hook, "clip": clip, "game": game})
        try:
            answer = await asyncio.wait_for(future, self.timeout + ANSWER_GRACE_S)
        except TimeoutError:
            await proc.kill(f"it did not answer a call within {self.timeout:g}s")
            return self._result(
                PluginRunStatus.TIMEOUT, started, config_hash, error=f"no result within {self.timeout:g}s"
            )
        except HostDied as died:
            return self._result(PluginRunStatus.ERROR, started, config_hash, error=str(died))
        self.crashes = 0
        self.not_before = 0.0
        return self._answered(answer, started, config_hash)

    def _answered(self, answer: dict[str, Any], started: float, config_hash: str) -> PluginResult:
        """The process's answer, checked: plugin code ran there, so nothing in it is trusted."""
        status = STATUSES.get(answer.get("status"))  # type: ignore[arg-type]
        result, error, duration = answer.get("result"), answer.get("error"), answer.get("duration_ms")
        if (
            status is None
            or not isinstance(result, dict)
            or not (error is None or isinstance(error, str))
            or isinstance(duration, bool)
            or not isinstance(duration, int | float)
        ):
            return self._result(
                PluginRunStatus.ERROR, started, config_hash, error="plugin process sent a malformed answer"
            )
        if status is not PluginRunStatus.OK:
            result = {}
        try:
            result = checked_result(result, max_bytes=self.max_result_bytes)
        except BadResult as exc:
            return self._result(PluginRunStatus.ERROR, started, config_hash, error=storable_error(str(exc)))
        return PluginResult(
            plugin=self.name,
            version=self.version,
            status=status,
            result=result,
            error=storable_error(error) if error is not None else None,
            duration_ms=max(0.0, min(float(duration), (time.perf_counter() - started) * 1000)),
            config_hash=config_hash,
        )

    def _result(
        self, status: PluginRunStatus, started: float, config_hash: str, *, error: str
    ) -> PluginResult:
        return PluginResult(
            plugin=self.name,
            version=self.version,
            status=status,
            error=storable_error(error),
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            config_hash=config_hash,
        )

    async def stop(self, *, drain: bool = False) -> None:
        """Stop its process(es): the plugin's `shutdown()`, then a kill for what is left. With
        `drain`, once the calls in flight are answered (or their time is up)."""
        self._stopped = True
        async with self._lock:
            proc, self.proc = self.proc, None
        if drain and proc is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.idle.wait(), self.timeout + ANSWER_GRACE_S)
        stopping = [proc.stop(max(STOP_TIMEOUT_S, min(self.timeout, 30.0)))] if proc is not None else []
        await asyncio.gather(*stopping, *list(self.retiring), return_exceptions=True)


async def discover_isolated(folders: list[Path], isolation: Isolation) -> dict[str, Discovered]:
    """Every plugin found, by name, scanned in plugin processes (discovery runs plugin code)."""
    return await scan_isolated(sources(folders), isolation)


async def scan_isolated(todo: list[dict[str, str]], isolation: Isolation) -> dict[str, Discovered]:
    """The plugins these sources hold, by name, scanned in plugin processes: one after the
    other, a new process going on after the source that crashed or hung one."""
    found: list[Discovered] = []
    while todo:
        proc, home = await _spawn("discovery", "discover", isolation, isolation.limits, 64 * 1024 * 1024)
        stderr = asyncio.create_task(relay_stderr(proc, "discovery", logging.getLogger("plugin.discovery")))
        current, done = 0, 0
        try:
            proc.stdin.write(json.dumps({"sources": todo}).encode() + b"\n")
            with contextlib.suppress(ConnectionError):
                await proc.stdin.drain()
            proc.stdin.close()
            while done < len(todo):
                line = await asyncio.wait_for(proc.stdout.readline(), DISCOVERY_STALL_S)
                if not line:
                    break
                frame = json.loads(line)
                if "scanning" in frame:
                    current = int(frame["scanning"])
                elif "found" in frame:
                    for data in frame["found"]:
                        found.append(_checked_discovered(data, todo[current]))
                    done = current + 1
            reason = None
        except TimeoutError:
            reason = f"importing it took over {DISCOVERY_STALL_S:g}s"
        except ValueError as exc:
            reason = f"discovery broke the protocol: {exc}"
        kill_tree(proc.pid)
        await proc.wait()
        remove_home(home)
        await stderr
        if done < len(todo):
            why = reason or exit_reason(proc.returncode, isolation.limits)
            log.warning("discovery failed at %s: %s", todo[done].get("path", todo[done].get("value")), why)
            found.append(unscannable(todo[done], f"discovery failed while importing it: {why}"))
            done += 1
        todo = todo[done:]
    return first_of_each_name(found)


def _checked_discovered(data: Any, source: dict[str, str]) -> Discovered:
    try:
        found = Discovered.from_json(data)
    except Exception as exc:
        return unscannable(source, f"discovery reported it wrongly: {exc}")
    found.source = source  # what the worker listed, not what the process says
    return found


async def relay_stderr(proc: Any, name: str, logger: logging.Logger) -> None:
    """A plugin process's stderr, line by line, into the worker's log (prefixed with its name,
    at the level the line starts with, if any)."""
    rest = b""
    while chunk := await proc.stderr.read(65536):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        if len(rest) > 8192:
            lines.append(rest)
            rest = b""
        for raw in lines:
            _log_line(logger, name, raw)
    _log_line(logger, name, rest)


def _log_line(logger: logging.Logger, name: str, raw: bytes) -> None:
    line = raw.decode(errors="replace").rstrip()[:8192]
    if not line:
        return
    level_name, _, message = line.partition(" ")
    level = LEVELS.get(level_name)
    if level is None:
        level, message = logging.INFO, line
    logger.log(level, "[%s] %s", name, message)
