"""Dead letters: a message a consumer cannot use goes, whole and with the reason, to
`<topic>.dlq`, and the consumer moves on; its partition is never blocked by it."""

from __future__ import annotations

import logging

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from clipforge.events import DeadLetter, Topics
from clipforge.messaging import publish

log = logging.getLogger(__name__)


async def dead_letter(broker: KafkaBroker, record: ConsumerRecord, *, error: str, service: str) -> None:
    raw_key = record.key
    key = raw_key.decode(errors="replace") if isinstance(raw_key, bytes) else raw_key
    value = record.value if isinstance(record.value, bytes) else b""
    letter = DeadLetter(
        service=service,
        error=error[:8000],
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=key,
        original=value.decode(errors="replace"),
    )
    log.warning(
        "dead-lettering %s[%d]@%d: %s",
        record.topic,
        record.partition,
        record.offset,
        error.splitlines()[0] if error else "",
    )
    await publish(broker, Topics.dlq(record.topic), letter, key=key or f"{record.topic}-{record.offset}")
