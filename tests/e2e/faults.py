"""What the fault suite does over and over: bursts of clips, bad plugins, and the figures every
fault case asserts (accepted, finished, lost, duplicate effects, server errors)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import textwrap
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Clip, PluginRun
from tests.e2e.conftest import RunningStack
from tests.e2e.helpers import FINAL, plugin_named, set_enabled
from tests.kafka_reader import KafkaReader
from tests.polling import until
from tests.seed import SEED_CLIP


@dataclass
class Burst:
    """Clips sent by concurrent clients, and how the API answered them."""

    accepted: list[uuid.UUID] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.statuses.items() if code >= 500 and code != 503)


async def send_burst(
    client: httpx.AsyncClient, count: int, *, clients: int = 8, title: str = "fault"
) -> Burst:
    burst = Burst()

    async def one_client(n: int) -> None:
        for i in range(n):
            response = await client.post("/api/v1/clips", json={**SEED_CLIP, "title": f"{title} {i}"})
            burst.statuses[response.status_code] += 1
            if response.status_code == 201:
                burst.accepted.append(uuid.UUID(response.json()["id"]))

    await asyncio.gather(*(one_client(count // clients + (i < count % clients)) for i in range(clients)))
    return burst


@dataclass
class Figures:
    accepted: int
    finished: int
    lost: int
    duplicate_effects: int
    server_errors: int

    def assert_clean(self) -> None:
        assert self.accepted > 0, self
        assert (self.finished, self.lost, self.duplicate_effects, self.server_errors) == (
            self.accepted,
            0,
            0,
            0,
        ), self


async def count_finished(sessions: async_sessionmaker[AsyncSession], ids: list[uuid.UUID]) -> int:
    """How many of these clips have reached a final status."""
    async with sessions() as session:
        return (
            await session.scalar(
                select(func.count()).select_from(Clip).where(Clip.id.in_(ids), Clip.status.in_(FINAL))
            )
            or 0
        )


async def figures(
    burst: Burst,
    sessions: async_sessionmaker[AsyncSession],
    reader: KafkaReader,
    *,
    timeout: float = 120,
) -> Figures:
    """Wait (up to `timeout`) for every accepted clip to finish, then count. A duplicate effect
    is a plugin recorded twice for one clip, or a clip announced as enriched by two different
    events (each clip here is captured once, so each has exactly one run)."""
    ids = burst.accepted

    async def finished() -> int:
        return await count_finished(sessions, ids)

    async def all_finished() -> bool:
        return await finished() >= len(ids)

    with contextlib.suppress(AssertionError):  # what does not finish in time is counted as lost
        await until(all_finished, timeout=timeout, every=0.3)
    done = await finished()
    async with sessions() as session:
        runs = (
            await session.execute(
                select(
                    func.count(), func.count(func.distinct(func.concat(PluginRun.clip_id, PluginRun.plugin)))
                )
                .select_from(PluginRun)
                .where(PluginRun.clip_id.in_(ids))
            )
        ).one()
    wanted = {str(i) for i in ids}
    enriched = await reader.read_all("clip.enriched")
    # A redelivery may publish an announcement again, with the same event id: that is one effect.
    announcements = Counter(
        clip_id for clip_id, _ in {(e.get("clip_id"), e.get("event_id")) for e in enriched}
    )
    duplicates = (runs[0] - runs[1]) + sum(announcements[c] - 1 for c in wanted if announcements[c] > 1)
    return Figures(len(ids), done, len(ids) - done, duplicates, burst.server_errors)


def drop_python_plugin(stack: RunningStack, name: str, hook_body: str) -> None:
    """A plugin file in the stack's plugin folder whose `on_clip_captured` runs `hook_body`."""
    code = f'''
        from clipforge.sdk import PluginBase, PluginMetadata

        class Fault(PluginBase):
            @property
            def metadata(self):
                return PluginMetadata(name="{name}", display_name="Fault {name}", version="1.0.0")

            def on_clip_captured(self, clip_data):
                {hook_body}
    '''
    (stack.plugin_dir / f"{name}.py").write_text(textwrap.dedent(code))


def drop_native_plugin(stack: RunningStack, name: str, stdout: str) -> None:
    """A native plugin (a shell script) that answers every request with `stdout`."""
    folder: Path = stack.plugin_dir / name
    folder.mkdir()
    exe = folder / "run.sh"
    exe.write_text(f"#!/bin/sh\ncat > /dev/null\nprintf '%s' '{stdout}'\n")
    exe.chmod(0o755)  # installed for the plugin user (nobody) to run
    manifest = {"name": name, "display_name": f"Fault {name}", "version": "1.0.0", "plugin_type": "sh"}
    (folder / "plugin.json").write_text(json.dumps({**manifest, "executable": "run.sh"}))


@asynccontextmanager
async def enabled(client: httpx.AsyncClient, *names: str) -> AsyncIterator[None]:
    """The plugins enabled for the block (once discovered), and disabled after it, so the rest
    of the session's tests see the stack as it was."""
    for name in names:
        await until(lambda name=name: plugin_named(client, name), timeout=30)  # type: ignore[misc]
        await set_enabled(client, name, True)
    try:
        yield
    finally:
        for name in names:
            await set_enabled(client, name, False)


def run_of(clip: dict[str, Any], plugin: str) -> dict[str, Any]:
    run: dict[str, Any] = clip["metadata"]["plugins"][plugin]["_run"]
    return run
