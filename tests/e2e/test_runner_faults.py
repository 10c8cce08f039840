"""Faults around the plugin-runner: poison messages, and a replica killed mid-stream."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from clipforge_devstack.stack import python_service
from clipforge_devstack.supervisor import Supervisor
from tests.e2e.conftest import RunningStack
from tests.e2e.helpers import FINAL, create_clip, processed_clip, results, wait_for_clip
from tests.kafka_reader import KafkaReader
from tests.polling import until
from tests.servers import Servers

pytestmark = pytest.mark.e2e


async def test_poison_messages_are_dead_lettered_and_the_worker_goes_on(
    stack: RunningStack, client: httpx.AsyncClient, servers: Servers, kafka_reader: KafkaReader
) -> None:
    marker = uuid.uuid4().hex
    poison = {
        f"{marker}-json": b"{not json",
        f"{marker}-schema": json.dumps(
            {"event_type": "clip.captured", "clip_id": "nope", "marker": marker}
        ).encode(),
    }
    producer = AIOKafkaProducer(**servers.kafka_options(), acks="all")
    await producer.start()
    try:
        for key, value in poison.items():
            await producer.send_and_wait("clip.captured", value, key=key.encode())
    finally:
        await producer.stop()

    letters = await kafka_reader.wait_for(
        "clip.captured.dlq", lambda e: str(e.get("key", "")).startswith(marker), count=2, timeout=60
    )
    by_key = {letter["key"]: letter for letter in letters}
    assert set(by_key) == set(poison)
    for key, letter in by_key.items():
        assert letter["service"] == "plugin-runner"
        assert letter["topic"] == "clip.captured"
        assert letter["original"] == poison[key].decode(errors="replace"), "the message is kept whole"
        assert letter["error"]
        assert letter["offset"] >= 0
    assert "clip_id" in by_key[f"{marker}-schema"]["error"], "the error names the bad field"

    clip = await processed_clip(client)
    assert results(clip)["tag_suggester"]["_run"]["status"] == "ok", "nothing is blocked behind them"


async def owns_partitions(servers: Servers, client_id: str) -> bool:
    """Whether a member with this client id holds partitions in a settled plugin-runner group."""
    admin = AIOKafkaAdminClient(**servers.kafka_options())
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups(["plugin-runner"])
        group = response.to_object()["groups"][0]
    finally:
        await admin.close()
    # An assignment naming no topic encodes in about 10 bytes; one naming clip.captured, in 30+.
    return group["state"] == "Stable" and any(
        m["client_id"] == client_id and len(m["member_assignment"]) > 20 for m in group["members"]
    )


async def test_two_runners_share_the_work_and_a_kill_minus_9_loses_nothing(
    stack: RunningStack, client: httpx.AsyncClient, servers: Servers, kafka_reader: KafkaReader
) -> None:
    second = Supervisor(
        [
            python_service(
                "plugin-runner-b",
                "clipforge_plugin_runner",
                {**stack.env_for("plugin-runner"), "CLIPFORGE_INSTANCE": "runner-b"},
            )
        ],
        restart=False,
    )
    await second.start()
    try:
        # Wait until Kafka has given the second replica partitions of its own.
        await until(
            lambda: owns_partitions(servers, "plugin-runner-runner-b"),
            timeout=60,
            every=0.5,
        )

        burst: list[str] = []

        async def produce(n: int) -> None:
            for _ in range(n):
                burst.append((await create_clip(client, title="burst"))["id"])

        producers = asyncio.gather(*(produce(40) for _ in range(5)))
        await kafka_reader.wait_for(
            "clip.processed",
            lambda e: e["runner"] == "runner-b" and e["clip_id"] in burst,
            count=5,
            timeout=60,
        )
        (pid,) = second.pids("plugin-runner-b")
        os.kill(pid, signal.SIGKILL)  # mid-stream: clips are still being created and processed
        await producers
    finally:
        await second.stop()

    assert len(burst) == 200
    for clip_id in burst:
        clip = await wait_for_clip(client, clip_id, lambda c: c["status"] in FINAL, timeout=120)
        assert clip["status"] == "completed", {
            n: (r["_run"]["status"], r["_run"]["error"]) for n, r in results(clip).items()
        }
        assert results(clip)["tag_suggester"]["_run"]["status"] == "ok"
    processed = await kafka_reader.read_all("clip.processed")
    runners = {e["runner"] for e in processed if e["clip_id"] in set(burst)}
    assert {"runner-b", "plugin-runner"} <= runners, "both replicas took part"
