"""API keys and roles against the real database: every route's rule (read from the OpenAPI
document, so a new route without one fails here), keys stored as hashes only, revocation within a
second, failed attempts limited, and what browsers are told."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import ApiKey
from clipforge.settings import Settings
from tests.auth import bearer
from tests.integration.inprocess import api_on, client_of
from tests.polling import until

pytestmark = pytest.mark.integration

ROLES = ("viewer", "uploader", "admin")
RANK = {"public": -1, **{role: rank for rank, role in enumerate(ROLES)}}
PATH_VALUES = {
    "clip_id": str(uuid.UUID(int=0)),
    "key_id": str(uuid.UUID(int=0)),
    "backfill_id": str(uuid.UUID(int=0)),
}


def concrete(path: str) -> str:
    """A path with each parameter filled in (an id nothing has: the role is checked first)."""
    return re.sub(
        r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "1" if m.group(1).endswith("_id") else "x"), path
    )


async def new_key(api: httpx.AsyncClient, role: str) -> dict[str, Any]:
    response = await api.post("/api/v1/keys", json={"name": f"test {role}", "role": role})
    assert response.status_code == 201, response.text
    key: dict[str, Any] = response.json()
    return key


@pytest.fixture(scope="module")
async def keys(api_app: FastAPI) -> dict[str, str]:
    async with client_of(api_app) as api:
        return {role: (await new_key(api, role))["key"] for role in ROLES}


async def test_every_route_answers_exactly_its_role(settings: Settings, keys: dict[str, str]) -> None:
    lenient = settings.model_copy(update={"auth_failures_per_minute": 100_000})  # many 401s on purpose
    async with api_on(lenient) as client:
        document = (await client.get("/api/openapi.json")).json()
        operations = [(p, m, op) for p, ops in document["paths"].items() for m, op in ops.items()]
        assert len(operations) >= 30
        for path, method, operation in operations:
            role = operation.get("x-required-role")
            assert role in RANK, f"{method.upper()} {path} has no role rule"
            url = concrete(path)
            anonymous = await client.request(method, url, headers={"Authorization": ""})
            if role == "public":
                assert anonymous.status_code not in (401, 403), f"{method} {path} is public"
                continue
            assert anonymous.status_code == 401, f"{method.upper()} {path} without a key"
            assert anonymous.headers["www-authenticate"] == "Bearer"
            assert operation["security"] == [{"apiKey": []}], "the docs can Authorize"
            for caller in ROLES:
                answer = await client.request(method, url, headers=bearer(keys[caller]))
                if RANK[caller] < RANK[role]:
                    assert answer.status_code == 403, f"{caller} must not {method.upper()} {path}"
                    assert role in answer.json()["detail"]
                else:
                    assert answer.status_code not in (401, 403), f"{caller} may {method.upper()} {path}"


async def test_a_key_is_stored_as_a_hash_shown_once_and_revoked_within_a_second(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    made = await new_key(api, "viewer")
    secret = made["key"]
    assert secret.startswith("cf_")
    assert len(secret) >= 40
    listed = (await api.get("/api/v1/keys")).json()["items"]
    mine = next(k for k in listed if k["id"] == made["id"])
    assert "key" not in mine
    assert secret not in str(listed), "the secret is shown once"
    assert mine["prefix"] == secret[:10]
    async with sessions() as session:
        row = await session.scalar(select(ApiKey).where(ApiKey.id == uuid.UUID(made["id"])))
    assert row is not None
    assert secret not in str([getattr(row, c.name) for c in ApiKey.__table__.columns]), (
        "only its hash is kept"
    )
    assert len(row.secret_sha256) == 64

    clips = "/api/v1/clips"
    assert (await api.get(clips, headers=bearer(secret))).status_code == 200
    assert (await api.delete(f"/api/v1/keys/{made['id']}")).status_code == 204

    async def refused() -> bool:
        return (await api.get(clips, headers=bearer(secret))).status_code == 401

    await until(refused, timeout=2.0, every=0.1)


async def test_an_admin_cannot_delete_the_key_it_is_using(api: httpx.AsyncClient) -> None:
    admin = await new_key(api, "admin")
    response = await api.delete(f"/api/v1/keys/{admin['id']}", headers=bearer(admin["key"]))
    assert response.status_code == 409
    assert (await api.delete(f"/api/v1/keys/{admin['id']}")).status_code == 204, "another admin key can"


async def test_failed_attempts_are_limited_per_client(settings: Settings) -> None:
    strict = settings.model_copy(update={"auth_failures_per_minute": 3})
    async with api_on(strict) as api:
        for _ in range(3):
            assert (await api.get("/api/v1/clips", headers=bearer("cf_wrong"))).status_code == 401
        blocked = await api.get("/api/v1/clips", headers=bearer("cf_wrong"))
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1
        assert (await api.get("/health")).status_code not in (401, 429), "liveness needs no key"


async def test_server_paths_are_for_admins_only(api: httpx.AsyncClient, keys: dict[str, str]) -> None:
    name = f"pathy_{uuid.uuid4().hex[:8]}"
    body = {
        "name": name,
        "display_name": "Pathy",
        "entry_point": "pathy:Pathy",
        "install_path": "srv/plugins/pathy",
        "version": "1.0.0",
    }
    created = await api.post("/api/v1/plugins", json=body)
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    assert (await api.get(url)).json()["install_path"] == "srv/plugins/pathy", "an admin sees it"
    assert (await api.get(url, headers=bearer(keys["viewer"]))).json()["install_path"] is None
    listed = (
        await api.get("/api/v1/plugins", headers=bearer(keys["uploader"]), params={"limit": 500})
    ).json()
    assert all(p["install_path"] is None and p["load_error"] is None for p in listed["items"])


async def test_browsers_get_security_headers_and_no_cors_unless_an_origin_is_named(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    answer = await api.get("/api/v1/clips")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "DELETE"}
    closed = await api.options("/api/v1/clips/x", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    opened = settings.model_copy(update={"cors_origins": "https://app.example"})
    async with api_on(opened) as app_api:
        allowed = await app_api.options(
            "/api/v1/clips", headers={**preflight, "Origin": "https://app.example"}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert (
            "access-control-allow-origin"
            not in (await app_api.options("/api/v1/clips", headers=preflight)).headers
        )


async def test_the_documentation_needs_a_key_unless_public(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    for path in ("/api/openapi.json", "/api/docs", "/api/asyncapi.json"):
        assert (await api.get(path, headers={"Authorization": ""})).status_code == 401, path
        assert (await api.get(path)).status_code == 200, path
    async with api_on(settings.model_copy(update={"public_docs": True})) as public:
        assert (await public.get("/api/openapi.json", headers={"Authorization": ""})).status_code == 200
