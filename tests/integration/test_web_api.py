"""What the web app needs of the API, against the real database: media tokens for `<video>` and
`<img>`, each plugin's recent runs, settings saved all at once or not at all, backfills over
every clip, and the app itself served at `/` with the API's paths left alone."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Clip, PluginRun
from clipforge.keys import Role, digest
from clipforge.settings import Settings
from clipforge_api.auth import Caller, media_token
from clipforge_api.browser import APP_CSP
from clipforge_api.web_app import IMMUTABLE
from tests.integration.inprocess import api_on, client_of
from tests.integration.test_plugins_api import register

pytestmark = pytest.mark.integration

SCHEMA = {
    "type": "object",
    "properties": {"threshold": {"type": "number", "minimum": 0, "maximum": 1}, "label": {"type": "string"}},
    "additionalProperties": False,
}


async def new_clip(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.post("/api/v1/clips", json={"title": "web", "file_path": f"/w/{uuid.uuid4()}.mp4"})
    assert response.status_code == 201, response.text
    clip: dict[str, Any] = response.json()
    return clip


# -- media tokens ------------------------------------------------------------------------------


async def test_a_media_token_reads_media_only_and_only_while_current(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    clip = await new_clip(api)
    made = await api.post("/api/v1/media-token")
    assert made.status_code == 200, made.text
    token = made.json()["access"]
    assert made.json()["expires_at"]
    async with client_of(api_app, key="") as anonymous:
        anonymous.headers.pop("Authorization")
        poster = f"/api/v1/clips/{clip['id']}/thumbnail"
        assert (await anonymous.get(poster)).status_code == 401
        # Authenticated by the token: the clip has no poster yet, which is a 404, not a 401.
        assert (await anonymous.get(poster, params={"access": token})).status_code == 404
        media = await anonymous.get(f"/api/v1/clips/{clip['id']}/media", params={"access": token})
        assert media.status_code == 404, media.text
        # Not a key: no other route takes it, nor a write.
        assert (
            await anonymous.get(f"/api/v1/clips/{clip['id']}", params={"access": token})
        ).status_code == 401
        assert (await anonymous.get("/api/v1/keys", params={"access": token})).status_code == 401
        upload = await anonymous.post("/api/v1/clips/upload", params={"access": token}, files={"file": b"x"})
        assert upload.status_code == 401
        key_id, expires, mac = token.split(".")
        forged = f"{key_id}.{int(expires) + 3600}.{mac}"
        assert (await anonymous.get(poster, params={"access": forged})).status_code == 401
        assert (await anonymous.get(poster, params={"access": "nonsense"})).status_code == 401


async def test_a_media_token_expires_and_dies_with_its_key(api: httpx.AsyncClient, api_app: FastAPI) -> None:
    clip = await new_clip(api)
    created = (await api.post("/api/v1/keys", json={"name": "tv", "role": "viewer"})).json()
    async with client_of(api_app, key=created["key"]) as viewer:
        token = (await viewer.post("/api/v1/media-token")).json()["access"]
    poster = f"/api/v1/clips/{clip['id']}/thumbnail"
    async with client_of(api_app, key="") as anonymous:
        anonymous.headers.pop("Authorization")
        assert (await anonymous.get(poster, params={"access": token})).status_code == 404
        signing = bytes.fromhex(digest(created["key"]))
        me = Caller(uuid.UUID(created["id"]), "tv", Role.VIEWER, signing)
        stale, _ = media_token(me, now=time.time() - 2 * 3600)
        assert (await anonymous.get(poster, params={"access": stale})).status_code == 401
        assert (await api.delete(f"/api/v1/keys/{created['id']}")).status_code == 204
        await asyncio.sleep(1.1)  # a key's lookup is trusted for a second
        assert (await anonymous.get(poster, params={"access": token})).status_code == 401


# -- plugins' recent runs ----------------------------------------------------------------------


async def test_a_plugin_reads_with_a_summary_of_its_recent_runs(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    plugin = await register(api)
    assert (await api.get(f"/api/v1/plugins/{plugin['id']}")).json()["recent_runs"] == {
        "runs": 0,
        "ok": 0,
        "error": 0,
        "timeout": 0,
        "skipped": 0,
        "median_ms": None,
    }
    clip = await new_clip(api)
    outcomes = [("ok", 10.0), ("ok", 30.0), ("error", 20.0), ("timeout", 5000.0)]
    async with sessions() as session, session.begin():
        for status, duration in outcomes:
            session.add(
                PluginRun(
                    run_id=uuid.uuid4(),
                    clip_id=uuid.UUID(clip["id"]),
                    plugin=plugin["name"],
                    version="1.0.0",
                    status=status,
                    duration_ms=duration,
                    attempt=1,
                    event_id=uuid.uuid4(),
                    runner="test",
                )
            )
    summary = (await api.get(f"/api/v1/plugins/{plugin['id']}")).json()["recent_runs"]
    assert summary == {"runs": 4, "ok": 2, "error": 1, "timeout": 1, "skipped": 0, "median_ms": 25.0}
    listed = (await api.get("/api/v1/plugins", params={"limit": 500})).json()["items"]
    assert next(p for p in listed if p["id"] == plugin["id"])["recent_runs"] == summary
    changed = (await api.post(f"/api/v1/plugins/{plugin['id']}/disable")).json()
    assert changed["recent_runs"] is None, "a change answers the plugin, not its history"


# -- settings saved whole ----------------------------------------------------------------------


async def test_settings_are_saved_all_at_once_or_not_at_all(api: httpx.AsyncClient) -> None:
    plugin = await register(api, metadata={"config_schema": SCHEMA})
    base = f"/api/v1/plugins/{plugin['id']}/config"
    first = await api.put(base, json={"set": {"threshold": 0.5, "label": "a", "timeout_s": 20}})
    assert first.status_code == 200, first.text
    assert {r["key"]: r["value"] for r in first.json()["items"]} == {
        "threshold": 0.5,
        "label": "a",
        "timeout_s": 20,
    }

    bad = await api.put(base, json={"set": {"label": "b", "threshold": 5}, "unset": ["timeout_s"]})
    assert bad.status_code == 422, bad.text
    assert bad.json()["detail"][0]["loc"] == ["body", "set", "threshold"]
    after = (await api.get(base)).json()["items"]
    assert {r["key"]: r["value"] for r in after} == {"threshold": 0.5, "label": "a", "timeout_s": 20}, (
        "none of it"
    )

    both = await api.put(base, json={"set": {"label": "c"}, "unset": ["label"]})
    assert both.status_code == 422
    assert "both set and unset" in both.text

    second = await api.put(base, json={"set": {"label": "b"}, "unset": ["timeout_s", "never_set"]})
    assert second.status_code == 200, second.text
    assert {r["key"]: r["value"] for r in second.json()["items"]} == {"threshold": 0.5, "label": "b"}


# -- backfill scope ----------------------------------------------------------------------------


async def test_a_backfill_covers_the_clips_lacking_the_result_or_every_clip(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    plugin = await register(api)
    assert (await api.post(f"/api/v1/plugins/{plugin['id']}/enable")).status_code == 200
    has_it = await new_clip(api)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Clip)
            .where(Clip.id == uuid.UUID(has_it["id"]))
            .values(clip_metadata={"plugins": {plugin["name"]: {"done": True}}})
        )
    url = f"/api/v1/plugins/{plugin['id']}/backfill"
    missing = (await api.post(url)).json()
    every = (await api.post(url, json={"scope": "all"})).json()
    assert every["total"] == missing["total"] + 1
    assert (every["done"], every["failed"], every["pending"]) == (0, 0, every["total"])
    wrong = await api.post(url, json={"scope": "some"})
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"] == ["body", "scope"]


# -- the web app at / --------------------------------------------------------------------------


async def test_the_web_app_is_served_at_the_root_and_the_api_keeps_its_paths(
    settings: Settings, tmp_path: Path
) -> None:
    built = tmp_path / "dist"
    (built / "assets").mkdir(parents=True)
    (built / "index.html").write_text("<!doctype html><title>ClipForge</title><div id=root></div>")
    (built / "assets" / "index-3f2a1b.js").write_text("console.log('app')")
    async with api_on(settings.model_copy(update={"web_dir": built})) as client:
        client.headers.pop("Authorization")  # the app's files need no key: its data does
        root = await client.get("/")
        assert root.status_code == 200
        assert "<title>ClipForge</title>" in root.text
        assert root.headers["cache-control"] == "no-cache"
        assert root.headers["content-security-policy"] == APP_CSP
        deep = await client.get(f"/clips/{uuid.uuid4()}")
        assert deep.status_code == 200
        assert "<title>ClipForge</title>" in deep.text, "the app's router shows it"
        asset = await client.get("/assets/index-3f2a1b.js")
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == IMMUTABLE
        assert (await client.get("/assets/index-000000.js")).status_code == 404, "not the page in its place"
        assert (await client.get("/../pyproject.toml")).status_code in (200, 404)
        assert "[project]" not in (await client.get("/..%2fpyproject.toml")).text
        unknown = await client.get("/api/v1/nothing-here")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/json"
        assert (await client.get("/api/v1/clips")).status_code == 401, "the API's data still needs a key"
        assert (await client.post("/upload")).status_code in (404, 405), "only GET and HEAD are the app's"
        health = await client.get("/health")
        assert health.headers["content-type"] == "application/json", "the API's, not the app's"
        for path in ("/livez", "/readyz", "/metrics"):
            assert "<title>" not in (await client.get(path)).text, f"{path} is the API's"

    async with api_on(settings.model_copy(update={"web_dir": tmp_path / "not-built"})) as client:
        missing = await client.get("/")
        assert missing.status_code == 404
        assert "make web" in missing.text
