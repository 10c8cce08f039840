"""The three services as real processes against the session's real servers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx
import pytest

from clipforge_devstack.kafka import ADMIN, KafkaCredentials, LocalKafka
from clipforge_devstack.paths import free_port
from clipforge_devstack.s3proxy import LocalS3
from clipforge_devstack.stack import service_env, services
from clipforge_devstack.supervisor import Supervisor
from tests.auth import ADMIN_KEY, bearer
from tests.polling import until
from tests.servers import Servers, fresh_database

WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"


@dataclass
class RunningStack:
    api_url: str
    supervisor: Supervisor
    plugin_dir: Path  # in CLIPFORGE_PLUGIN_DIRS: tests drop plugins here while the stack runs
    env: dict[str, str]
    """What every service is given, but its Kafka login (see `env_for`)."""
    kafka_users: KafkaCredentials | None = None

    def env_for(self, service: str) -> dict[str, str]:
        """The env of one more replica of a service (api, plugin-runner, metadata): its own user."""
        return service_env(service, self.env, self.kafka_users)

    def client(self, key: str = ADMIN_KEY, timeout: float = 30) -> httpx.AsyncClient:
        """An HTTP client of the stack's API, with a key (the admin key unless told)."""
        return httpx.AsyncClient(base_url=self.api_url, timeout=timeout, headers=bearer(key))


async def wait_healthy(url: str, timeout: float = 60.0) -> None:
    async with httpx.AsyncClient(base_url=url) as client:

        async def healthy() -> bool:
            try:
                return (await client.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        await until(healthy, timeout=timeout)


@contextlib.asynccontextmanager
async def running_stack(
    env: dict[str, str],
    kafka_users: KafkaCredentials | None,
    only: set[str] | None = None,
    out: TextIO | None = None,
) -> AsyncIterator[RunningStack]:
    """API, runner and metadata service (or `only` those named) as processes with this
    environment (and a plugin folder), each logged in to Kafka as its own user of `kafka_users`
    (when the broker has users). The API serves the web app the test run built. Their output,
    each line prefixed with its service, goes to `out` (stdout unless told)."""
    plugin_dir = Path(tempfile.mkdtemp(prefix="clipforge-plugins-"))
    port = free_port()
    env = {
        "LOG_LEVEL": "INFO",  # unless `env` says otherwise
        **env,
        "API_PORT": str(port),
        # the workers' /metrics, /livez, /readyz: never a running `make dev`'s (8001, 8002)
        "RUNNER_HTTP_PORT": str(free_port()),
        "METADATA_HTTP_PORT": str(free_port()),
        "CLIPFORGE_PLUGIN_DIRS": str(plugin_dir),
        "CLIPFORGE_PLUGIN_RESCAN_S": "0.5",
        "CLIPFORGE_ADMIN_KEY": ADMIN_KEY,
        "CLIPFORGE_WEB_DIR": str(WEB_DIST),
    }
    started = [s for s in services(env, users=kafka_users) if only is None or s.name in only]
    supervisor = Supervisor(started, out=out)
    await supervisor.start()
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(url)
        yield RunningStack(url, supervisor, plugin_dir, env, kafka_users)
    finally:
        await supervisor.stop()
        shutil.rmtree(plugin_dir, ignore_errors=True)


@pytest.fixture(scope="session")
async def stack(servers: Servers, media_dir: Path) -> AsyncIterator[RunningStack]:
    env = {**servers.addresses(), "CLIPFORGE_MEDIA_DIR": str(media_dir)}
    async with running_stack(env, servers.kafka_users) as running:
        yield running


@contextlib.asynccontextmanager
async def isolated_servers(
    servers: Servers, home: Path
) -> AsyncIterator[tuple[dict[str, str], KafkaCredentials]]:
    """A Kafka of its own (in `home`) and a fresh database on the session's Postgres, initialised
    (topics, ACLs): for a stack whose runners must not share consumer groups with the session's
    stack. Yields the addresses and the broker's users."""
    kafka = LocalKafka(home / "kafka", port=free_port(), controller_port=free_port())
    kafka.start()
    users = kafka.credentials
    assert users is not None
    try:
        env = {
            "DATABASE_URL": await fresh_database(servers.database_url),
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
        }
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "clipforge.admin", "init", "--acls"],
            env={**os.environ, **env, **users.env_for(ADMIN)},
            check=True,
        )
        yield env, users
    finally:
        kafka.reset()


@pytest.fixture(scope="session")
async def s3_stack(
    servers: Servers, s3_server: LocalS3, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningStack]:
    """A second stack whose files live in S3 (the session's S3Proxy), as when runners are on other
    machines. It has a Kafka and a database of its own: its runners must not take the first
    stack's clips (they could not read their files), nor the first stack's runners its clips."""
    home = tmp_path_factory.mktemp("s3-stack")
    async with isolated_servers(servers, home) as (addresses, users):
        env = {
            **addresses,
            "CLIPFORGE_STORAGE_URL": f"s3://{s3_server.bucket}/stack",
            **s3_server.env(),
            "CLIPFORGE_MEDIA_DIR": str(home / "unused-media"),
            "CLIPFORGE_SCRATCH_DIR": str(home / "scratch"),
        }
        async with running_stack(env, users) as running:
            yield running


@pytest.fixture
async def client(stack: RunningStack) -> AsyncIterator[httpx.AsyncClient]:
    async with stack.client() as client:
        yield client
