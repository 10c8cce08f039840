"""Per-game scope on the running stack: a plugin dropped into a folder, limited to Valorant with
an override, runs on Valorant clips with that override and never on another game's clip (which
still completes), and its backfill takes only Valorant clips."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RunningStack
from tests.e2e.helpers import FINAL, create_clip, plugin_named, processed_clip, results, set_enabled
from tests.e2e.test_plugins import GREETER, drop, unique
from tests.kafka_reader import KafkaReader, of_backfill
from tests.polling import until

pytestmark = pytest.mark.e2e


async def test_a_plugin_scoped_to_one_game_never_runs_on_another_game_s_clip(
    stack: RunningStack, client: httpx.AsyncClient, kafka_reader: KafkaReader
) -> None:
    name = unique("scoped")
    drop(stack, name, GREETER)
    plugin = await until(lambda: plugin_named(client, name))
    configured = await client.post(
        f"/api/v1/plugins/{plugin['id']}/config", json={"key": "greeting", "value": "hi"}
    )
    assert configured.status_code == 201, configured.text
    bad = await client.put(
        f"/api/v1/plugins/{plugin['id']}/scope",
        json={"games": [{"game_name": "Valorant"}], "game_config": {"Valorant": {"greeting": 42}}},
    )
    assert bad.status_code == 422, "checked against the plugin's own schema"
    assert bad.json()["detail"][0]["loc"] == ["body", "game_config", "Valorant", "greeting"]
    scope = {"games": [{"game_name": "Valorant"}], "game_config": {"Valorant": {"greeting": "gg"}}}
    scoped = await client.put(f"/api/v1/plugins/{plugin['id']}/scope", json=scope)
    assert scoped.status_code == 200, scoped.text
    await set_enabled(client, name, True)
    try:

        async def valorant_with_result() -> dict[str, Any] | None:
            clip = await processed_clip(client, game_name="Valorant")
            return clip if name in results(clip) else None

        valorant = await until(valorant_with_result, timeout=60, every=0.2)
        assert results(valorant)[name]["greeting"] == "gg", "made with the Valorant override"
        assert results(valorant)[name]["at_start"] == "gg"
        assert results(valorant)[name]["_run"]["status"] == "ok"

        apex = await processed_clip(client, game_name="Apex Legends")
        assert name not in results(apex), "no result from it, not even a skipped one"
        assert apex["status"] in FINAL, "and the clip still completes"
        assert results(apex)["tag_suggester"]["_run"]["status"] == "ok", "the other plugins ran"
        (run,) = (await client.get(f"/api/v1/clips/{apex['id']}/processing")).json()["runs"]
        assert name not in run["due"]
        assert run["completed_at"] is not None

        # its backfill takes the Valorant clips only (every one of them: `all`)
        pending = await create_clip(client, game_name="Apex Legends")
        valorant_clips = (
            await client.get("/api/v1/clips", params={"game_name": "Valorant", "limit": 500})
        ).json()
        started = await client.post(f"/api/v1/plugins/{plugin['id']}/backfill", json={"scope": "all"})
        assert started.status_code == 202, started.text
        backfill = started.json()
        # the list filter is exact; a scope's game name matches in any case (other tests made
        # "valorant" clips too), so the backfill takes at least the exact ones, and nothing else
        assert backfill["total"] >= valorant_clips["total"] >= 1
        events = await kafka_reader.wait_for("clip.captured", of_backfill(backfill), count=backfill["total"])
        assert {e["clip"]["game_name"].casefold() for e in events} == {"valorant"}
        assert {e["clip_id"] for e in events} >= {c["id"] for c in valorant_clips["items"]}
        assert pending["id"] not in {e["clip_id"] for e in events}

        async def finished() -> dict[str, Any] | None:
            progress: dict[str, Any] = (await client.get(started.headers["location"])).json()
            return progress if progress["pending"] == 0 else None

        progress = await until(finished, timeout=120)
        assert (progress["done"], progress["failed"]) == (backfill["total"], 0)
        for clip_id in (apex["id"], pending["id"]):
            clip = (await client.get(f"/api/v1/clips/{clip_id}")).json()
            assert name not in results(clip)
    finally:
        await set_enabled(client, name, False)
