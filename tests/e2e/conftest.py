"""The three services as real processes against the session's real servers."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from clipforge_devstack.paths import free_port
from clipforge_devstack.stack import services
from clipforge_devstack.supervisor import Supervisor
from tests.polling import until
from tests.servers import Servers


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


@pytest.fixture(scope="session")
async def stack(servers: Servers, media_dir: Path) -> AsyncIterator[RunningStack]:
    plugin_dir = Path(tempfile.mkdtemp(prefix="clipforge-plugins-"))
    port = free_port()
    env = {
        **servers.env(),
        "API_PORT": str(port),
        "LOG_LEVEL": "INFO",
        "CLIPFORGE_PLUGIN_DIRS": str(plugin_dir),
        "CLIPFORGE_PLUGIN_RESCAN_S": "0.5",
        "CLIPFORGE_MEDIA_DIR": str(media_dir),
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


@pytest.fixture
async def client(stack: RunningStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
        yield client
