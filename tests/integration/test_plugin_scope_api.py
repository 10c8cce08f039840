"""A plugin's per-game scope through the API, against the real database and broker: validated
against the plugin's schema (each override merged over its configuration), announced on
`plugin.changed`, configuration to admins only, and honoured by backfills and reprocessing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Plugin
from tests.auth import bearer
from tests.integration.test_auth import new_key
from tests.integration.test_plugins_api import register
from tests.kafka_reader import KafkaReader, of_backfill

pytestmark = pytest.mark.integration

SCHEMA = {
    "type": "object",
    "properties": {"threshold": {"type": "number", "minimum": 0, "maximum": 1}, "label": {"type": "string"}},
    "additionalProperties": False,
    "dependentRequired": {"label": ["threshold"]},
}
VALORANT = {"game_name": "Valorant"}


async def configurable(api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """A plugin declaring `SCHEMA`, configured with threshold 0.5."""
    plugin = await register(api)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Plugin).where(Plugin.id == plugin["id"]).values(plugin_metadata={"config_schema": SCHEMA})
        )
    added = await api.post(f"/api/v1/plugins/{plugin['id']}/config", json={"key": "threshold", "value": 0.5})
    assert added.status_code == 201, added.text
    return plugin


def first_error(response: httpx.Response) -> tuple[list[Any], str]:
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    return error["loc"], error["msg"]


@pytest.mark.parametrize(
    ("scope", "loc", "says"),
    [
        (
            {"games": [VALORANT], "game_config": {"Valorant": {"threshold": 2}}},
            ["Valorant", "threshold"],
            "2",
        ),
        ({"game_config": {"Valorant": {"colour": "red"}}}, ["Valorant"], "colour"),
        ({"game_config": {"Valorant": {"timeout_s": 5}}}, ["Valorant", "timeout_s"], "runner"),
        (
            {"games": [VALORANT], "game_config": {"Apex Legends": {"threshold": 0.1}}},
            ["Apex Legends"],
            "limited",
        ),
        (
            {"game_config": {"valorant": {"threshold": 0.1}, "VALORANT": {"threshold": 0.2}}},
            ["VALORANT"],
            "same",
        ),
        ({"game_config": {"id: ": {"threshold": 0.1}}}, ["id: "], "game id"),
    ],
)
async def test_an_override_that_does_not_fit_is_422_naming_the_game_and_the_key(
    api: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    scope: dict[str, Any],
    loc: list[str],
    says: str,
) -> None:
    plugin = await configurable(api, sessions)
    at, message = first_error(await api.put(f"/api/v1/plugins/{plugin['id']}/scope", json=scope))
    assert at == ["body", "game_config", *loc]
    assert says in message
    after = (await api.get(f"/api/v1/plugins/{plugin['id']}")).json()
    assert (after["games"], after["game_config"]) == (None, {}), "nothing was saved"


@pytest.mark.parametrize(
    ("games", "loc"),
    [
        ([VALORANT, {"game_name": "VALORANT"}], ["games", 1]),
        ([{"game_name": "  "}], ["games", 0, "game_name"]),
        ([{"game_name": "Valorant", "game_id": "21779"}], ["games", 0]),
        ([{"game": "Valorant"}], ["games", 0, "game"]),
        ([], ["games"]),
        ([{"game_id": str(i)} for i in range(101)], ["games"]),
    ],
)
async def test_bad_game_selectors_are_422(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], games: list[Any], loc: list[Any]
) -> None:
    plugin = await configurable(api, sessions)
    at, _ = first_error(await api.put(f"/api/v1/plugins/{plugin['id']}/scope", json={"games": games}))
    assert at == ["body", *loc]


async def test_a_scope_is_stored_shown_and_announced(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], kafka_reader: KafkaReader
) -> None:
    plugin = await configurable(api, sessions)
    url = f"/api/v1/plugins/{plugin['id']}/scope"
    assert (await api.put("/api/v1/plugins/999999/scope", json={})).status_code == 404
    scope = {
        "games": [VALORANT, {"game_id": "21779"}],
        "game_config": {"valorant": {"threshold": 0.9}, "id:21779": {"label": "beta"}},
    }
    saved = await api.put(url, json=scope)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["games"], saved.json()["game_config"]) == (scope["games"], scope["game_config"])
    read = (await api.get(f"/api/v1/plugins/{plugin['id']}")).json()
    assert (read["games"], read["game_config"]) == (scope["games"], scope["game_config"])

    viewer = (await new_key(api, "viewer"))["key"]
    seen = (await api.get(f"/api/v1/plugins/{plugin['id']}", headers=bearer(viewer))).json()
    assert (seen["games"], seen["game_config"]) == (scope["games"], None), "configuration is for admins"
    assert (await api.put(url, json={}, headers=bearer(viewer))).status_code == 403

    # the configuration stays valid under every override: without `threshold`, `label` (beta's) is not
    threshold = (await api.get(f"/api/v1/plugins/{plugin['id']}/config")).json()["items"][0]
    at, message = first_error(await api.delete(f"/api/v1/plugins/{plugin['id']}/config/{threshold['id']}"))
    assert at == ["body", "config"]
    assert "override for game 'id:21779'" in message

    cleared = await api.put(url, json={})
    assert (cleared.json()["games"], cleared.json()["game_config"]) == (None, {}), "every game again"

    events = await kafka_reader.wait_for(
        "plugin.changed", lambda e: e["plugin_id"] == plugin["id"] and e["change"] == "scope", count=2
    )
    assert (events[0]["games"], events[0]["game_config"]) == (scope["games"], scope["game_config"])
    assert events[0]["config"] == {"threshold": 0.5}
    assert (events[1]["games"], events[1]["game_config"]) == (None, {})


async def new_clip(api: httpx.AsyncClient, **game: str) -> str:
    body = {"title": "scoped", "file_path": f"/scope/{uuid.uuid4()}.mp4", **game}
    response = await api.post("/api/v1/clips", json=body)
    assert response.status_code == 201, response.text
    clip_id: str = response.json()["id"]
    return clip_id


async def test_a_backfill_of_a_limited_plugin_takes_only_its_games_clips(
    api: httpx.AsyncClient, kafka_reader: KafkaReader
) -> None:
    game, game_id = f"Scope Game {uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    ours = [
        await new_clip(api, game_name=game),
        await new_clip(api, game_name=game.upper()),
        await new_clip(api, game_name="Another name", game_id=game_id),
    ]
    await new_clip(api, game_name=f"Other {game}")
    await new_clip(api)
    plugin = await register(api)
    assert (await api.post(f"/api/v1/plugins/{plugin['id']}/enable")).status_code == 200
    scope = {"games": [{"game_name": game.lower()}, {"game_id": game_id}]}
    assert (await api.put(f"/api/v1/plugins/{plugin['id']}/scope", json=scope)).status_code == 200

    backfill = (await api.post(f"/api/v1/plugins/{plugin['id']}/backfill", json={"scope": "all"})).json()
    assert backfill["total"] == len(ours)
    events = await kafka_reader.wait_for("clip.captured", of_backfill(backfill), count=len(ours))
    assert sorted(e["clip_id"] for e in events) == sorted(ours)
    assert all(e["plugins"] == [plugin["name"]] for e in events)


async def test_reprocessing_a_clip_with_a_plugin_limited_to_other_games_is_422(
    api: httpx.AsyncClient,
) -> None:
    plugin = await register(api)
    assert (
        await api.put(f"/api/v1/plugins/{plugin['id']}/scope", json={"games": [VALORANT]})
    ).status_code == 200
    apex, valorant = await new_clip(api, game_name="Apex Legends"), await new_clip(api, game_name="valorant")
    refused = await api.post(f"/api/v1/clips/{apex}/reprocess", json={"plugins": [plugin["name"]]})
    at, message = first_error(refused)
    assert at == ["body", "plugins"]
    assert plugin["name"] in message
    accepted = await api.post(f"/api/v1/clips/{valorant}/reprocess", json={"plugins": [plugin["name"]]})
    assert accepted.status_code == 202, accepted.text
