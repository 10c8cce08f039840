"""Every clip endpoint and filter against the real database."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Clip, OutboxEvent
from clipforge_api.deps import _snapshot
from tests.seed import SEED_CLIP

pytestmark = pytest.mark.integration


def clip_body(**overrides: Any) -> dict[str, Any]:
    return {**SEED_CLIP, **overrides}


async def create(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/clips", json=clip_body(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_returns_the_stored_clip_with_location(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/clips",
        json=clip_body(
            tags=["ace", "clutch"],
            metadata={"map": "mirage"},
            recorded_at="2026-01-01T10:00:00Z",
            codec="h264",
            file_size=1234,
            game_id="cs2",
            description="d",
        ),
    )
    assert response.status_code == 201
    clip = response.json()
    assert response.headers["location"] == f"/api/v1/clips/{clip['id']}"
    assert (clip["tags"], clip["metadata"], clip["codec"], clip["file_size"]) == (
        ["ace", "clutch"],
        {"map": "mirage"},
        "h264",
        1234,
    )
    assert clip["status"] == "pending"
    assert clip["recorded_at"].startswith("2026-01-01T10:00:00")
    assert (await api.get(response.headers["location"])).json() == clip


async def test_create_and_its_event_share_one_transaction(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Either both exist or neither: a failed insert leaves no event behind."""
    before = await _outbox_count(sessions)
    response = await api.post("/api/v1/clips", json=clip_body(title=""))
    assert response.status_code == 422
    assert await _outbox_count(sessions) <= before


async def _outbox_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return len((await session.scalars(select(OutboxEvent.id))).all())


async def test_update_changes_only_what_was_sent_and_keeps_plugin_results(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    clip = await create(api, metadata={"a": 1})
    async with sessions() as session, session.begin():
        row = await session.get(Clip, uuid.UUID(clip["id"]))
        assert row is not None
        row.clip_metadata = {**row.clip_metadata, "plugins": {"p": {"x": 1}}}
    response = await api.put(f"/api/v1/clips/{clip['id']}", json={"title": "Renamed", "metadata": {"b": 2}})
    assert response.status_code == 200
    updated = response.json()
    assert updated["title"] == "Renamed"
    assert updated["file_path"] == clip["file_path"]
    # The user's keys are replaced; plugin results stay (the session's runners may have added
    # their own results by now, so only ours is checked).
    assert {k: v for k, v in updated["metadata"].items() if k != "plugins"} == {"b": 2}
    assert updated["metadata"]["plugins"]["p"] == {"x": 1}
    assert updated["updated_at"] > clip["updated_at"]


async def test_update_rejects_null_required_fields_and_unknown_clips(api: httpx.AsyncClient) -> None:
    clip = await create(api)
    response = await api.put(f"/api/v1/clips/{clip['id']}", json={"title": None})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "title"]
    assert (await api.put(f"/api/v1/clips/{uuid.uuid4()}", json={"title": "x"})).status_code == 404


async def test_delete_is_204_then_404(api: httpx.AsyncClient) -> None:
    clip = await create(api)
    assert (await api.delete(f"/api/v1/clips/{clip['id']}")).status_code == 204
    assert (await api.get(f"/api/v1/clips/{clip['id']}")).status_code == 404
    assert (await api.delete(f"/api/v1/clips/{clip['id']}")).status_code == 404


async def test_list_filters_each_narrow_the_result(api: httpx.AsyncClient) -> None:
    game = f"Game-{uuid.uuid4().hex[:8]}"
    a = await create(
        api,
        title="Alpha ace round",
        game_name=game,
        game_id="g1",
        tags=["ace"],
        recorded_at="2026-03-01T00:00:00Z",
        duration=10,
    )
    b = await create(
        api,
        title="Bravo clutch",
        game_name=game,
        game_id="g2",
        tags=["clutch"],
        recorded_at="2026-03-05T00:00:00Z",
        duration=30,
    )
    c = await create(
        api,
        title="Charlie 100% ace_",
        game_name=game,
        game_id="g2",
        tags=["ace", "clutch"],
        recorded_at="2026-03-10T00:00:00Z",
        duration=20,
    )

    async def ids(**params: Any) -> list[str]:
        response = await api.get("/api/v1/clips", params={"game_name": game, **params})
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == len(page["items"])
        return [item["id"] for item in page["items"]]

    assert set(await ids()) == {a["id"], b["id"], c["id"]}
    assert set(await ids(game_id="g2")) == {b["id"], c["id"]}
    assert set(await ids(tag="ace")) == {a["id"], c["id"]}
    assert set(await ids(q="CLUTCH")) == {b["id"]}
    assert set(await ids(q="100%")) == {c["id"]}, "LIKE wildcards in the search text are literal"
    assert set(await ids(q="ace_")) == {c["id"]}
    assert set(await ids(recorded_after="2026-03-05T00:00:00Z")) == {b["id"], c["id"]}
    assert set(await ids(recorded_before="2026-03-05T00:00:00Z")) == {a["id"]}
    assert set(await ids(status="pending")) | set(await ids(status="completed")) == {
        a["id"],
        b["id"],
        c["id"],
    }
    assert await ids(sort="duration", order="asc") == [a["id"], c["id"], b["id"]]
    assert await ids(sort="recorded_at", order="desc") == [c["id"], b["id"], a["id"]]
    assert await ids(sort="title", order="asc") == [a["id"], b["id"], c["id"]]


async def test_list_paginates(api: httpx.AsyncClient) -> None:
    game = f"Paged-{uuid.uuid4().hex[:8]}"
    made = [await create(api, title=f"clip {i}", game_name=game) for i in range(5)]
    first = (
        await api.get(
            "/api/v1/clips", params={"game_name": game, "limit": 2, "sort": "title", "order": "asc"}
        )
    ).json()
    second = (
        await api.get(
            "/api/v1/clips",
            params={"game_name": game, "limit": 2, "offset": 2, "sort": "title", "order": "asc"},
        )
    ).json()
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    assert [i["title"] for i in first["items"] + second["items"]] == [m["title"] for m in made[:4]]


async def test_stats_summary_counts_and_sums(api: httpx.AsyncClient) -> None:
    before = (await api.get("/api/v1/clips/stats/summary")).json()
    game = f"Stats-{uuid.uuid4().hex[:8]}"
    await create(api, game_name=game, duration=10.5, file_size=100)
    await create(api, game_name=game, duration=4.5, file_size=50)
    after = (await api.get("/api/v1/clips/stats/summary")).json()
    assert after["total_clips"] - before["total_clips"] == 2
    assert after["by_game"][game] == 2
    assert after["total_duration"] - before["total_duration"] == pytest.approx(15.0)
    assert after["total_file_size"] - before["total_file_size"] == 150
    assert sum(after["by_status"].values()) == after["total_clips"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"sort": "x"}, "sort"),
        ({"order": "up"}, "order"),
        ({"status": "done"}, "status"),
        ({"recorded_after": "soon"}, "recorded_after"),
    ],
)
async def test_bad_list_parameters_are_422_naming_them(
    api: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await api.get("/api/v1/clips", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field


async def test_oversized_bodies_are_413(api: httpx.AsyncClient) -> None:
    big = clip_body(description="x" * 10, metadata={"blob": "y" * (1024 * 1024)})
    response = await api.post("/api/v1/clips", json=big)
    assert response.status_code == 413


async def test_non_finite_numbers_are_422_not_500(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/clips",
        content=b'{"title":"a","file_path":"b","metadata":{"k":1e400}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "metadata"]


async def test_lists_and_summaries_read_one_snapshot(api_app: FastAPI) -> None:
    """A page's total and its items come from two queries; while the pipeline changes clips they
    agree only if both see the same snapshot."""
    request = SimpleNamespace(app=api_app)
    sessions = _snapshot(request)  # type: ignore[arg-type]
    session = await anext(sessions)
    try:
        assert await session.scalar(text("SHOW transaction_isolation")) == "repeatable read"
        assert await session.scalar(text("SHOW transaction_read_only")) == "on"
    finally:
        await sessions.aclose()
