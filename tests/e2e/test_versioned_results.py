"""Versioned results on the running stack (issue 17, part 4): every stored result records the hash
of the configuration it ran with, and after a configuration change a backfill of `other_config`
reprocesses exactly the clips made before the change, whose results then carry the new hash.

A plugin of its own (dropped into the plugin folder, enabled for this test only), so that "exactly"
holds whatever else the session's clips went through."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clipforge.plugin_scope import config_hash
from tests.e2e.conftest import RunningStack
from tests.e2e.helpers import plugin_named, processed_clip, results, set_enabled
from tests.e2e.test_plugins import GREETER, drop, unique
from tests.kafka_reader import KafkaReader, of_backfill
from tests.polling import until

pytestmark = pytest.mark.e2e


async def test_a_configuration_change_then_other_config_redoes_exactly_the_clips_made_before(
    stack: RunningStack, client: httpx.AsyncClient, kafka_reader: KafkaReader
) -> None:
    name = unique("versioned")
    drop(stack, name, GREETER)
    plugin = await until(lambda: plugin_named(client, name))
    url = f"/api/v1/plugins/{plugin['id']}"
    configured = await client.put(f"{url}/config", json={"set": {"greeting": "hi", "timeout_s": 20}})
    assert configured.status_code == 200, configured.text
    old, new = config_hash({"greeting": "hi"}), config_hash({"greeting": "hey"})
    await set_enabled(client, name, True)
    try:

        async def clip_with(greeting: str) -> dict[str, Any] | None:
            clip = await processed_clip(client)
            ran = results(clip).get(name)
            return clip if ran is not None and ran.get("greeting") == greeting else None

        before = [await until(lambda: clip_with("hi"), timeout=60, every=0.2) for _ in range(2)]
        for clip in before:
            run = results(clip)[name]["_run"]
            assert (run["status"], run["version"], run["config_hash"]) == ("ok", "1.0.0", old)

        changed = await client.put(f"{url}/config", json={"set": {"greeting": "hey"}})  # timeout_s stays
        assert changed.status_code == 200, changed.text
        after = await until(lambda: clip_with("hey"), timeout=60, every=0.2)  # the runners have it
        assert results(after)[name]["_run"]["config_hash"] == new
        # clips made while the change was on its way carry the old hash: they are redone too
        listed = (await client.get("/api/v1/clips", params={"limit": 500})).json()["items"]
        made_before = {
            c["id"] for c in listed if results(c).get(name, {}).get("_run", {}).get("config_hash") == old
        }
        assert {c["id"] for c in before} <= made_before

        started = await client.post(f"{url}/backfill", json={"scope": "other_config"})
        assert started.status_code == 202, started.text
        backfill = started.json()
        assert backfill["total"] == len(made_before)
        events = await kafka_reader.wait_for("clip.captured", of_backfill(backfill), count=backfill["total"])
        assert {e["clip_id"] for e in events} == made_before, "exactly the clips made before the change"

        async def finished() -> dict[str, Any] | None:
            progress: dict[str, Any] = (await client.get(started.headers["location"])).json()
            return progress if progress["pending"] == 0 else None

        progress = await until(finished, timeout=120)
        assert (progress["done"], progress["failed"]) == (backfill["total"], 0)
        for clip_id in made_before:
            redone = results((await client.get(f"/api/v1/clips/{clip_id}")).json())[name]
            assert (redone["greeting"], redone["_run"]["config_hash"]) == ("hey", new)
        again = (await client.post(f"{url}/backfill", json={"scope": "other_config"})).json()
        assert again["total"] == 0, "nothing left made with another configuration"
    finally:
        await client.put(f"{url}/config", json={"set": {"greeting": "hi"}})  # as it was
        await set_enabled(client, name, False)
