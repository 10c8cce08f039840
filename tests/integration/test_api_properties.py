"""Property-based: whatever JSON a client sends, the API answers 2xx or a 4xx naming the field,
never a 5xx; and what it accepts, it stores as sent."""

from __future__ import annotations

import math
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.inprocess import client_of

pytestmark = pytest.mark.integration

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
CLIP_FIELDS = [
    "title",
    "description",
    "file_path",
    "resolution",
    "fps",
    "codec",
    "duration",
    "file_size",
    "game_name",
    "game_id",
    "tags",
    "metadata",
    "recorded_at",
]
clip_like = st.dictionaries(st.sampled_from(CLIP_FIELDS) | st.text(max_size=8), json_values, max_size=8)

# Text as users type it (no control characters, no lone surrogates), stored exactly as sent.
printable = st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=100)
valid_clips = st.fixed_dictionaries(
    {
        "title": printable.filter(lambda s: bool(s.strip())),
        "file_path": printable.filter(lambda s: bool(s.strip())),
    },
    optional={
        "fps": st.floats(min_value=0.01, max_value=1000),
        "duration": st.floats(min_value=0, max_value=86_400),
        "file_size": st.integers(min_value=0, max_value=2**53),
        "resolution": st.builds(lambda w, h: f"{w}x{h}", st.integers(1, 99999), st.integers(1, 99999)),
        "tags": st.lists(printable.filter(lambda s: 0 < len(s.strip()) <= 50), max_size=5),
        "metadata": st.dictionaries(
            st.text(max_size=10).filter(lambda k: k != "plugins" and "\x00" not in k),
            st.integers(-(2**40), 2**40)
            | st.booleans()
            | st.text(max_size=20).filter(lambda s: "\x00" not in s),
            max_size=4,
        ),
    },
)

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def encode(body: Any) -> bytes:
    import json

    return json.dumps(body, allow_nan=True).encode()


@SETTINGS
@given(body=clip_like)
async def test_arbitrary_json_never_gets_a_5xx(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await api.post(
        "/api/v1/clips", content=encode(body), headers={"content-type": "application/json"}
    )
    assert response.status_code < 500, response.text
    if response.status_code == 422:
        assert all(e["loc"] and e["msg"] for e in response.json()["detail"])


@SETTINGS
@given(body=valid_clips)
async def test_valid_clips_are_stored_as_sent(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await api.post("/api/v1/clips", json=body)
    assert response.status_code == 201, response.text
    stored = (await api.get(response.headers["location"])).json()
    assert stored["title"] == body["title"]
    assert stored["file_path"] == body["file_path"]
    assert stored["metadata"] == body.get("metadata", {})
    assert stored["tags"] == body.get("tags", [])
    for field in ("fps", "duration"):
        if field in body:
            assert math.isclose(stored[field], body[field])
    if "file_size" in body:
        assert stored["file_size"] == body["file_size"]


@pytest.fixture(scope="module")
async def scratch_plugin(api_app: FastAPI) -> int:
    """A plugin of this module's own, so generated configuration touches nothing else."""
    async with client_of(api_app) as client:
        response = await client.post(
            "/api/v1/plugins",
            json={
                "name": f"prop_{uuid.uuid4().hex[:10]}",
                "display_name": "Property test",
                "version": "1.0.0",
            },
        )
    assert response.status_code == 201
    plugin_id: int = response.json()["id"]
    return plugin_id


@SETTINGS
@given(key=st.text(max_size=140), value=json_values)
async def test_arbitrary_plugin_configuration_never_gets_a_5xx(
    api: httpx.AsyncClient, scratch_plugin: int, key: str, value: Any
) -> None:
    pid = scratch_plugin
    response = await api.post(
        f"/api/v1/plugins/{pid}/config",
        content=encode({"key": key, "value": value}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code < 500, response.text
