"""Transactional outbox: an event row commits with the change it announces, then the relay
publishes it. The API therefore answers without waiting on Kafka, and loses no event while
Kafka is away.

The relay drains right after each commit (`wake()`) and sweeps on a timer for anything left
over (another replica's rows, or rows from while Kafka was down). Several relays may run, one per
API replica: each row is taken under `FOR UPDATE SKIP LOCKED`, and a relay publishes a row only
when no earlier row of its key is held elsewhere, so one clip's events leave in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from faststream.kafka import KafkaBroker
from pydantic import BaseModel
from sqlalchemy import delete, insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import OutboxEvent
from clipforge.messaging import publish_in_key_order
from clipforge.observability import tracing

log = logging.getLogger(__name__)

# Claim a batch (rows other relays hold are skipped), then keep only the rows with no earlier
# row of the same key outside the batch: that earlier row belongs to another relay (or to
# nobody yet), and this key must wait for it. So every key's events leave in id order, which is
# their commit order: a write emits only about a row it holds locked (see `unit_of_work.py`).
CLAIM = text("""
    WITH batch AS (
        SELECT id, topic, key, payload, headers FROM outbox ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
    )
    SELECT b.id, b.topic, b.key, b.payload::text AS payload, b.headers::text AS headers FROM batch b
    WHERE NOT EXISTS (
        SELECT 1 FROM outbox o
        WHERE o.key = b.key AND o.id < b.id AND o.id NOT IN (SELECT id FROM batch)
    )
    ORDER BY b.id
""")


OUTBOX = OutboxEvent.metadata.tables[OutboxEvent.__tablename__]


async def enqueue(session: AsyncSession, topic: str, key: str, event: BaseModel) -> None:
    """Write the event in the session's transaction; it is published only if that commits, with
    the current trace context as its headers (the request's), so its trace goes on downstream.
    (A plain INSERT: the ORM's unit of work costs more than the rest of a request.)"""
    trace_context = tracing.current_headers()
    await session.execute(
        insert(OUTBOX).values(
            topic=topic,
            key=key,
            payload=event.model_dump(mode="json"),
            **({"headers": trace_context} if trace_context else {}),  # else NULL
        )
    )


class Relay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        broker: KafkaBroker,
        *,
        sweep_interval: float = 1.0,
        batch_size: int = 500,
        publish_timeout: float = 10.0,
    ) -> None:
        self._sessions = sessions
        self._broker = broker
        self._sweep_interval = sweep_interval
        self._batch_size = batch_size
        self._publish_timeout = publish_timeout
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.published = 0

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _connect(self) -> None:
        backoff = 0.5
        while not self.connected:
            try:
                await self._broker.start()
                self.connected = True
                log.info("relay connected to Kafka")
            except Exception as exc:  # broker away: keep accepting clips, retry
                log.warning("Kafka unreachable (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _run(self) -> None:
        await self._connect()
        backoff = 0.5
        while True:
            try:
                while await self.drain():
                    pass
                backoff = 0.5
            except Exception as exc:
                log.warning("outbox relay: publish failed (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._sweep_interval)
            self._wakeup.clear()

    async def drain(self) -> int:
        """Publish one batch of pending rows; delete them once Kafka acknowledged every one."""
        async with self._sessions() as session, session.begin():
            rows = (await session.execute(CLAIM, {"limit": self._batch_size})).all()
            if not rows:
                return 0
            async with asyncio.timeout(self._publish_timeout):
                await publish_in_key_order(
                    self._broker,
                    ((r.topic, r.key, r.payload.encode(), json.loads(r.headers or "null")) for r in rows),
                )
            await session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_([r.id for r in rows])))
        self.published += len(rows)
        return len(rows)
