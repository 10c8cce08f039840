"""Fault suite: re-driving dead letters. A clip.captured dead-lettered because its clip did not
exist is replayed with `python -m clipforge.admin dlq replay` once the clip is there, and the
clip is processed as if nothing had happened."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Clip
from clipforge.events import ClipCaptured, ClipRecord
from tests.e2e.helpers import FINAL, results, wait_for_clip
from tests.kafka_reader import KafkaReader
from tests.servers import Servers

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


async def admin(servers: Servers, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "clipforge.admin",
        *args,
        env={**os.environ, **servers.env()},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_a_dead_letter_is_replayed_to_its_topic_after_the_fix(
    client: httpx.AsyncClient,
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    kafka_reader: KafkaReader,
) -> None:
    clip_id = uuid.uuid4()
    record = ClipRecord(id=clip_id, title="late clip", file_path="/clips/late.mp4", duration=30)
    producer = AIOKafkaProducer(**servers.kafka_options(), acks="all")
    await producer.start()
    try:
        event = ClipCaptured(clip_id=clip_id, clip=record)
        await producer.send_and_wait(
            "clip.captured", event.model_dump_json().encode(), key=str(clip_id).encode()
        )
    finally:
        await producer.stop()
    await kafka_reader.wait_for("clip.captured.dlq", lambda e: e.get("key") == str(clip_id))

    code, listing = await admin(servers, "dlq", "list", "--topic", "clip.captured", "--json")
    assert code == 0, listing
    entries = [json.loads(line) for line in listing.splitlines() if line.startswith("{")]
    (mine,) = [e for e in entries if e["letter"] and e["letter"]["key"] == str(clip_id)]
    assert mine["letter"]["error"] == f"clip {clip_id} was never stored"
    offset = mine["dlq"].rsplit(":", 1)[1]

    # The fix: the clip the event refers to now exists.
    async with sessions() as session, session.begin():
        await session.execute(
            insert(Clip).values(id=clip_id, title=record.title, file_path=record.file_path, duration=30)
        )
    code, output = await admin(servers, "dlq", "replay", "--topic", "clip.captured", "--offset", offset)
    assert code == 0, output
    assert "1 replayed, 0 not replayable" in output

    clip = await wait_for_clip(client, str(clip_id), lambda c: c["status"] in FINAL, timeout=60)
    assert clip["status"] == "completed"
    assert results(clip)["tag_suggester"]["_run"]["status"] == "ok"
