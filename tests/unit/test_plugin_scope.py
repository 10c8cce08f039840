"""Per-game scope in the runner: which plugins a clip's run covers, and with which configuration.
The matching rules alone, then the clip.captured handler on FastStream's TestKafkaBroker with a
fake registry (no Kafka, no Postgres) and real plugins in plugin processes, as in production,
with a scope change applied live through `plugin.changed`."""

from __future__ import annotations

import json
import shutil
import tempfile
import textwrap
import uuid
from collections.abc import AsyncIterator, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker

from clipforge.db.clip_ids import Known
from clipforge.events import ClipCaptured, ClipProcessed, ClipRecord, PluginChanged, Topics
from clipforge.messaging import make_broker
from clipforge.plugin_scope import PluginScope, config_hash
from clipforge.settings import Settings
from clipforge_metadata.merge import merge_results
from clipforge_plugin_runner.captured import CapturedHandler
from clipforge_plugin_runner.discovery import Discovered
from clipforge_plugin_runner.hooks import HookHandlers
from clipforge_plugin_runner.host import PluginHost
from clipforge_plugin_runner.registry import PluginState
from tests.unit.test_runner_handlers import collector

VALORANT = {"game_name": "Valorant"}


def test_a_game_name_matches_in_any_case_and_a_game_id_exactly() -> None:
    scope = PluginScope([VALORANT, {"game_id": "21779"}])
    assert scope.includes("VALORANT", None)
    assert scope.includes("valorant", "other-id")
    assert scope.includes(None, "21779")
    assert not scope.includes("Apex Legends", "21779x")
    assert not scope.includes(None, None), "a clip without a game is in no limited plugin's scope"
    assert PluginScope().includes(None, None), "unlimited: every clip"


def test_a_game_s_id_override_applies_before_its_name_s() -> None:
    scope = PluginScope(None, {"valorant": {"k": "name"}, "id:21779": {"k": "id"}})
    assert scope.override_key("Valorant", None) == "valorant"
    assert scope.override_key("Valorant", "21779") == "id:21779"
    assert scope.override_key("Apex Legends", None) is None
    assert scope.configurations({"k": "own", "other": 1}) == {
        "valorant": {"k": "name", "other": 1},
        "id:21779": {"k": "id", "other": 1},
    }


# `initialize()` reads the configuration (as the README's Greeter does), and the hook reports
# both what initialize() saw and `self.config` at call time: an override must reach both.
GREETER = """
from pydantic import BaseModel
from clipforge.sdk import PluginBase, PluginMetadata

class Greeting(BaseModel):
    greeting: str = "hello"
    punctuation: str = "."

class Greeter(PluginBase):
    config_model = Greeting

    @property
    def metadata(self):
        return PluginMetadata(name="{name}", display_name="{name}", version="1.0.0")

    def initialize(self):
        self.at_start = self.config.greeting

    def on_clip_captured(self, clip_data):
        return {"at_start": self.at_start, "greeting": self.config.greeting + self.config.punctuation}

    def on_clip_processed(self, clip_data):
        return None
"""


class FakeRegistry:
    """The registry's rows in memory; a test changes `states` and announces it."""

    def __init__(self, states: dict[str, PluginState]) -> None:
        self.states = states

    async def sync_discovered(self, found: Iterable[Discovered]) -> list[str]:
        return [d.name for d in found]

    async def enabled(self) -> list[PluginState]:
        return [s for _, s in sorted(self.states.items()) if s.enabled]

    async def get(self, name: str) -> PluginState | None:
        return self.states.get(name)

    async def record_error(self, name: str, error: str | None) -> None:
        assert error is None, error


async def lookup(ids: Collection[uuid.UUID]) -> Known:
    return Known(stored=set(ids), deleted=set())


class Runner:
    """A runner's clip.captured and plugin.changed subscribers on a test broker."""

    def __init__(self, handler: CapturedHandler, registry: FakeRegistry) -> None:
        self.broker = handler.broker
        self.host = handler.host
        self.registry = registry
        self.processed: list[dict[str, Any]] = []
        self.broker.subscriber(Topics.CLIP_PROCESSED)(collector(self.processed))

    async def run(self, game: dict[str, str], plugins: list[str] | None = None) -> dict[str, Any]:
        """A clip of this game captured; its one clip.processed."""
        clip_id = uuid.uuid4()
        event = ClipCaptured(
            clip_id=clip_id,
            clip=ClipRecord.model_validate({"id": clip_id, "title": "t", "file_path": "/t.mp4", **game}),
            plugins=plugins,
        )
        await self.broker.publish(event.model_dump_json().encode(), Topics.CLIP_CAPTURED, key=str(clip_id))
        (processed,) = [p for p in self.processed if p["clip_id"] == str(clip_id)]
        return processed

    async def change(self, name: str, state: PluginState) -> None:
        """Change the plugin's row and announce it, as the API does."""
        self.registry.states[name] = state
        change = PluginChanged(plugin_id=1, name=name, change="scope", enabled=state.enabled)
        await self.broker.publish(change.model_dump_json().encode(), Topics.PLUGIN_CHANGED)


def results(processed: dict[str, Any]) -> dict[str, Any]:
    return {r["plugin"]: r["result"] if r["status"] == "ok" else r for r in processed["results"]}


@pytest.fixture
def plugins_path() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="clipforge-unit-scope-"))
    folder.chmod(0o755)  # the plugin user reads it when the tests run as root
    for name in ("greeter", "everywhere"):
        (folder / f"{name}.py").write_text(textwrap.dedent(GREETER).replace("{name}", name))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def runner(plugins_path: Path) -> AsyncIterator[Runner]:
    registry = FakeRegistry(
        {
            "greeter": PluginState(
                "greeter",
                True,
                {"greeting": "hi"},
                PluginScope([VALORANT, {"game_id": "21779"}], {"Valorant": {"greeting": "gg"}}),
            ),
            "everywhere": PluginState("everywhere", True),
        }
    )
    settings = Settings(CLIPFORGE_PARTIAL_REPORT_S=30, CLIPFORGE_INSTANCE="unit")
    host = PluginHost(registry, [plugins_path], 10.0, max_result_bytes=1024)
    await host.start()
    broker = make_broker(settings, client_id="unit")
    handler = CapturedHandler(broker, host, lookup, settings)
    broker.subscriber(Topics.CLIP_CAPTURED, group_id="plugin-runner", batch=True)(handler.on_batch)
    broker.subscriber(Topics.PLUGIN_CHANGED)(HookHandlers(host, handler.dead_letters).on_plugin_changed)
    runner = Runner(handler, registry)
    async with TestKafkaBroker(broker):
        yield runner
    await host.stop()


async def test_a_limited_plugin_runs_on_its_game_s_clips_with_that_game_s_configuration(
    runner: Runner,
) -> None:
    valorant = await runner.run({"game_name": "VALORANT"})
    assert valorant["due"] == ["everywhere", "greeter"]
    assert results(valorant)["greeter"] == {"at_start": "gg", "greeting": "gg."}, "the override, merged"
    assert results(valorant)["everywhere"] == {"at_start": "hello", "greeting": "hello."}

    by_id = await runner.run({"game_name": "Valorant (beta)", "game_id": "21779"})
    assert results(by_id)["greeter"] == {"at_start": "hi", "greeting": "hi."}, "its game, no override"


async def test_a_limited_plugin_is_not_due_on_another_game_s_clips(runner: Runner) -> None:
    for game in ({"game_name": "Apex Legends"}, {"game_id": "21779-2"}, {}):
        processed = await runner.run(game)
        assert processed["due"] == ["everywhere"], game
        assert list(results(processed)) == ["everywhere"], "no result, not even skipped"


async def test_named_for_another_game_s_clip_it_is_skipped_saying_why(runner: Runner) -> None:
    processed = await runner.run({"game_name": "Apex Legends"}, plugins=["greeter"])
    (greeter,) = processed["results"]
    assert (greeter["status"], greeter["error"]) == ("skipped", "limited to other games than this clip's")


async def test_a_scope_change_applies_live(runner: Runner) -> None:
    await runner.change(
        "greeter",
        PluginState(
            "greeter",
            True,
            {"greeting": "hi"},
            PluginScope([{"game_name": "Apex Legends"}], {"apex legends": {"punctuation": "!"}}),
        ),
    )
    apex = await runner.run({"game_name": "Apex Legends"})
    assert results(apex)["greeter"] == {"at_start": "hi", "greeting": "hi!"}
    valorant = await runner.run({"game_name": "Valorant"})
    assert valorant["due"] == ["everywhere"]

    await runner.change("greeter", PluginState("greeter", True, {"greeting": "hi"}))
    assert results(await runner.run({"game_name": "Valorant"}))["greeter"] == {
        "at_start": "hi",
        "greeting": "hi.",
    }


async def test_on_clip_processed_hooks_respect_the_scope(runner: Runner) -> None:
    called = await runner.host.run_processed({"id": "c", "title": "t", "metadata": {}, "game_name": "Apex"})
    assert [r.plugin for r in called] == ["everywhere"]
    called = await runner.host.run_processed(
        {"id": "c", "title": "t", "metadata": {}, "game_name": "valorant"}
    )
    assert sorted(r.plugin for r in called) == ["everywhere", "greeter"]


def test_plugin_changed_events_without_a_scope_still_parse() -> None:
    old = {"event_type": "plugin.changed", "plugin_id": 1, "name": "p", "change": "config", "enabled": True}
    change = PluginChanged.model_validate_json(json.dumps(old))
    assert (change.games, change.game_config) == (None, {})


# -- versioned results: the configuration each result was made with ------------------------------


def test_config_hash_is_stable_short_and_ignores_the_runner_s_keys() -> None:
    config = {"threshold": 0.5, "label": "é", "nested": {"b": 1, "a": [1, 2]}}
    same = {"nested": {"a": [1, 2], "b": 1}, "label": "é", "threshold": 0.5}
    assert config_hash(config) == config_hash(same), "key order, nested too, changes nothing"
    assert len(config_hash(config)) == 16
    assert int(config_hash(config), 16) >= 0
    limits = {"timeout_s": 5, "memory_mb": 256, "cpu_s": 3, "max_files": 10, "max_procs": 2}
    assert config_hash({**config, **limits}) == config_hash(config), "the runner's keys are left out"
    assert config_hash({**config, "threshold": 0.6}) != config_hash(config)
    assert config_hash({**config, "extra": None}) != config_hash(config)
    assert config_hash({"threshold": 1}) != config_hash({"threshold": "1"})
    # canonical JSON (sorted keys, no spaces, UTF-8), sha256, 16 hex: pinned, so it never drifts
    assert config_hash({"threshold": 0.5, "label": "é"}) == "64dbdf41dddd7064"
    assert config_hash({}) == config_hash({"timeout_s": 1}) == "44136fa355b3678a"


def test_config_hashes_per_game_follow_the_override_rules() -> None:
    scope = PluginScope(None, {"Valorant": {"greeting": "gg"}, "id:21779": {"greeting": "id"}})
    config = {"greeting": "hi", "timeout_s": 9}
    hashes = scope.config_hashes(config)
    assert hashes == {
        None: config_hash({"greeting": "hi"}),
        "Valorant": config_hash({"greeting": "gg"}),
        "id:21779": config_hash({"greeting": "id"}),
    }
    assert scope.config_hash_of(config, "VALORANT", None) == hashes["Valorant"]
    assert scope.config_hash_of(config, "Valorant", "21779") == hashes["id:21779"], "the id's, not the name's"
    assert (
        scope.config_hash_of(config, "Apex", None) == scope.config_hash_of(config, None, None) == hashes[None]
    )


async def test_every_result_carries_the_hash_of_the_configuration_it_ran_with(runner: Runner) -> None:
    valorant = await runner.run({"game_name": "VALORANT"})
    by_id = await runner.run({"game_name": "Valorant (beta)", "game_id": "21779"})
    hashes = {
        (name, r["plugin"]): r["config_hash"]
        for name, processed in (("valorant", valorant), ("by_id", by_id))
        for r in processed["results"]
    }
    assert hashes == {
        ("valorant", "greeter"): config_hash({"greeting": "gg"}),  # its game's override over its own
        ("valorant", "everywhere"): config_hash({}),
        ("by_id", "greeter"): config_hash({"greeting": "hi"}),
        ("by_id", "everywhere"): config_hash({}),
    }
    # and the metadata service stores it in the result's `_run`, beside the version
    merged = merge_results(
        {}, ClipProcessed.model_validate(valorant), ClipProcessed.model_validate(valorant).results
    )
    assert merged["greeter"]["_run"]["config_hash"] == config_hash({"greeting": "gg"})
    assert merged["greeter"]["_run"]["version"] == "1.0.0"

    skipped = await runner.run({"game_name": "Apex Legends"}, plugins=["greeter"])
    assert skipped["results"][0]["config_hash"] is None, "it did not run: no configuration"

    # a runner's limit changes no result's hash; a plugin's own key does
    scope = runner.registry.states["greeter"].scope
    await runner.change("greeter", PluginState("greeter", True, {"greeting": "hi", "timeout_s": 7}, scope))
    (again,) = [r for r in (await runner.run({"game_id": "21779"}))["results"] if r["plugin"] == "greeter"]
    assert again["config_hash"] == config_hash({"greeting": "hi"})
    await runner.change("greeter", PluginState("greeter", True, {"greeting": "hey"}, scope))
    (changed,) = [r for r in (await runner.run({"game_id": "21779"}))["results"] if r["plugin"] == "greeter"]
    assert (changed["config_hash"], changed["result"]["greeting"]) == (
        config_hash({"greeting": "hey"}),
        "hey.",
    )
