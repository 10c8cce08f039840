"""The plugin-runner's clip.captured handler on FastStream's TestKafkaBroker, with a fake
registry and a fake clip lookup: no Kafka, no Postgres, real plugins from a folder (each in a
plugin process of its own, as in production)."""

from __future__ import annotations

import json
import shutil
import tempfile
import textwrap
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from clipforge.db.clip_ids import Known
from clipforge.events import ClipCaptured, ClipRecord, Topics, derived_event_id
from clipforge.messaging import make_broker
from clipforge.settings import Settings
from clipforge_plugin_runner.captured import CapturedHandler
from clipforge_plugin_runner.discovery import Discovered
from clipforge_plugin_runner.host import PluginHost
from clipforge_plugin_runner.registry import PluginState

PLUGINS = {
    "fast": "return {'fast': 1}",
    "slow": "await asyncio.sleep(0.4); return {'slow': 1}",
    "nul": "return {'text': 'a\\x00b'}",
}


class FakeRegistry:
    """The registry's rows in memory: everything discovered is registered, these enabled."""

    def __init__(self, enabled: set[str]) -> None:
        self.enabled_names = enabled
        self.errors: dict[str, str | None] = {}

    async def sync_discovered(self, found: Iterable[Discovered]) -> list[str]:
        return [d.name for d in found]

    async def enabled(self) -> list[PluginState]:
        return [PluginState(name, True) for name in sorted(self.enabled_names)]

    async def get(self, name: str) -> PluginState | None:
        return PluginState(name, name in self.enabled_names)

    async def record_error(self, name: str, error: str | None) -> None:
        self.errors[name] = error


def plugin_folder(tmp_path: Path) -> Path:
    for name, body in PLUGINS.items():
        code = f"""
            import asyncio
            from clipforge.sdk import PluginBase, PluginMetadata

            class P(PluginBase):
                @property
                def metadata(self):
                    return PluginMetadata(name="{name}", display_name="{name}", version="1.0.0")

                async def on_clip_captured(self, clip_data):
                    {body}
        """
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(code))
    return tmp_path


STORED, DELETED = uuid.uuid4(), uuid.uuid4()


async def lookup(ids: Collection[uuid.UUID]) -> Known:
    return Known(stored={i for i in ids if i == STORED}, deleted={i for i in ids if i == DELETED})


def collector(seen: list[dict[str, Any]]) -> Callable[[KafkaMessage], Awaitable[None]]:
    async def collect(msg: KafkaMessage) -> None:
        seen.append(json.loads(msg.body))

    return collect


class Harness:
    def __init__(self, broker: KafkaBroker) -> None:
        self.broker = broker
        self.published: dict[str, list[dict[str, Any]]] = {Topics.CLIP_PROCESSED: [], "clip.captured.dlq": []}
        for topic, seen in self.published.items():
            broker.subscriber(topic)(collector(seen))

    async def capture(self, clip_id: uuid.UUID, *, plugins: list[str] | None = None) -> ClipCaptured:
        event = ClipCaptured(
            clip_id=clip_id, clip=ClipRecord(id=clip_id, title="t", file_path="/t.mp4"), plugins=plugins
        )
        await self.broker.publish(
            event.model_dump_json().encode(), Topics.CLIP_CAPTURED, key=str(clip_id).encode()
        )
        return event


@pytest.fixture
def plugins_path() -> Iterator[Path]:
    """A folder the plugin user can read (the plugins run as that user when the tests are root;
    pytest's own temporary folders are private)."""
    folder = Path(tempfile.mkdtemp(prefix="clipforge-unit-plugins-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def harness(plugins_path: Path) -> AsyncIterator[Harness]:
    settings = Settings(CLIPFORGE_PARTIAL_REPORT_S=0.1, CLIPFORGE_INSTANCE="unit")
    host = PluginHost(
        FakeRegistry({"fast", "slow", "nul"}), [plugin_folder(plugins_path)], 5.0, max_result_bytes=1024
    )
    await host.start()
    broker = make_broker(settings, client_id="unit")
    handler = CapturedHandler(broker, host, lookup, settings)
    broker.subscriber(Topics.CLIP_CAPTURED, group_id="plugin-runner", batch=True)(handler.on_batch)
    harness = Harness(broker)
    async with TestKafkaBroker(broker):
        yield harness
    await host.stop()


async def test_fast_results_are_reported_first_and_the_slow_ones_after(harness: Harness) -> None:
    event = await harness.capture(STORED)
    first, second = harness.published[Topics.CLIP_PROCESSED]
    fast = {r["plugin"]: r for r in first["results"]}
    assert {name: r["status"] for name, r in fast.items()} == {"fast": "ok", "nul": "error"}
    assert [(r["plugin"], r["result"]) for r in second["results"]] == [("slow", {"slow": 1})]
    for piece, processed in enumerate((first, second), start=1):
        assert processed["event_id"] == str(derived_event_id(event.event_id, f"processed:{piece}"))
        assert processed["source_event_id"] == str(event.event_id)
        assert processed["due"] == ["fast", "nul", "slow"]
    assert fast["nul"]["error"] == "result.text: NUL character"
    assert harness.published["clip.captured.dlq"] == []


async def test_a_reprocess_runs_only_the_plugins_named(harness: Harness) -> None:
    await harness.capture(STORED, plugins=["fast", "gone"])
    (processed,) = harness.published[Topics.CLIP_PROCESSED]
    assert {r["plugin"]: r["status"] for r in processed["results"]} == {"fast": "ok", "gone": "skipped"}


async def test_events_for_clips_never_stored_are_dead_lettered_and_deleted_ones_dropped(
    harness: Harness,
) -> None:
    ghost = uuid.uuid4()
    await harness.capture(ghost)
    await harness.capture(DELETED)
    await harness.broker.publish(b"{not json", Topics.CLIP_CAPTURED, key=b"junk")
    assert harness.published[Topics.CLIP_PROCESSED] == [], "no plugin ran for either"
    never, junk = harness.published["clip.captured.dlq"]
    assert (never["key"], never["error"]) == (str(ghost), f"clip {ghost} was never stored")
    assert junk["original"] == "{not json"
    assert "Invalid JSON" in junk["error"]
    assert json.loads(never["original"])["clip_id"] == str(ghost)
