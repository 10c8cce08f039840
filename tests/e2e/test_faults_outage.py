"""Fault suite: the servers and services going away under load. Postgres restarted mid-burst
(the API answers 503 with Retry-After meanwhile and recovers by itself, and so do both workers)
and the API killed -9 mid-burst. Each case: every accepted clip finishes, none is lost, no
effect is duplicated, no 5xx but the documented 503."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.e2e.conftest import RunningStack, wait_healthy
from tests.e2e.faults import Burst, figures
from tests.e2e.helpers import ready_instances
from tests.kafka_reader import KafkaReader
from tests.polling import until
from tests.seed import SEED_CLIP
from tests.servers import Servers

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


class SteadyClients:
    """Clients posting clips until stopped, as a busy platform's would: a refused connection
    (the API restarting) or a 503 is counted, and the client goes on."""

    def __init__(self, client: httpx.AsyncClient, clients: int = 4) -> None:
        self.client = client
        self.burst = Burst()
        self.unavailable: list[httpx.Response] = []
        self.transport_errors = 0
        self._stop = asyncio.Event()
        self._tasks = [asyncio.create_task(self._post_until_stopped()) for _ in range(clients)]

    async def _post_until_stopped(self) -> None:
        while not self._stop.is_set():
            try:
                response = await self.client.post("/api/v1/clips", json={**SEED_CLIP, "title": "steady"})
            except httpx.TransportError:
                self.transport_errors += 1
                await asyncio.sleep(0.1)
                continue
            self.burst.statuses[response.status_code] += 1
            if response.status_code == 201:
                self.burst.accepted.append(uuid.UUID(response.json()["id"]))
            elif response.status_code == 503:
                self.unavailable.append(response)
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.01)

    def accepted_at_least(self, n: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return len(self.burst.accepted) >= n

        return check

    async def stop(self) -> Burst:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        return self.burst


async def test_postgres_restarted_mid_burst_is_a_503_and_everything_recovers(
    stack: RunningStack,
    client: httpx.AsyncClient,
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    kafka_reader: KafkaReader,
) -> None:
    if servers.postgres is None:
        pytest.skip("stops and starts Postgres: needs the server this session started (unset DATABASE_URL)")
    (merger, *_) = (await until(lambda: ready_instances(client), timeout=60))["metadata"]
    readiness = {"api": f"{stack.api_url}/readyz", "metadata": f"http://{merger['http']}/readyz"}
    clients = SteadyClients(client)
    try:
        await until(clients.accepted_at_least(40), timeout=60, every=0.1)
        await asyncio.to_thread(servers.postgres.stop)

        async def refused_a_while() -> bool:
            return len(clients.unavailable) >= 20

        await until(refused_a_while, timeout=30, every=0.1)
        down = {name: await client.get(url) for name, url in readiness.items()}
        await asyncio.to_thread(servers.postgres.start)
        await until(clients.accepted_at_least(len(clients.burst.accepted) + 40), timeout=60, every=0.1)

        async def ready_again() -> bool:
            return all([(await client.get(url)).status_code == 200 for url in readiness.values()])

        await until(ready_again, timeout=30)
    finally:
        burst = await clients.stop()

    answer = clients.unavailable[0]
    assert answer.headers["retry-after"].isdigit()
    assert answer.headers["content-type"] == "application/json"
    assert "database" in answer.json()["detail"]
    counted = await figures(burst, sessions, kafka_reader)
    counted.assert_clean()
    assert burst.statuses[503] >= 20, "the outage was seen, as 503s"
    assert {name: r.status_code for name, r in down.items()} == {"api": 503, "metadata": 503}, "not ready"
    assert down["api"].json()["database"] == down["metadata"].json()["checks"]["database"] == "unreachable"


async def test_the_api_killed_mid_burst_loses_no_accepted_clip(
    stack: RunningStack,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    kafka_reader: KafkaReader,
) -> None:
    restarts = {c.label.strip(): c.restarts for c in stack.supervisor.children}["api"]
    clients = SteadyClients(client)
    try:
        await until(clients.accepted_at_least(40), timeout=60, every=0.1)
        (pid,) = stack.supervisor.pids("api")
        os.kill(pid, signal.SIGKILL)
        await wait_healthy(stack.api_url)
        await until(clients.accepted_at_least(len(clients.burst.accepted) + 40), timeout=60, every=0.1)
    finally:
        burst = await clients.stop()
    assert {c.label.strip(): c.restarts for c in stack.supervisor.children}["api"] > restarts
    counted = await figures(burst, sessions, kafka_reader)
    counted.assert_clean()
