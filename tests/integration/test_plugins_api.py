"""The plugin registry and configuration endpoints against the real database and broker."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Plugin
from tests.kafka_reader import KafkaReader

pytestmark = pytest.mark.integration

SCHEMA = {
    "type": "object",
    "properties": {"threshold": {"type": "number", "minimum": 0, "maximum": 1}},
    "additionalProperties": False,
}


def plugin_body(**overrides: Any) -> dict[str, Any]:
    name = f"p_{uuid.uuid4().hex[:10]}"
    return {
        "name": name,
        "display_name": "Test Plugin",
        "version": "1.0.0",
        "plugin_type": "python",
        "entry_point": f"{name}.py",
        **overrides,
    }


async def register(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/plugins", json=plugin_body(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_seed_register_example_is_accepted(api: httpx.AsyncClient) -> None:
    """The seed's curl body, under a name the runners have not already registered."""
    body = {
        "name": "highlight_detector_copy",
        "display_name": "Highlight Detector",
        "version": "0.1.0",
        "plugin_type": "python",
        "entry_point": "plugins/highlight_detector.py",
        "enabled": True,
    }
    response = await api.post("/api/v1/plugins", json=body)
    assert response.status_code in (201, 409)
    if response.status_code == 201:
        assert response.headers["location"] == f"/api/v1/plugins/{response.json()['id']}"
        assert response.json()["enabled"] is True
        assert response.json()["source"] == "api"


async def test_crud_and_events(api: httpx.AsyncClient, kafka_reader: KafkaReader) -> None:
    plugin = await register(api, author="me", description="does things")
    pid, name = plugin["id"], plugin["name"]
    read = (await api.get(f"/api/v1/plugins/{pid}")).json()
    assert read["recent_runs"]["runs"] == 0
    assert read == {**plugin, "recent_runs": read["recent_runs"]}, "a read adds its recent runs, nothing else"

    updated = await api.put(f"/api/v1/plugins/{pid}", json={"version": "1.1.0", "description": None})
    assert updated.status_code == 200
    assert (updated.json()["version"], updated.json()["description"]) == ("1.1.0", None)

    assert (await api.post(f"/api/v1/plugins/{pid}/enable")).json()["enabled"] is True
    assert (await api.post(f"/api/v1/plugins/{pid}/disable")).json()["enabled"] is False
    assert (await api.delete(f"/api/v1/plugins/{pid}")).status_code == 204
    assert (await api.get(f"/api/v1/plugins/{pid}")).status_code == 404

    events = await kafka_reader.wait_for("plugin.changed", lambda e: e["name"] == name, count=5)
    assert [e["change"] for e in events] == ["registered", "updated", "enabled", "disabled", "deleted"]
    assert [e["enabled"] for e in events] == [False, False, True, False, False]
    assert all(e["_key"] == name and e["plugin_id"] == pid for e in events)


async def test_duplicate_name_is_409(api: httpx.AsyncClient) -> None:
    plugin = await register(api)
    again = await api.post("/api/v1/plugins", json=plugin_body(name=plugin["name"]))
    assert again.status_code == 409
    assert plugin["name"] in again.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Bad-Name"),
        ("name", "x"),
        ("version", "1.0"),
        ("entry_point", "../escape.py"),
        ("entry_point", "/etc/passwd"),
        ("entry_point", "a/../../b.py"),
        ("plugin_type", "Rust!"),
        ("display_name", ""),
        ("enabled", "maybe"),
    ],
)
async def test_bad_plugin_fields_are_422_naming_the_field(
    api: httpx.AsyncClient, field: str, value: Any
) -> None:
    response = await api.post("/api/v1/plugins", json=plugin_body(**{field: value}))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]


async def test_list_filters_and_paginates(api: httpx.AsyncClient) -> None:
    kind = f"k{uuid.uuid4().hex[:8]}"
    a = await register(api, plugin_type=kind, enabled=True)
    b = await register(api, plugin_type=kind)
    page = (await api.get("/api/v1/plugins", params={"plugin_type": kind})).json()
    assert {p["id"] for p in page["items"]} == {a["id"], b["id"]}
    assert page["total"] == 2
    enabled = (await api.get("/api/v1/plugins", params={"plugin_type": kind, "enabled": True})).json()
    assert [p["id"] for p in enabled["items"]] == [a["id"]]
    one = (await api.get("/api/v1/plugins", params={"plugin_type": kind, "limit": 1, "offset": 1})).json()
    assert (len(one["items"]), one["total"], one["offset"]) == (1, 2, 1)


async def test_unknown_ids_are_404(api: httpx.AsyncClient) -> None:
    plugin = await register(api)
    for method, path in [
        ("GET", "/api/v1/plugins/999999"),
        ("PUT", "/api/v1/plugins/999999"),
        ("DELETE", "/api/v1/plugins/999999"),
        ("POST", "/api/v1/plugins/999999/enable"),
        ("GET", "/api/v1/plugins/999999/config"),
        ("PUT", f"/api/v1/plugins/{plugin['id']}/config/999999"),
        ("DELETE", f"/api/v1/plugins/{plugin['id']}/config/999999"),
    ]:
        body = ({"value": 1} if "/config/" in path else {"version": "2.0.0"}) if method == "PUT" else None
        response = await api.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)


async def test_configuration_crud_validated_against_the_declared_schema(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], kafka_reader: KafkaReader
) -> None:
    plugin = await register(api)
    pid = plugin["id"]
    async with sessions() as session, session.begin():
        await session.execute(
            update(Plugin).where(Plugin.id == pid).values(plugin_metadata={"config_schema": SCHEMA})
        )

    bad = await api.post(f"/api/v1/plugins/{pid}/config", json={"key": "threshold", "value": 7})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "config", "threshold"]
    unknown = await api.post(f"/api/v1/plugins/{pid}/config", json={"key": "colour", "value": "red"})
    assert unknown.status_code == 422

    created = await api.post(f"/api/v1/plugins/{pid}/config", json={"key": "threshold", "value": 0.5})
    assert created.status_code == 201
    cid = created.json()["id"]
    assert created.headers["location"] == f"/api/v1/plugins/{pid}/config/{cid}"
    assert (
        await api.post(f"/api/v1/plugins/{pid}/config", json={"key": "threshold", "value": 0.1})
    ).status_code == 409
    assert (
        await api.post(f"/api/v1/plugins/{pid}/config", json={"key": "timeout_s", "value": 2})
    ).status_code == 201

    assert (await api.put(f"/api/v1/plugins/{pid}/config/{cid}", json={"value": 2})).status_code == 422
    changed = await api.put(f"/api/v1/plugins/{pid}/config/{cid}", json={"value": 0.9})
    assert changed.status_code == 200
    assert changed.json()["value"] == 0.9

    listing = (await api.get(f"/api/v1/plugins/{pid}/config")).json()
    assert {c["key"]: c["value"] for c in listing["items"]} == {"threshold": 0.9, "timeout_s": 2}
    assert (await api.delete(f"/api/v1/plugins/{pid}/config/{cid}")).status_code == 204

    events = await kafka_reader.wait_for(
        "plugin.changed", lambda e: e["plugin_id"] == pid and e["change"] == "config", count=4
    )
    assert events[-1]["config"] == {"timeout_s": 2}
    assert events[-2]["config"] == {"threshold": 0.9, "timeout_s": 2}


async def test_configuration_goes_with_its_plugin(api: httpx.AsyncClient) -> None:
    plugin = await register(api)
    assert (
        await api.post(f"/api/v1/plugins/{plugin['id']}/config", json={"key": "k", "value": [1, 2]})
    ).status_code == 201
    assert (await api.delete(f"/api/v1/plugins/{plugin['id']}")).status_code == 204
    again = await register(api, name=plugin["name"])
    assert (await api.get(f"/api/v1/plugins/{again['id']}/config")).json()["total"] == 0
