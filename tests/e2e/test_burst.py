"""A burst of clips while the metadata service and a runner are killed -9: the supervisor
restarts them (as `make dev` does), and every clip ends with every due plugin's result, once."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Clip, PluginRun
from tests.e2e.conftest import RunningStack
from tests.e2e.faults import count_finished
from tests.e2e.helpers import create_clip
from tests.polling import until

pytestmark = pytest.mark.e2e

DEFAULTS = {"highlight_detector", "tag_suggester", "clip_quality"}
BURST = 500


async def test_a_burst_survives_kill_minus_9_of_metadata_and_a_runner(
    stack: RunningStack, client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    restarts_before = {c.label.strip(): c.restarts for c in stack.supervisor.children}
    ids: list[uuid.UUID] = []

    async def produce(n: int) -> None:
        for i in range(n):
            ids.append(uuid.UUID((await create_clip(client, title=f"burst {i}", file_size=1_000_000))["id"]))

    async def finished() -> int:
        return await count_finished(sessions, ids)

    producers = asyncio.gather(*(produce(BURST // 10) for _ in range(10)))
    await until(lambda: finished_at_least(finished, 50), timeout=120, every=0.1)
    for service in ("metadata", "plugin-runner"):
        (pid,) = stack.supervisor.pids(service)
        os.kill(pid, signal.SIGKILL)
    await producers
    assert len(ids) == BURST

    await until(lambda: finished_at_least(finished, BURST), timeout=240, every=0.5)
    restarts_after = {c.label.strip(): c.restarts for c in stack.supervisor.children}
    assert restarts_after["metadata"] > restarts_before["metadata"]
    assert restarts_after["plugin-runner"] > restarts_before["plugin-runner"]

    async with sessions() as session:
        statuses = dict(
            (
                await session.execute(
                    select(Clip.status, func.count()).where(Clip.id.in_(ids)).group_by(Clip.status)
                )
            ).all()
        )
        per_plugin = (
            await session.execute(
                select(PluginRun.plugin, func.count(), func.count(func.distinct(PluginRun.clip_id)))
                .where(PluginRun.clip_id.in_(ids), PluginRun.plugin.in_(DEFAULTS))
                .group_by(PluginRun.plugin)
            )
        ).all()
        merged = (await session.scalars(select(Clip.clip_metadata).where(Clip.id.in_(ids)))).all()
    assert statuses == {"completed": BURST}
    assert {p: (runs, clips) for p, runs, clips in per_plugin} == {p: (BURST, BURST) for p in DEFAULTS}, (
        "exactly one result per plugin per clip"
    )
    assert all(set(m["plugins"]) >= DEFAULTS for m in merged)


async def finished_at_least(count: Callable[[], Awaitable[int]], n: int) -> bool:
    return await count() >= n
