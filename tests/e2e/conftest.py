"""The three services as real processes against the session's real servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from clipforge_devstack.paths import free_port
from clipforge_devstack.stack import services
from clipforge_devstack.supervisor import Supervisor
from tests.servers import Servers


@dataclass
class RunningStack:
    api_url: str
    supervisor: Supervisor


async def wait_healthy(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url) as client:
        while True:
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}/health never answered 200")
            await asyncio.sleep(0.3)


@pytest.fixture(scope="session")
async def stack(servers: Servers) -> AsyncIterator[RunningStack]:
    port = free_port()
    env = {**servers.env(), "API_PORT": str(port), "LOG_LEVEL": "INFO"}
    supervisor = Supervisor(services(env))
    await supervisor.start()
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(url)
        yield RunningStack(url, supervisor)
    finally:
        await supervisor.stop()
