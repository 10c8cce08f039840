"""Runs the services as child processes the way docker compose would: each log line prefixed
with its service, a service that dies restarted with back-off, all of them stopped on request."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

COLORS = ["36", "35", "33", "32", "34", "31"]


@dataclass
class Service:
    name: str
    argv: Sequence[str]
    env: dict[str, str] = field(default_factory=dict)
    replicas: int = 1


class _Child:
    def __init__(self, label: str, service: Service, color: str) -> None:
        self.label = label
        self.service = service
        self.color = color
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.stopping = False


class Supervisor:
    """Keeps every replica of every service running until `stop()`."""

    def __init__(
        self, services: Sequence[Service], *, restart: bool = True, out: TextIO | None = None
    ) -> None:
        self.restart = restart
        self._out = out or sys.stdout
        width = max(len(s.name) + (len(str(s.replicas)) + 1 if s.replicas > 1 else 0) for s in services)
        self.children: list[_Child] = []
        for i, svc in enumerate(services):
            for r in range(svc.replicas):
                label = svc.name if svc.replicas == 1 else f"{svc.name}.{r + 1}"
                self.children.append(_Child(label.ljust(width), svc, COLORS[i % len(COLORS)]))
        self._tasks: list[asyncio.Task[None]] = []
        self._color = hasattr(self._out, "isatty") and self._out.isatty()

    def say(self, label: str, line: str, color: str = "1") -> None:
        prefix = f"\033[{color}m{label} |\033[0m" if self._color else f"{label} |"
        print(f"{prefix} {line}", file=self._out, flush=True)

    async def start(self) -> None:
        for child in self.children:
            await self._spawn(child)
            self._tasks.append(asyncio.create_task(self._watch(child)))

    async def _spawn(self, child: _Child) -> None:
        env = {  # the service's own CLIPFORGE_INSTANCE, if it has one, wins over the label
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "CLIPFORGE_INSTANCE": child.label.strip(),
            **child.service.env,
        }
        child.proc = await asyncio.create_subprocess_exec(
            *child.service.argv,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C reaches us alone; we stop them in order
        )

    async def _watch(self, child: _Child) -> None:
        backoff = 1.0
        while True:
            proc = child.proc
            assert proc is not None
            assert proc.stdout is not None
            started = time.monotonic()
            async for raw in proc.stdout:
                self.say(child.label, raw.decode(errors="replace").rstrip(), child.color)
            code = await proc.wait()
            if child.stopping or not self.restart:
                return
            if time.monotonic() - started > 30:
                backoff = 1.0
            child.restarts += 1
            self.say(
                child.label, f"exited with code {code}; restart #{child.restarts} in {backoff:.0f}s", "1;31"
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 15.0)
            if child.stopping:
                return
            await self._spawn(child)

    def pids(self, name: str) -> list[int]:
        return [
            c.proc.pid
            for c in self.children
            if c.service.name == name and c.proc and c.proc.returncode is None
        ]

    async def stop(self, timeout: float = 15) -> None:
        for child in self.children:
            child.stopping = True
            if child.proc and child.proc.returncode is None:
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children:
            if child.proc is None:
                continue
            try:
                await asyncio.wait_for(child.proc.wait(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                self.say(child.label, "did not stop in time; killing", "1;31")
                child.proc.kill()
                await child.proc.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
