"""Reading dead letters back and sending them to their topic again, once the cause is fixed.

`python -m clipforge.admin dlq list` shows what is on the `.dlq` topics; `dlq replay` publishes
each selected letter's original, byte for byte and with its key, to the topic it came from, with
a `clipforge-replayed-from` header naming the letter. The consumers are idempotent, so replaying
a letter twice does no harm; a letter whose original was cut to fit (`truncated`) cannot be
replayed and is reported instead.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from clipforge.events import DeadLetter, Topics
from clipforge.messaging import kafka_options
from clipforge.settings import Settings

REPLAYED_FROM = "clipforge-replayed-from"


@dataclass
class Letter:
    """A record on a `.dlq` topic: where it is, and the letter, if it is one."""

    dlq_topic: str
    partition: int
    offset: int
    letter: DeadLetter | None

    @property
    def where(self) -> str:
        return f"{self.dlq_topic}:{self.partition}:{self.offset}"

    @property
    def original(self) -> bytes | None:
        """The original value, when the letter holds it whole."""
        letter = self.letter
        if letter is None or letter.truncated:
            return None
        if letter.original is not None:
            return letter.original.encode()
        return base64.b64decode(letter.original_base64 or "")


def dlq_topics(topic: str | None) -> list[str]:
    """The dead-letter topics to read: one (given as `clip.captured` or `clip.captured.dlq`), or all."""
    consumed = [t.removesuffix(".dlq") for t in Topics.all() if t.endswith(".dlq")]
    if topic is None:
        return [Topics.dlq(t) for t in consumed]
    source = topic.removesuffix(".dlq")
    if source not in consumed:
        raise ValueError(f"no dead-letter topic for {topic!r}; one of: {', '.join(consumed)}")
    return [Topics.dlq(source)]


async def read_letters(
    settings: Settings, topics: Iterable[str], *, since: datetime | None = None
) -> list[Letter]:
    """Every letter on the topics now (from the first to the last offset), oldest first per
    partition; with `since`, only those given up at or after it."""
    topics = list(topics)
    # Subscribing (without a group) loads the topics' metadata; then the partitions are assigned.
    consumer = AIOKafkaConsumer(*topics, **kafka_options(settings), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return []
        consumer.unsubscribe()
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        letters: list[Letter] = []
        remaining = {tp for tp in partitions if ends[tp] > await consumer.position(tp)}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset < ends[tp]:
                        letters.append(Letter(tp.topic, tp.partition, record.offset, _parse(record.value)))
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    if since is not None:
        letters = [x for x in letters if x.letter is not None and x.letter.occurred_at >= since]
    return letters


def _parse(value: bytes | None) -> DeadLetter | None:
    try:
        return DeadLetter.model_validate_json(value or b"")
    except ValidationError:
        return None


async def replay(settings: Settings, letters: Iterable[Letter]) -> tuple[list[Letter], list[Letter]]:
    """Publish each whole letter's original to its topic; return (replayed, not replayable)."""
    replayed: list[Letter] = []
    skipped: list[Letter] = []
    producer = AIOKafkaProducer(**kafka_options(settings), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for item in letters:
            original = item.original
            if item.letter is None or original is None:
                skipped.append(item)
                continue
            await producer.send_and_wait(
                item.letter.topic,
                original,
                key=item.letter.key.encode() if item.letter.key is not None else None,
                headers=[(REPLAYED_FROM, item.where.encode())],
            )
            replayed.append(item)
    finally:
        await producer.stop()
    return replayed, skipped
