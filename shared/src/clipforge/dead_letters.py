"""Dead letters: a message a consumer cannot use goes to `<topic>.dlq` with the reason, and the
consumer moves on; its partition is never blocked by it.

A letter always fits the broker's message size limit: a garbage record of 300 kB can grow
several-fold as escaped JSON, and a letter the producer refuses would leave the consumer
retrying forever. So the original is kept whole when it fits and cut to fit otherwise, with its
size and SHA-256 recorded either way.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterable
from typing import TypeVar

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ValidationError

from clipforge.events import DeadLetter, Topics
from clipforge.messaging import confirm, send_later
from clipforge.observability import metrics
from clipforge.retries import Retry
from clipforge.settings import Settings
from clipforge.storable import scrub_text

log = logging.getLogger(__name__)

E = TypeVar("E", bound=BaseModel)

MAX_ERROR_CHARS = 8000
MAX_KEY_CHARS = 1000
ENVELOPE_ALLOWANCE = 4096  # record headers, key and batch overhead beside the value


def letter_for(
    record: ConsumerRecord, *, error: str, service: str, attempts: int, max_bytes: int
) -> tuple[str, bytes]:
    """The dead letter for `record` as (key, encoded value), at most `max_bytes` long."""
    raw_key = record.key
    key = raw_key.decode(errors="replace") if isinstance(raw_key, bytes) else raw_key
    key = scrub_text(key)[:MAX_KEY_CHARS] if key is not None else None
    value = record.value if isinstance(record.value, bytes) else b""
    try:
        original, original_base64 = value.decode(), None
    except UnicodeDecodeError:
        original, original_base64 = None, base64.b64encode(value).decode()
    letter = DeadLetter(
        service=service,
        error=scrub_text(error)[:MAX_ERROR_CHARS],
        attempts=attempts,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=key,
        original=original,
        original_base64=original_base64,
        original_size=len(value),
        original_sha256=hashlib.sha256(value).hexdigest(),
    )
    return key or f"{record.topic}-{record.partition}-{record.offset}", _fit(
        letter, max_bytes - ENVELOPE_ALLOWANCE
    )


def _fit(letter: DeadLetter, limit: int) -> bytes:
    encoded = letter.model_dump_json().encode()
    field = "original" if letter.original is not None else "original_base64"
    kept: str = getattr(letter, field) or ""
    while len(encoded) > limit:
        # Escaping makes a character cost 1 to 6 bytes: shrink in proportion, then check again.
        kept = kept[: int(len(kept) * limit / len(encoded) * 0.9)]
        letter = letter.model_copy(update={field: kept, "truncated": True})
        encoded = letter.model_dump_json().encode()
    return encoded


class DeadLetters:
    """A consumer's way to dead-letter a record: the letter is published and acknowledged
    (transient faults waited out) before the caller goes on to commit the record's offset."""

    def __init__(self, broker: KafkaBroker, *, service: str, retry: Retry, max_bytes: int) -> None:
        self.broker = broker
        self.service = service
        self.retry = retry
        self.max_bytes = max_bytes

    @classmethod
    def for_service(cls, broker: KafkaBroker, service: str, settings: Settings) -> DeadLetters:
        """The settings' retry policy and message size limit."""
        return cls(
            broker, service=service, retry=settings.retry(), max_bytes=settings.kafka_max_message_bytes
        )

    async def decoded(
        self, records: Iterable[ConsumerRecord], model: type[E]
    ) -> list[tuple[ConsumerRecord, E]]:
        """Every record that is a valid `model`, with its record; the others are dead-lettered
        with the validation error (the one decode step of every subscriber)."""
        events = []
        for record in records:
            try:
                events.append((record, model.model_validate_json(record.value or b"")))
            except ValidationError as exc:
                await self.send(record, str(exc))
        return events

    async def send(self, record: ConsumerRecord, error: str, attempts: int = 1) -> None:
        key, value = letter_for(
            record, error=error, service=self.service, attempts=attempts, max_bytes=self.max_bytes
        )
        log.warning(
            "dead-lettering %s[%d]@%d after %d attempt(s): %s",
            record.topic,
            record.partition,
            record.offset,
            attempts,
            error.splitlines()[0] if error else "",
        )
        topic = Topics.dlq(record.topic)
        await confirm(self.broker, [await send_later(self.broker, topic, key, value)], self.retry)
        metrics.DEAD_LETTERS.labels(record.topic).inc()
