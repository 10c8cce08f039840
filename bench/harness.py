"""The bench's own servers and service processes, and what it notes about them (peak memory)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.http_load import BENCH_KEY
from bench.polling import until
from clipforge.settings import Settings
from clipforge_devstack.kafka import ADMIN, KafkaCredentials
from clipforge_devstack.paths import free_port
from clipforge_devstack.stack import Stack, python_service, service_env
from clipforge_devstack.supervisor import Service, Supervisor

PLUGINS = Path(__file__).parent / "plugins"
PROFILES = Path(__file__).parent / "profiles"
PROFILE_SUFFIX = {"flamegraph": "svg", "raw": "txt"}
PROFILE = [name for name in os.environ.get("BENCH_PROFILE", "").split(",") if name]
"""Services to sample with py-spy while they run (`make bench BENCH_PROFILE=api`): one
flame graph per process and stage in bench/profiles/."""


@dataclass
class Harness:
    env: dict[str, str]
    """What every service is given, but its Kafka login."""
    api_port: int
    log: TextIO
    kafka_users: KafkaCredentials | None = None
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    def admin_env(self) -> dict[str, str]:
        """`env`, logged in to Kafka as the super user (the bench's own Kafka clients)."""
        return {**self.env, **(self.kafka_users.env_for(ADMIN) if self.kafka_users else {})}

    @property
    def kafka(self) -> Settings:
        """The bench's own Kafka clients' settings (`clipforge.messaging.kafka_options`)."""
        env: dict[str, Any] = self.admin_env()
        return Settings(**env)

    @property
    def dsn(self) -> str:
        """The database as asyncpg spells it."""
        return (
            make_url(self.env["DATABASE_URL"])
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )

    def service(self, name: str, replicas: int = 1) -> Service:
        module = {
            "api": "clipforge_api",
            "plugin-runner": "clipforge_plugin_runner",
            "metadata": "clipforge_metadata",
        }
        return python_service(name, module[name], service_env(name, self.env, self.kafka_users), replicas)

    @contextlib.asynccontextmanager
    async def running(self, *services: Service) -> AsyncIterator[Supervisor]:
        supervisor = Supervisor(services, restart=False, out=self.log)
        await supervisor.start()
        profilers = [await _profile(name, pid) for name in PROFILE for pid in supervisor.pids(name)]
        try:
            if any(s.name == "api" for s in services):
                await wait_ready(f"http://127.0.0.1:{self.api_port}/health")
            yield supervisor
        finally:
            self._note_rss(supervisor)
            for profiler in profilers:
                profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
                await profiler.wait()
            await supervisor.stop()

    def _note_rss(self, supervisor: Supervisor) -> None:
        for child in supervisor.children:
            name = child.service.name
            for pid in supervisor.pids(name):
                mb = peak_rss_mb(pid)
                self.peak_rss_mb[name] = max(self.peak_rss_mb.get(name, 0.0), mb)

    async def only_enabled(self, *names: str) -> None:
        """Enable exactly these plugins. A runner registers what it discovers when it starts, so
        one runs first if the registry does not know them yet."""
        conn = await asyncpg.connect(self.dsn)
        try:

            async def registered() -> bool:
                known = await conn.fetchval("SELECT count(*) FROM plugins WHERE name = ANY($1)", list(names))
                return bool(known == len(names))

            if not await registered():
                async with self.running(self.service("plugin-runner")):
                    await until(registered, timeout=60, what=f"plugins {names} to be registered")
            await conn.execute("UPDATE plugins SET enabled = (name = ANY($1))", list(names))
        finally:
            await conn.close()

    async def new_clips(self, n: int) -> list[uuid.UUID]:
        """Store `n` clips straight into the database (the consumers act only on stored clips)."""
        ids = [uuid.uuid4() for _ in range(n)]
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.executemany(
                "INSERT INTO clips (id, title, file_path, duration, created_at, updated_at)"
                " VALUES ($1, $2, $3, 45, now(), now())",
                [(i, f"bench clip {i}", f"/clips/{i}.mp4") for i in ids],
            )
        finally:
            await conn.close()
        return ids

    async def outbox_drained(self) -> None:
        """Wait until the API's relay has published every event it stored."""
        conn = await asyncpg.connect(self.dsn)
        try:

            async def empty() -> bool:
                return not await conn.fetchval("SELECT count(*) FROM outbox")

            await until(empty, timeout=60, what="the outbox to drain")
        finally:
            await conn.close()


async def _profile(name: str, pid: int) -> asyncio.subprocess.Process:
    fmt = os.environ.get("BENCH_PROFILE_FORMAT", "flamegraph")  # or raw (collapsed stacks), speedscope
    PROFILES.mkdir(exist_ok=True)
    out = PROFILES / f"{name}-{pid}.{PROFILE_SUFFIX.get(fmt, 'json')}"
    py_spy = str(Path(sys.executable).parent / "py-spy")
    argv = [
        "record",
        "--pid",
        str(pid),
        "--rate",
        "200",
        "--format",
        fmt,
        "--output",
        str(out),
        "--nonblocking",
    ]
    return await asyncio.create_subprocess_exec(
        py_spy, *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def wait_ready(url: str, timeout: float = 60) -> None:
    async with httpx.AsyncClient() as client:

        async def answers() -> bool:
            try:
                return (await client.get(url)).status_code == 200
            except httpx.TransportError:
                return False

        await until(answers, timeout=timeout, what=f"{url} to answer 200")


@contextlib.contextmanager
def servers(log: TextIO) -> Iterator[Harness]:
    """Throw-away Postgres and Kafka on free ports (never a running `make dev`'s), migrated and
    with their topics; removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix="clipforge-bench-"))
    home.chmod(0o755)  # the postgres user must reach its data folder inside
    stack = Stack.ephemeral(home, free_port(), free_port(), free_port())
    try:
        stack.postgres.start()
        stack.kafka.start()
        api_port = free_port()
        env = {
            **stack.env(),
            "API_PORT": str(api_port),
            "LOG_LEVEL": "WARNING",
            "CLIPFORGE_PLUGIN_DIRS": str(PLUGINS),
            "CLIPFORGE_ADMIN_KEY": BENCH_KEY,
        }
        harness = Harness(env, api_port, log, stack.kafka_users())
        subprocess.run(
            [sys.executable, "-m", "clipforge.admin", "init", *(["--acls"] if harness.kafka_users else [])],
            env={**os.environ, **harness.admin_env()},
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        yield harness
    finally:
        stack.kafka.reset()
        stack.postgres.reset()
        shutil.rmtree(home, ignore_errors=True)
