"""The metadata merge against the real database: idempotent, order-independent, concurrent."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Clip, ClipRun, PluginRun
from clipforge.events import ClipProcessed, PluginResult, PluginRunStatus
from clipforge_metadata.merge import merge, merge_batch

pytestmark = pytest.mark.integration


async def new_clip(sessions: async_sessionmaker[AsyncSession], **metadata: Any) -> uuid.UUID:
    clip_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        session.add(Clip(id=clip_id, title="merge", file_path="/m.mp4", clip_metadata=metadata))
    return clip_id


def result(plugin: str, **values: Any) -> PluginResult:
    return PluginResult(
        plugin=plugin, version="1.0.0", status=PluginRunStatus.OK, result=values, duration_ms=1
    )


def event(clip_id: uuid.UUID, run: uuid.UUID, due: list[str], *results: PluginResult) -> ClipProcessed:
    return ClipProcessed(clip_id=clip_id, source_event_id=run, runner="test", due=due, results=list(results))


async def stored(sessions: async_sessionmaker[AsyncSession], clip_id: uuid.UUID) -> Clip:
    async with sessions() as session:
        clip = await session.get(Clip, clip_id)
    assert clip is not None
    return clip


async def test_concurrent_results_for_one_clip_never_lose_each_other(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clip_id = await new_clip(sessions, mine="kept")
    names = [f"plugin_{i}" for i in range(24)]
    run = uuid.uuid4()
    # Every plugin reports in its own event, all at once, each in its own transaction.
    outcomes = await asyncio.gather(
        *(merge(sessions, event(clip_id, run, names, result(n, n=i))) for i, n in enumerate(names))
    )
    clip = await stored(sessions, clip_id)
    plugins = clip.clip_metadata["plugins"]
    assert set(plugins) == set(names)
    assert all(plugins[n]["n"] == i for i, n in enumerate(names))
    assert clip.clip_metadata["mine"] == "kept", "the user's own keys are untouched"
    assert clip.status == "completed"
    assert sum(o.run_complete for o in outcomes) >= 1


async def test_the_same_event_twice_changes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    clip_id = await new_clip(sessions)
    e = event(clip_id, uuid.uuid4(), ["a"], result("a", v=1))
    await merge(sessions, e)
    first = await stored(sessions, clip_id)
    again = await merge(sessions, e)
    second = await stored(sessions, clip_id)
    assert again.run_complete, "a redelivery still announces the completed run"
    assert second.clip_metadata == first.clip_metadata
    async with sessions() as session:
        rows = await session.scalar(
            select(func.count()).select_from(PluginRun).where(PluginRun.clip_id == clip_id)
        )
    assert rows == 1


async def test_a_run_reported_in_pieces_is_processing_until_complete(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clip_id = await new_clip(sessions)
    run = uuid.uuid4()
    partial = await merge(sessions, event(clip_id, run, ["fast", "slow"], result("fast", x=1)))
    assert not partial.run_complete
    assert (await stored(sessions, clip_id)).status == "processing"
    final = await merge(
        sessions,
        event(
            clip_id,
            run,
            ["fast", "slow"],
            PluginResult(plugin="slow", version="1", status=PluginRunStatus.TIMEOUT, error="too slow"),
        ),
    )
    assert final.run_complete
    clip = await stored(sessions, clip_id)
    assert clip.status == "completed_with_errors"
    assert clip.clip_metadata["plugins"]["fast"]["x"] == 1
    assert clip.clip_metadata["plugins"]["slow"]["_run"]["status"] == "timeout"
    async with sessions() as session:
        completed = await session.scalar(select(ClipRun.completed_at).where(ClipRun.run_id == run))
    assert completed is not None


async def test_a_batch_with_the_same_clip_twice_applies_both(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clip_id = await new_clip(sessions)
    run_a, run_b = uuid.uuid4(), uuid.uuid4()
    outcomes = await merge_batch(
        sessions,
        [
            event(clip_id, run_a, ["a"], result("a", v=1)),
            event(clip_id, run_b, ["b"], result("b", v=2)),
            event(clip_id, run_a, ["a"], result("a", v=1)),
        ],
    )
    assert [o.run_complete for o in outcomes] == [True, True, True]
    clip = await stored(sessions, clip_id)
    assert (clip.clip_metadata["plugins"]["a"]["v"], clip.clip_metadata["plugins"]["b"]["v"]) == (1, 2)


async def test_attempts_count_the_runs_of_a_plugin_on_a_clip(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clip_id = await new_clip(sessions)
    for _ in range(3):
        await merge(sessions, event(clip_id, uuid.uuid4(), ["a", "b"], result("a"), result("b")))
    await merge(sessions, event(clip_id, uuid.uuid4(), ["a"], result("a")))
    async with sessions() as session:
        rows = (
            await session.execute(
                select(PluginRun.plugin, PluginRun.attempt)
                .where(PluginRun.clip_id == clip_id)
                .order_by(PluginRun.id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3), ("b", 3), ("a", 4)]


async def test_results_for_a_deleted_clip_are_dropped(sessions: async_sessionmaker[AsyncSession]) -> None:
    outcome = await merge(sessions, event(uuid.uuid4(), uuid.uuid4(), ["a"], result("a")))
    assert outcome.clip is None
    assert not outcome.run_complete


async def test_fields_read_from_the_file_fill_only_what_the_client_left_empty(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clip_id = await new_clip(sessions)
    async with sessions() as session, session.begin():
        clip = await session.get(Clip, clip_id)
        assert clip is not None
        clip.fps = 30.0  # the client said 30
    read = {"duration": 12.5, "fps": 59.94, "resolution": "1280x720", "codec": "h264", "file_size": 4096}
    applied = await merge(
        sessions, event(clip_id, uuid.uuid4(), ["probe"], result("probe", clip_fields=read))
    )
    assert applied.clip is not None
    assert applied.clip.duration == 12.5, "the merged row is what was written"
    clip = await stored(sessions, clip_id)
    assert (clip.duration, clip.resolution, clip.codec, clip.file_size) == (12.5, "1280x720", "h264", 4096)
    assert clip.fps == 30.0, "a value the client gave is never overwritten"

    later = {"duration": 99.0, "resolution": "640x360"}
    await merge(sessions, event(clip_id, uuid.uuid4(), ["probe"], result("probe", clip_fields=later)))
    clip = await stored(sessions, clip_id)
    assert (clip.duration, clip.resolution) == (12.5, "1280x720"), "filled once, then it is the clip's"


@pytest.mark.parametrize(
    "bad",
    [{"duration": -1}, {"resolution": "big"}, {"codec": "a b"}, "not an object", {"file_size": 2**60}],
)
async def test_malformed_clip_fields_fill_nothing(
    sessions: async_sessionmaker[AsyncSession], bad: Any
) -> None:
    clip_id = await new_clip(sessions)
    await merge(sessions, event(clip_id, uuid.uuid4(), ["probe"], result("probe", clip_fields=bad)))
    clip = await stored(sessions, clip_id)
    assert (clip.duration, clip.resolution, clip.codec, clip.file_size) == (None, None, None, None)
    assert clip.clip_metadata["plugins"]["probe"]["clip_fields"] == bad, "the result still shows it"
