"""Fault suite: hostile requests against the running API. Each one is a 4xx naming the field and
the reason; none is a 5xx, and none leaves anything behind."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.seed import SEED_CLIP

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

CLIP = "/api/v1/clips"
PLUGIN = {"name": "hostile_probe", "display_name": "Probe", "version": "1.0.0"}

# (method, path, JSON body or None, query, the field the answer must name)
HOSTILE: list[tuple[str, str, dict[str, Any] | None, dict[str, str], str]] = [
    ("POST", CLIP, {**SEED_CLIP, "title": "a\ud800b"}, {}, "title"),
    ("POST", CLIP, {**SEED_CLIP, "tags": ["ok", "\udfff"]}, {}, "tags"),
    ("POST", CLIP, {**SEED_CLIP, "description": "x\ud800"}, {}, "description"),
    ("POST", CLIP, {**SEED_CLIP, "metadata": {"\ud800": 1}}, {}, "metadata"),
    ("POST", CLIP, {**SEED_CLIP, "metadata": {"k": ["a\x00"]}}, {}, "metadata"),
    ("POST", CLIP, {**SEED_CLIP, "metadata": {"k": "x" * 70_000}}, {}, "metadata"),
    ("POST", CLIP, {**SEED_CLIP, "title": "   "}, {}, "title"),
    ("POST", CLIP, {**SEED_CLIP, "recorded_at": "0001-01-01T00:00:00+14:00"}, {}, "recorded_at"),
    ("POST", CLIP, {**SEED_CLIP, "recorded_at": "9999-12-31T23:59:59-14:00"}, {}, "recorded_at"),
    ("POST", CLIP, {**SEED_CLIP, "recorded_at": 0}, {}, "recorded_at"),
    ("POST", CLIP, {**SEED_CLIP, "recorded_at": "1700000000"}, {}, "recorded_at"),
    ("POST", CLIP, {**SEED_CLIP, "file_size": True}, {}, "file_size"),
    ("POST", CLIP, {**SEED_CLIP, "fps": "60"}, {}, "fps"),
    ("GET", CLIP, None, {"recorded_after": "0001-01-01T00:00:00+14:00"}, "recorded_after"),
    ("GET", CLIP, None, {"recorded_before": "9999-12-31T23:59:59-14:00"}, "recorded_before"),
    ("GET", CLIP, None, {"recorded_before": "0.5"}, "recorded_before"),
    ("GET", CLIP, None, {"q": "a\x00"}, "q"),
    ("POST", "/api/v1/plugins", {**PLUGIN, "display_name": "\ud800"}, {}, "display_name"),
    ("POST", "/api/v1/plugins", {**PLUGIN, "metadata": {"a": {"b\x00": 1}}}, {}, "metadata"),
    ("POST", "/api/v1/plugins", {**PLUGIN, "enabled": 1}, {}, "enabled"),
]


@pytest.mark.parametrize(("method", "path", "body", "query", "field"), HOSTILE)
async def test_hostile_input_is_a_4xx_naming_the_field(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    query: dict[str, str],
    field: str,
) -> None:
    before = (await client.get(CLIP, params={"limit": 1})).json()["total"]
    # json.dumps escapes a lone surrogate as \\ud800, as a hostile client would send it.
    content = json.dumps(body).encode() if body is not None else None
    response = await client.request(
        method, path, params=query, content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    named = {str(part) for entry in response.json()["detail"] for part in entry["loc"]}
    assert field in named, response.text
    assert all(entry["msg"] for entry in response.json()["detail"])
    assert (await client.get(CLIP, params={"limit": 1})).json()["total"] == before, "nothing was stored"


async def test_options_and_wrong_methods_name_exactly_the_allowed_methods(client: httpx.AsyncClient) -> None:
    options = await client.options(CLIP)
    assert options.status_code == 204
    assert options.headers["allow"] == "GET, OPTIONS, POST"
    wrong = await client.patch(f"{CLIP}/00000000-0000-0000-0000-000000000000")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "DELETE, GET, OPTIONS, PUT"
