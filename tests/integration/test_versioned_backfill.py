"""Versioned results through the API (issue 17, part 4), against the real database and broker: a
backfill of `older_version` takes exactly the clips whose stored result an older version made, one
of `other_config` exactly those whose result was made with another configuration than the
plugin's current one for the clip's game (its own, or the game's override)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.engine import make_engine, make_sessionmaker
from clipforge.db.models import Clip, Plugin
from clipforge.plugin_scope import config_hash
from clipforge.settings import Settings
from tests.integration.inprocess import api_on
from tests.integration.test_plugin_scope_api import new_clip
from tests.integration.test_plugins_api import register
from tests.kafka_reader import KafkaReader, of_backfill
from tests.servers import fresh_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def private_settings(settings: Settings) -> Settings:
    """A database of this module's own: these tests set stored results by hand and compare
    backfills over them, which the session's running stack (when the e2e tests started one)
    would otherwise change under them, merging what its runners report for these backfills."""
    return settings.model_copy(update={"database_url": await fresh_database(settings.database_url)})


@pytest.fixture
async def api(private_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_on(private_settings) as client:
        yield client


@pytest.fixture(scope="module")
async def sessions(private_settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(private_settings.database_url, pool_size=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


SCHEMA = {"type": "object", "properties": {"threshold": {"type": "number"}}, "additionalProperties": False}


async def give_result(
    sessions: async_sessionmaker[AsyncSession], clip_id: str, plugin: str, run: dict[str, Any] | None
) -> None:
    """Store a result of `plugin` on the clip, as the metadata service would (`run`: its `_run`)."""
    result: dict[str, Any] = {"score": 1} if run is None else {"score": 1, "_run": run}
    async with sessions() as session, session.begin():
        await session.execute(
            update(Clip)
            .where(Clip.id == uuid.UUID(clip_id))
            .values(clip_metadata={"plugins": {plugin: result}})
        )


def run(version: str = "1.0.0", config: str | None = None) -> dict[str, Any]:
    return {"status": "ok", "version": version, "config_hash": config, "duration_ms": 1.0, "error": None}


async def backfilled(
    api: httpx.AsyncClient, kafka_reader: KafkaReader, plugin_id: int, body: Any
) -> list[str]:
    """Start a backfill; the clips it enqueued (its total checked against its events)."""
    response = await api.post(f"/api/v1/plugins/{plugin_id}/backfill", json=body)
    assert response.status_code == 202, response.text
    backfill = response.json()
    assert (backfill["done"], backfill["failed"], backfill["pending"]) == (0, 0, backfill["total"])
    if not backfill["total"]:
        return []
    events = await kafka_reader.wait_for("clip.captured", of_backfill(backfill), count=backfill["total"])
    return sorted(e["clip_id"] for e in events)


async def test_older_version_takes_the_results_older_than_the_current_or_given_version(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], kafka_reader: KafkaReader
) -> None:
    plugin = await register(api, version="1.10.0")
    assert (await api.post(f"/api/v1/plugins/{plugin['id']}/enable")).status_code == 200
    name = plugin["name"]
    clips = {v: await new_clip(api) for v in ("1.9.0", "1.10.0", "1.2.0", "2.0.0", "none", "bad")}
    await new_clip(api)  # no result: not older, missing
    for version, clip_id in clips.items():
        stored = None if version == "none" else run("not a version" if version == "bad" else version)
        await give_result(sessions, clip_id, name, stored)

    # 1.9.0 and 1.2.0 are older than 1.10.0 as versions (not as text); no version counts as older
    older = sorted(clips[v] for v in ("1.9.0", "1.2.0", "none", "bad"))
    assert await backfilled(api, kafka_reader, plugin["id"], {"scope": "older_version"}) == older
    than_2_1 = sorted(clips[v] for v in ("1.9.0", "1.10.0", "1.2.0", "2.0.0", "none", "bad"))
    assert await backfilled(
        api, kafka_reader, plugin["id"], {"scope": "older_version", "version": "2.1.0"}
    ) == (than_2_1)
    than_1_5 = sorted(clips[v] for v in ("1.2.0", "none", "bad"))
    assert await backfilled(
        api, kafka_reader, plugin["id"], {"scope": "older_version", "version": "1.5.0"}
    ) == (than_1_5)


async def test_other_config_takes_the_results_made_with_another_configuration_for_their_game(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], kafka_reader: KafkaReader
) -> None:
    plugin = await register(api)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Plugin).where(Plugin.id == plugin["id"]).values(plugin_metadata={"config_schema": SCHEMA})
        )
    pid, name = plugin["id"], plugin["name"]
    assert (await api.post(f"/api/v1/plugins/{pid}/enable")).status_code == 200
    assert (
        await api.post(f"/api/v1/plugins/{pid}/config", json={"key": "threshold", "value": 0.5})
    ).status_code == 201
    assert (
        await api.post(f"/api/v1/plugins/{pid}/config", json={"key": "timeout_s", "value": 20})
    ).status_code == 201
    game = f"Config Game {uuid.uuid4().hex[:6]}"
    scope = {"game_config": {game: {"threshold": 0.9}}}
    assert (await api.put(f"/api/v1/plugins/{pid}/scope", json=scope)).status_code == 200
    own, for_game = config_hash({"threshold": 0.5}), config_hash({"threshold": 0.9})
    assert own != for_game

    current = await new_clip(api)  # made with the plugin's own configuration (timeout_s changes nothing)
    current_game = await new_clip(api, game_name=game.upper())  # with its game's, matched ignoring case
    stale = await new_clip(api)
    stale_game = await new_clip(api, game_name=game)  # made with the plugin's own, not its game's
    unknown = await new_clip(api)  # a result from before config_hash
    await new_clip(api)  # no result: missing, not another configuration
    await give_result(sessions, current, name, run(config=own))
    await give_result(sessions, current_game, name, run(config=for_game))
    await give_result(sessions, stale, name, run(config=config_hash({"threshold": 0.4})))
    await give_result(sessions, stale_game, name, run(config=own))
    await give_result(sessions, unknown, name, run())

    assert await backfilled(api, kafka_reader, pid, {"scope": "other_config"}) == sorted(
        [stale, stale_game, unknown]
    )
    # the configuration changes: now the clips made with the old one are the ones to redo
    changed = await api.put(f"/api/v1/plugins/{pid}/config", json={"set": {"threshold": 0.4}})
    assert changed.status_code == 200, changed.text
    assert await backfilled(api, kafka_reader, pid, {"scope": "other_config"}) == sorted(
        [current, stale_game, unknown]
    )


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"scope": "newer_version"}, ["body", "scope"]),
        ({"scope": "older_version", "version": "one.two"}, ["body", "version"]),
        ({"scope": "older_version", "version": ""}, ["body", "version"]),
        ({"scope": "all", "version": "1.0.0"}, ["body"]),
        ({"scope": "older_version", "version": 1}, ["body", "version"]),
    ],
)
async def test_a_bad_scope_or_version_is_422(
    api: httpx.AsyncClient, body: dict[str, Any], loc: list[str]
) -> None:
    plugin = await register(api)
    assert (await api.post(f"/api/v1/plugins/{plugin['id']}/enable")).status_code == 200
    response = await api.post(f"/api/v1/plugins/{plugin['id']}/backfill", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][: len(loc)] == loc


async def test_older_version_of_a_plugin_whose_version_is_not_one_needs_a_version(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    plugin = await register(api)
    assert (await api.post(f"/api/v1/plugins/{plugin['id']}/enable")).status_code == 200
    async with sessions() as session, session.begin():
        await session.execute(update(Plugin).where(Plugin.id == plugin["id"]).values(version="1.0.0-x.y"))
    url = f"/api/v1/plugins/{plugin['id']}/backfill"
    response = await api.post(url, json={"scope": "older_version"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "version"]
    assert (await api.post(url, json={"scope": "older_version", "version": "1.0.0"})).status_code == 202
