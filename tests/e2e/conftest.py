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

import httpx
import pytest

from clipforge_devstack.kafka import LocalKafka
from clipforge_devstack.paths import free_port
from clipforge_devstack.s3proxy import LocalS3
from clipforge_devstack.stack import services
from clipforge_devstack.supervisor import Supervisor
from tests.polling import until
from tests.servers import Servers, fresh_database


@dataclass
class RunningStack:
    api_url: str
    supervisor: Supervisor
    plugin_dir: Path  # in CLIPFORGE_PLUGIN_DIRS: tests drop plugins here while the stack runs
    env: dict[str, str]


async def wait_healthy(url: str, timeout: float = 60.0) -> None:
    async with httpx.AsyncClient(base_url=url) as client:

        async def healthy() -> bool:
            try:
                return (await client.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        await until(healthy, timeout=timeout)


@contextlib.asynccontextmanager
async def running_stack(env: dict[str, str]) -> AsyncIterator[RunningStack]:
    """API, runner and metadata service as processes with this environment (and a plugin folder)."""
    plugin_dir = Path(tempfile.mkdtemp(prefix="clipforge-plugins-"))
    port = free_port()
    env = {
        **env,
        "API_PORT": str(port),
        "LOG_LEVEL": "INFO",
        "CLIPFORGE_PLUGIN_DIRS": str(plugin_dir),
        "CLIPFORGE_PLUGIN_RESCAN_S": "0.5",
    }
    supervisor = Supervisor(services(env))
    await supervisor.start()
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(url)
        yield RunningStack(url, supervisor, plugin_dir, env)
    finally:
        await supervisor.stop()
        shutil.rmtree(plugin_dir, ignore_errors=True)


@pytest.fixture(scope="session")
async def stack(servers: Servers, media_dir: Path) -> AsyncIterator[RunningStack]:
    async with running_stack({**servers.env(), "CLIPFORGE_MEDIA_DIR": str(media_dir)}) as running:
        yield running


@pytest.fixture(scope="session")
async def s3_stack(
    servers: Servers, s3_server: LocalS3, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningStack]:
    """A second stack whose files live in S3 (the session's S3Proxy), as when runners are on other
    machines. It has a Kafka and a database of its own: its runners must not take the first
    stack's clips (they could not read their files), nor the first stack's runners its clips."""
    home = tmp_path_factory.mktemp("s3-stack")
    kafka = LocalKafka(home / "kafka", port=free_port(), controller_port=free_port())
    kafka.start()
    try:
        env = {
            "DATABASE_URL": await fresh_database(servers.database_url),
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "CLIPFORGE_STORAGE_URL": f"s3://{s3_server.bucket}/stack",
            **s3_server.env(),
            "CLIPFORGE_MEDIA_DIR": str(home / "unused-media"),
            "CLIPFORGE_SCRATCH_DIR": str(home / "scratch"),
        }
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "clipforge.admin", "init"],
            env={**os.environ, **env},
            check=True,
        )
        async with running_stack(env) as running:
            yield running
    finally:
        kafka.reset()


@pytest.fixture
async def client(stack: RunningStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
        yield client
