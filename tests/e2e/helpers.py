"""What e2e tests do over and over: create clips, wait for plugin results, flip plugins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.polling import until
from tests.seed import SEED_CLIP

FINAL = {"completed", "completed_with_errors", "failed"}
SERVICES = {"api", "plugin-runner", "metadata"}


async def create_clip(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/clips", json={**SEED_CLIP, **overrides})
    assert response.status_code == 201, response.text
    clip: dict[str, Any] = response.json()
    return clip


async def wait_for_clip(
    client: httpx.AsyncClient, clip_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        clip: dict[str, Any] = (await client.get(f"/api/v1/clips/{clip_id}")).json()
        return clip if done(clip) else None

    clip: dict[str, Any] = await until(reached, timeout=timeout, every=0.1)
    return clip


def results(clip: dict[str, Any]) -> dict[str, Any]:
    plugins: dict[str, Any] = clip["metadata"].get("plugins", {})
    return plugins


async def processed_clip(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    """A new clip, once the runners have reported on it."""
    clip = await create_clip(client, **overrides)
    return await wait_for_clip(client, clip["id"], lambda c: c["status"] in FINAL)


async def plugin_named(client: httpx.AsyncClient, name: str) -> dict[str, Any] | None:
    page = (await client.get("/api/v1/plugins", params={"limit": 500})).json()
    return next((p for p in page["items"] if p["name"] == name), None)


async def set_enabled(client: httpx.AsyncClient, name: str, enabled: bool) -> dict[str, Any]:
    plugin = await until(lambda: plugin_named(client, name))
    response = await client.post(f"/api/v1/plugins/{plugin['id']}/{'enable' if enabled else 'disable'}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def until_clips_show(
    client: httpx.AsyncClient, check: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> dict[str, Any]:
    """Create clips until one processed clip passes `check` (a registry change reaches the
    runners through Kafka, so it applies to clips from a moment later on)."""

    async def attempt() -> dict[str, Any] | None:
        clip = await processed_clip(client)
        return clip if check(clip) else None

    result: dict[str, Any] = await until(attempt, timeout=timeout, every=0.2)
    return result


async def ready_instances(client: httpx.AsyncClient) -> dict[str, list[dict[str, Any]]] | None:
    """The stack's processes by service once each service has one ready, its runner with its
    plugins loaded and every worker with its lag reported; else None."""
    status = (await client.get("/api/v1/status")).json()
    by_service: dict[str, list[dict[str, Any]]] = {}
    for instance in status["instances"]:
        if instance["state"] == "ready" and instance["service"] in SERVICES:
            by_service.setdefault(instance["service"], []).append(instance)
    lagging = {p["group"] for p in status["consumer_lag"]}
    if by_service.keys() != SERVICES or not {"plugin-runner", "metadata"} <= lagging:
        return None
    if not any(r["plugins"] for r in by_service["plugin-runner"]):
        return None
    return by_service
