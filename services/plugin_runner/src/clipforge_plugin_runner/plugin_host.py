"""`python -m clipforge_plugin_runner.plugin_host serve|discover LIMITS`: where plugin code runs.

The worker starts one `serve` process per loaded plugin, long-lived, and talks to it over its
stdin and stdout in newline-delimited JSON frames (see `process.HostProcess` for the worker's
side):

    worker → host:  {"op": "load", "name", "source", "config", "game_configs", "timeout",
                     "max_result_bytes", "memory_mb", "cpu_s", "max_files"}   (once, first)
                    {"op": "call", "id": 7, "hook": "on_clip_captured", "clip": {...}, "game": null}
                    {"op": "shutdown"}
    host → worker:  {"op": "loaded", "handles": [...]}  or  {"op": "loaded", "error": "..."}
                    {"id": 7, "status": "ok", "result": {...}, "error": null, "duration_ms": 1.5}
                    {"op": "recycle", "reason": "..."}          (replace me when I am idle)
                    {"op": "bye"}

It limits itself to LIMITS (`sandbox.limit_self`) before it reads anything. Calls run
concurrently: async hooks on the event loop, sync ones on a thread pool, each under
its time limit, exactly as `clipforge.sdk.execution` runs them (in a plugin's own tests too);
native plugins start their executable per call
from here (`native.NativePlugin`), so they get this process's environment, user and limits.

`game_configs` holds the plugin's configuration for each game it has overrides for (see
`clipforge.plugin_scope`): the process loads one more instance of the plugin per such game, each
initialized with that configuration, and a call's `game` (null: none) says which instance runs it.

A `discover` process reads one frame, {"sources": [...]}, and answers each source in turn with
{"scanning": i} and then {"found": [...]}: when an import crashes or hangs the process, the
worker knows which source did it, and goes on with the others in a new process.

What the plugin prints goes to stderr (the worker's log), never into the protocol: the protocol
uses copies of the original stdin and stdout, and fds 0 and 1 become /dev/null and stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import inspect
import json
import logging
import os
import sys
import threading
from typing import Any

from clipforge.events import PluginRunStatus
from clipforge.sdk import PluginBase, PluginContext
from clipforge.sdk.execution import (
    HOOK_THREADS,
    HOST_THREADS,
    call_hook,
    run_captured_hook,
    run_processed_hook,
)
from clipforge.storable import scrub_text
from clipforge_plugin_runner.discovery import Discovered, scan_source, unscannable
from clipforge_plugin_runner.native import NativePlugin
from clipforge_plugin_runner.sandbox import cpu_seconds, limit_self

log = logging.getLogger("plugin-host")

HOOKS = ("on_clip_captured", "on_clip_processed")
MAX_FRAME = 64 * 1024 * 1024
PR_SET_CHILD_SUBREAPER = 36
STRAY_CHECK_S = 0.5  # at most this often when calls go well
HUNG_THREADS_BEFORE_RECYCLE = 4


def _protocol_fds() -> tuple[int, int]:
    """Keep the original stdin/stdout for the protocol; what plugins print goes to stderr."""
    proto_in, proto_out = os.dup(0), os.dup(1)  # not inherited by the processes plugins start
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return proto_in, proto_out


def _encode(frame: dict[str, Any]) -> bytes:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _children() -> list[int]:
    """This process's child processes (orphans of its descendants included: it is a subreaper)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.scandir("/proc/self/task"):
            with contextlib.suppress(OSError), open(f"/proc/self/task/{task.name}/children") as f:
                found += [int(c) for c in f.read().split()]
    return found


def _start_threads() -> None:
    """Start every thread of the hook pool now, before the process limits itself: later its
    threads never count against its process limit (see `sandbox.HEADROOM`)."""
    barrier = threading.Barrier(HOST_THREADS + 1)
    for _ in range(HOST_THREADS):
        HOOK_THREADS.submit(barrier.wait)
    barrier.wait()


class Outbox:
    """Frames written together: everything answered in one turn of the event loop is one write."""

    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self.transport = transport
        self.frames: list[bytes] = []

    def send(self, frame: dict[str, Any]) -> None:
        if not self.frames:
            asyncio.get_running_loop().call_soon(self._flush)
        self.frames.append(_encode(frame))

    def _flush(self) -> None:
        data, self.frames = b"".join(self.frames), []
        self.transport.write(data)


class Host:
    def __init__(self, out: Outbox, cpu_used: float) -> None:
        self.out = out
        self.cpu_used = cpu_used  # before the plugin was loaded
        self.plugin: PluginBase | None = None
        self.by_game: dict[str, PluginBase] = {}  # game key -> the plugin with that game's configuration
        self.name = ""
        self.timeout = 10.0
        self.max_result_bytes = 256 * 1024
        self.memory_mb = 0
        self.max_files = 256
        self.cpu_s = 0
        self.in_flight = 0
        self.hung = 0
        self.recycling = False
        self.last_stray_check = 0.0
        self.stray_check_due = False
        self.late_check = False
        self.tasks: set[asyncio.Task[None]] = set()

    async def handle(self, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        if op == "call":
            task = asyncio.create_task(self.call(frame))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif op == "load":
            self.out.send({"op": "loaded", **await self.load(frame)})
        elif op == "shutdown":  # then the worker kills this process and all it started
            await self.shutdown()
            self.out.send({"op": "bye"})

    async def load(self, frame: dict[str, Any]) -> dict[str, Any]:
        self.name = str(frame["name"])
        self.timeout = float(frame["timeout"])
        self.max_result_bytes = int(frame["max_result_bytes"])
        self.memory_mb = int(frame["memory_mb"])
        self.cpu_s = int(frame["cpu_s"])
        self.max_files = int(frame["max_files"])
        game = None  # whose configuration is being loaded (None: the plugin's own)
        try:
            found = [d for d in scan_source(frame["source"]) if d.name == self.name]
            if not found:
                return {"error": f"no plugin {self.name} found there any more"}
            if found[0].error:
                return {"error": found[0].error}
            plugin = await self._instance(found[0], frame["config"])
            for game, config in frame.get("game_configs", {}).items():
                self.by_game[game] = await self._instance(found[0], config, like=plugin)
        except MemoryError:
            return {"error": f"MemoryError: over its memory limit ({self.memory_mb} MB) while loading"}
        except Exception as exc:
            log.exception("plugin %s failed to initialize", self.name)
            where = f"with its configuration for game {game!r}: " if game is not None else ""
            return {"error": scrub_text(f"{where}{type(exc).__name__}: {exc}")}
        self.plugin = plugin
        return {"handles": [h for h in HOOKS if plugin.handles(h)]}

    async def _instance(
        self, found: Discovered, values: dict[str, Any], like: PluginBase | None = None
    ) -> PluginBase:
        """The plugin, initialized with this configuration. A plugin with per-game configuration
        has one instance more for each of those games (whose `initialize()` sees that game's
        configuration), `like` the first: a native plugin's instances share its process slots."""
        plugin = found.instantiate()
        if isinstance(plugin, NativePlugin):
            if isinstance(like, NativePlugin):
                plugin.slots = like.slots
            else:
                plugin.bound(self.max_files)
        config = type(plugin).parse_config(values)
        plugin.context = PluginContext(logging.getLogger(f"plugin.{self.name}"), config)
        await call_hook(plugin.initialize)
        return plugin

    async def call(self, frame: dict[str, Any]) -> None:
        assert self.plugin is not None
        hook_name = frame["hook"]
        # the clip's game's configuration, if the plugin has one for it
        hook = getattr(self.by_game.get(frame.get("game") or "", self.plugin), hook_name)
        self.in_flight += 1
        try:
            run = run_captured_hook if hook_name == "on_clip_captured" else run_processed_hook
            kwargs = {"max_result_bytes": self.max_result_bytes} if hook_name == "on_clip_captured" else {}
            result = await run(
                hook, frame["clip"], plugin=self.name, version="", timeout=self.timeout, **kwargs
            )
        finally:
            self.in_flight -= 1
        error = result.error
        if result.status is PluginRunStatus.TIMEOUT and not inspect.iscoroutinefunction(hook):
            self.hung += 1  # its thread runs on: Python cannot stop it
            if self.hung >= HUNG_THREADS_BEFORE_RECYCLE:
                self._recycle(f"{self.hung} calls hung past their time limit")
        if error and error.startswith("MemoryError"):
            error = f"MemoryError: over its memory limit ({self.memory_mb} MB)"
            self._recycle("it ran out of memory")
        if result.status is PluginRunStatus.ERROR or result.status is PluginRunStatus.TIMEOUT:
            self.stray_check_due = True
        strays = self._strays()
        if strays and error and f"[Errno {errno.EAGAIN}]" in error:
            error += f" (at its process limit, with {strays} processes started)"
        answer = {
            "id": frame["id"],
            "status": result.status.value,
            "result": result.result,
            "error": error,
            "duration_ms": result.duration_ms,
        }
        try:
            self.out.send(answer)
        except (TypeError, ValueError) as exc:  # checked already, but never let one answer be lost
            self.out.send({**answer, "status": "error", "result": {}, "error": f"result: {exc}"})
        if self.cpu_s and cpu_seconds() - self.cpu_used > self.cpu_s / 2:
            self._recycle(f"it used half of its CPU time budget ({self.cpu_s} s)")

    def _strays(self) -> int:
        """Processes left behind by calls that are over (a fork bomb's, say): counted when no call
        is running (a running call's child processes are its own business), at once after a
        failed call, else at most every STRAY_CHECK_S."""
        if self.in_flight or self.recycling:
            return 0
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self.stray_check_due and now - self.last_stray_check < STRAY_CHECK_S:
            if not self.late_check:
                self.late_check = True
                loop.call_later(STRAY_CHECK_S, self._late_stray_check)
            return 0
        self.stray_check_due = False
        self.last_stray_check = now
        strays = len(_children())
        if strays:
            self._recycle(f"it left {strays} processes running")
        return strays

    def _late_stray_check(self) -> None:
        self.late_check = False
        self.stray_check_due = True
        self._strays()

    def _recycle(self, reason: str) -> None:
        if not self.recycling:
            self.recycling = True
            log.warning("plugin %s: %s; asking to be replaced", self.name, reason)
            self.out.send({"op": "recycle", "reason": reason})

    async def shutdown(self) -> None:
        if self.plugin is None:
            return
        for plugin in [self.plugin, *self.by_game.values()]:
            try:
                async with asyncio.timeout(self.timeout):
                    await call_hook(plugin.shutdown)
            except Exception:
                log.exception("plugin %s failed to shut down", self.name)


def _exit(code: int) -> None:
    """Leave now: a hung plugin thread must not keep the process alive."""
    logging.shutdown()
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(code)


async def serve(proto_in: int, proto_out: int, cpu_used: float) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_FRAME)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(proto_in, "rb", 0))
    transport, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(proto_out, "wb", 0))
    host = Host(Outbox(transport), cpu_used)
    while True:
        try:
            line = await reader.readline()
        except ValueError:
            log.error("a request over %d bytes", MAX_FRAME)
            _exit(2)
        if not line:  # the worker is gone
            _exit(0)
        await host.handle(json.loads(line))


def discover(proto_in: int, proto_out: int) -> None:
    with os.fdopen(proto_in, "rb") as requests:
        sources = json.loads(requests.readline())["sources"]
    with os.fdopen(proto_out, "wb", 0) as out:
        for i, source in enumerate(sources):
            out.write(_encode({"scanning": i}))
            try:
                found = [d.to_json() for d in scan_source(source)]
            except BaseException as exc:  # a plugin calling sys.exit() on import, say
                found = [unscannable(source, scrub_text(f"{type(exc).__name__}: {exc}")).to_json()]
            out.write(_encode({"found": found}))
    _exit(0)


def main() -> None:
    proto_in, proto_out = _protocol_fds()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(Exception):  # orphans of its descendants stay its children
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    mode, spec = sys.argv[1], json.loads(sys.argv[2])
    if mode == "discover":
        limit_self(spec)
        discover(proto_in, proto_out)
        return
    _start_threads()
    cpu_used = limit_self(spec)
    if sys.version_info < (3, 12):  # native plugins: wait for processes in the loop (see __main__)
        asyncio.set_child_watcher(asyncio.PidfdChildWatcher())
    asyncio.run(serve(proto_in, proto_out, cpu_used))


if __name__ == "__main__":
    main()
