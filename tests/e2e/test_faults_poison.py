"""Fault suite: values that used to stop enrichment for everyone. Poison plugin results, garbage
records on the clip topics, events for clips that do not exist, a record the database refuses,
and a plugin no runner can load. Each case: every accepted clip finishes, none is lost, no
effect is duplicated, no 5xx."""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.events import ClipCaptured, ClipProcessed, ClipRecord, PluginResult, PluginRunStatus
from tests.e2e.conftest import RunningStack
from tests.e2e.faults import drop_native_plugin, drop_python_plugin, enabled, figures, run_of, send_burst
from tests.e2e.helpers import processed_clip, results, until_clips_show, wait_for_clip
from tests.kafka_reader import KafkaReader
from tests.servers import Servers

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:6]}"


async def test_poison_plugin_results_are_that_plugins_error_and_every_clip_finishes(
    stack: RunningStack,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    kafka_reader: KafkaReader,
) -> None:
    nul, nan = unique("nul_text"), unique("nan_native")
    drop_python_plugin(stack, nul, 'clip_data["metadata"]["text"] = "a\\x00b"; return clip_data')
    drop_native_plugin(stack, nan, '{"result": {"score": NaN, "peak": Infinity}}')
    async with enabled(client, nul, nan):
        await until_clips_show(client, lambda c: nul in results(c) and nan in results(c))
        burst = await send_burst(client, 120, title="poison")
        counted = await figures(burst, sessions, kafka_reader)
        sample = [(await client.get(f"/api/v1/clips/{i}")).json() for i in burst.accepted[:10]]
    counted.assert_clean()
    for clip in sample:
        assert clip["status"] == "completed_with_errors", clip
        assert run_of(clip, nul)["status"] == "error"
        assert run_of(clip, nul)["error"] == "result.text: NUL character"
        assert run_of(clip, nan)["status"] == "error"
        assert "result.score: nan is not a JSON number" in run_of(clip, nan)["error"]
        assert run_of(clip, "tag_suggester")["status"] == "ok", "the clip's other plugins are unaffected"


async def test_garbage_records_on_the_clip_topics_are_dead_lettered_and_block_nothing(
    client: httpx.AsyncClient,
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    kafka_reader: KafkaReader,
) -> None:
    """300 kB of random bytes on every partition of both clip topics, and a 990 kB record that
    grows six-fold as escaped JSON: each lands in its .dlq (kept whole when it fits, else cut
    with its size and SHA-256), and the clips sent after them finish with no duplicate."""
    marker = uuid.uuid4().hex
    sent: dict[str, bytes] = {}
    producer = AIOKafkaProducer(**servers.kafka_options(), acks="all", max_request_size=2**20)
    await producer.start()
    try:
        for topic in ("clip.captured", "clip.processed"):
            for partition in sorted(await producer.partitions_for(topic)):
                key = f"{marker}-{topic}-{partition}"
                sent[key] = os.urandom(300_000)
                await producer.send(topic, sent[key], key=key.encode(), partition=partition)
            key = f"{marker}-{topic}-escapes"
            sent[key] = b"\x01" * 990_000
            await producer.send(topic, sent[key], key=key.encode(), partition=0)
        await producer.flush()
    finally:
        await producer.stop()

    burst = await send_burst(client, 60, title="after garbage")
    counted = await figures(burst, sessions, kafka_reader, timeout=60)
    counted.assert_clean()

    letters = {}
    for topic in ("clip.captured", "clip.processed"):
        prefix = f"{marker}-{topic}-"
        found = await kafka_reader.wait_for(
            f"{topic}.dlq",
            functools.partial(key_starts_with, prefix),
            count=sum(1 for k in sent if k.startswith(prefix)),
        )
        letters.update({letter["key"]: letter for letter in found})
    assert set(letters) == set(sent)
    for key, letter in letters.items():
        original = sent[key]
        assert letter["original_size"] == len(original)
        assert letter["original_sha256"] == hashlib.sha256(original).hexdigest()
        if key.endswith("-escapes"):
            assert letter["truncated"] is True
            assert 0 < len(letter["original"]) < len(original)
            assert original.decode().startswith(letter["original"])
        else:
            assert letter["truncated"] is False
            assert base64.b64decode(letter["original_base64"]) == original, "kept whole, byte for byte"


def key_is(key: str, event: dict[str, Any]) -> bool:
    return event.get("key") == key


def key_starts_with(prefix: str, event: dict[str, Any]) -> bool:
    return str(event.get("key", "")).startswith(prefix)


async def produce(servers: Servers, topic: str, key: str, value: bytes, partition: int | None = None) -> None:
    producer = AIOKafkaProducer(**servers.kafka_options(), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key.encode(), partition=partition)
    finally:
        await producer.stop()


async def send_captured_and_processed(
    servers: Servers, clip_id: uuid.UUID, *, partition: int | None = None
) -> None:
    """A valid clip.captured and clip.processed for this clip id, as a runner or the API would."""
    captured = ClipCaptured(clip_id=clip_id, clip=ClipRecord(id=clip_id, title="t", file_path="/t.mp4"))
    processed = ClipProcessed(
        clip_id=clip_id,
        source_event_id=uuid.uuid4(),
        runner="elsewhere",
        due=["highlight_detector"],
        results=[PluginResult(plugin="highlight_detector", version="0.1.0", status=PluginRunStatus.OK)],
    )
    for topic, event in (("clip.captured", captured), ("clip.processed", processed)):
        await produce(servers, topic, str(clip_id), event.model_dump_json().encode(), partition=partition)


async def test_events_for_clips_that_do_not_exist_are_dead_lettered_with_the_reason(
    stack: RunningStack, servers: Servers, kafka_reader: KafkaReader
) -> None:
    ghost = uuid.uuid4()
    await send_captured_and_processed(servers, ghost)
    for topic, service in (("clip.captured", "plugin-runner"), ("clip.processed", "metadata")):
        (letter,) = await kafka_reader.wait_for(f"{topic}.dlq", lambda e: e.get("key") == str(ghost))
        assert letter["service"] == service
        assert letter["error"] == f"clip {ghost} was never stored"


async def test_events_for_a_deleted_clip_are_dropped_not_dead_lettered(
    client: httpx.AsyncClient, servers: Servers, kafka_reader: KafkaReader
) -> None:
    clip = await processed_clip(client)
    assert (await client.delete(f"/api/v1/clips/{clip['id']}")).status_code == 204
    late = uuid.UUID(clip["id"])
    await send_captured_and_processed(servers, late, partition=0)
    # Events for a clip that never existed, sent after them: once these are dead-lettered, the
    # late ones have been handled too (a consumer finishes a batch before it fetches the next).
    for _ in range(2):
        ghost = uuid.uuid4()
        await send_captured_and_processed(servers, ghost, partition=0)
        for topic in ("clip.captured.dlq", "clip.processed.dlq"):
            await kafka_reader.wait_for(topic, functools.partial(key_is, str(ghost)))
    for topic in ("clip.captured.dlq", "clip.processed.dlq"):
        assert not [e for e in await kafka_reader.read_all(topic) if e.get("key") == str(late)]


async def test_a_batch_with_records_the_database_refuses_merges_everything_else(
    client: httpx.AsyncClient, servers: Servers, kafka_reader: KafkaReader
) -> None:
    """Results produced straight onto clip.processed (as a forged or buggy producer could):
    one with a NUL the checks catch, one the database itself refuses (a plugin name longer than
    its column), among good ones, all in one batch. The good ones merge; each bad one is
    dead-lettered, the second after its attempts."""
    clips = [await processed_clip(client) for _ in range(4)]
    probe = unique("probe")

    def event(clip_id: str, plugin: str, result: dict[str, object]) -> bytes:
        return (
            ClipProcessed(
                clip_id=uuid.UUID(clip_id),
                source_event_id=uuid.uuid4(),
                runner="forger",
                due=[plugin],
                results=[
                    PluginResult(plugin=plugin, version="1.0.0", status=PluginRunStatus.OK, result=result)
                ],
            )
            .model_dump_json()
            .encode()
        )

    nul_key, long_key = f"{probe}-nul", f"{probe}-long"
    records = [(c["id"], event(c["id"], probe, {"n": i})) for i, c in enumerate(clips)]
    records.insert(1, (nul_key, event(clips[0]["id"], probe, {"text": "a\x00b"})))
    records.insert(3, (long_key, event(clips[1]["id"], "p" * 100, {"n": 1})))
    producer = AIOKafkaProducer(**servers.kafka_options(), acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send("clip.processed", value, key=key.encode(), partition=0)
        await producer.flush()
    finally:
        await producer.stop()

    for i, clip in enumerate(clips):
        merged = await wait_for_clip(client, clip["id"], lambda c: probe in results(c), timeout=60)
        assert results(merged)[probe]["n"] == i
    (nul_letter,) = await kafka_reader.wait_for("clip.processed.dlq", lambda e: e.get("key") == nul_key)
    assert nul_letter["error"] == "cannot be stored: results[0].result.text: NUL character"
    (long_letter,) = await kafka_reader.wait_for("clip.processed.dlq", lambda e: e.get("key") == long_key)
    assert long_letter["error"].startswith("merge failed: ")
    assert "too long" in long_letter["error"]
    assert long_letter["attempts"] == 3


async def test_an_enabled_plugin_no_runner_can_load_is_reported_skipped_with_its_load_error(
    client: httpx.AsyncClient,
) -> None:
    name = unique("ghost")
    response = await client.post(
        "/api/v1/plugins",
        json={
            "name": name,
            "display_name": "Ghost",
            "version": "1.0.0",
            "entry_point": "no_such_module:Nothing",
            "enabled": True,
        },
    )
    assert response.status_code == 201, response.text
    try:
        clip = await until_clips_show(client, lambda c: name in results(c))
        assert run_of(clip, name)["status"] == "skipped"
        assert run_of(clip, name)["error"].startswith("not loaded: no plugin of that name")
        assert clip["status"] == "completed", "a skipped plugin is not a failure"
        assert "tag_suggester" in results(clip)
    finally:
        await client.delete(response.headers["location"])
