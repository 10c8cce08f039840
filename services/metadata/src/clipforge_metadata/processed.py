"""A batch of `clip.processed`: decode, check, merge, announce `clip.enriched`.

The metadata service does not trust what arrives (a forged or buggy producer, an older runner):
a record that does not decode, or holds a value Postgres cannot store, is dead-lettered on its
own before the merge. If a merge still fails with an error that is not transient, the batch is
split in halves and each merged on its own, down to the one record that fails, which gets
`CLIPFORGE_DELIVERY_ATTEMPTS` tries and then a dead letter: the rest of the batch merges, and a
poisoned batch is never retried forever. Results for a clip that was never stored are
dead-lettered with that reason; results for a deleted clip are dropped (see `clip_ids`).
Transient faults (the database or the broker away) are waited out with back-off.

The batch's offsets are committed once every record is merged or dead-lettered and every
`clip.enriched` it caused is acknowledged. An announcement that fails is sent again on its own,
never the ones already acknowledged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry.trace import Span

from clipforge.db.clip_ids import ClipLookup, never_stored
from clipforge.db.records import clip_record
from clipforge.dead_letters import DeadLetters
from clipforge.events import ClipEnriched, ClipProcessed, Topics, derived_event_id
from clipforge.logs import log_context
from clipforge.messaging import confirm, encode, send_later
from clipforge.observability import tracing
from clipforge.retries import GaveUp, Retry
from clipforge.settings import Settings
from clipforge.storable import text_problem, value_problem
from clipforge_metadata.merge import Applied

log = logging.getLogger(__name__)

SERVICE = "metadata"
PROCESS_SPAN = f"{Topics.CLIP_PROCESSED} process"

Merge = Callable[[Sequence[ClipProcessed]], Awaitable[list[Applied]]]
"""Merges a batch in one transaction (`merge.merge_batch` bound to the database; a fake in tests)."""


def unstorable(event: ClipProcessed) -> str | None:
    """Why Postgres could not store this event's results, or None."""
    for text in (event.runner, *event.due):
        if problem := text_problem(text):
            return f"runner or due: {problem}"
    for i, r in enumerate(event.results):
        for field, text in (("plugin", r.plugin), ("version", r.version), ("error", r.error or "")):
            if problem := text_problem(text):
                return f"results[{i}].{field}: {problem}"
        if problem := value_problem(r.result, f"results[{i}].result"):
            return problem
    return None


class ProcessedHandler:
    def __init__(self, broker: KafkaBroker, merge: Merge, lookup: ClipLookup, settings: Settings) -> None:
        self.broker = broker
        self.merge = merge
        self.lookup = lookup
        self.settings = settings
        self.dead_letters = DeadLetters.for_service(broker, SERVICE, settings)
        self.retry: Retry = self.dead_letters.retry

    async def on_batch(self, msg: KafkaMessage) -> None:
        """The `clip.processed` subscriber: the batch's offsets are committed when this returns."""
        await self.handle(msg.raw_message)

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        accepted: list[tuple[ConsumerRecord, ClipProcessed]] = []
        letters = []
        for record, event in await self.dead_letters.decoded(records, ClipProcessed):
            if problem := unstorable(event):
                letters.append(self.dead_letters.send(record, f"cannot be stored: {problem}"))
            else:
                accepted.append((record, event))
        # A span per record, in the trace it carries, from now until its outcome is settled (the
        # batch's merge is one transaction: its span is in the batch's trace, which each links).
        spans = [
            tracing.start_consuming(PROCESS_SPAN, record, clip_id=event.clip_id, event_id=event.event_id)
            for record, event in accepted
        ]
        try:
            await self._settle(accepted, spans, letters)
        finally:
            for span in spans:
                span.end()

    async def _settle(
        self,
        accepted: list[tuple[ConsumerRecord, ClipProcessed]],
        spans: list[Span],
        letters: list[Coroutine[Any, Any, None]],
    ) -> None:
        """Merge the accepted records, dead-letter what cannot be merged, announce the runs
        that completed."""
        with tracing.span("merge", events=len(accepted)):
            outcomes = await self._merge([event for _, event in accepted])
        missing = {
            e.clip_id
            for (_, e), o in zip(accepted, outcomes, strict=True)
            if isinstance(o, Applied) and o.clip is None
        }
        deleted = (
            await self.retry.run(functools.partial(self.lookup, missing), what="looking up clips")
        ).deleted
        announcements = []
        for (record, event), outcome, span in zip(accepted, outcomes, spans, strict=True):
            with tracing.within(span), log_context(clip_id=event.clip_id, event_id=event.event_id):
                if isinstance(outcome, GaveUp):
                    letters.append(
                        self.dead_letters.send(record, f"merge failed: {outcome}", outcome.attempts)
                    )
                elif outcome.clip is None and event.clip_id in deleted:
                    log.info("clip %s was deleted; its results are dropped", event.clip_id)
                elif outcome.clip is None:
                    letters.append(self.dead_letters.send(record, never_stored(event.clip_id)))
                elif outcome.run_complete:
                    enriched = ClipEnriched(
                        event_id=derived_event_id(event.source_event_id, "enriched"),
                        clip_id=outcome.clip.id,
                        source_event_id=event.source_event_id,
                        clip=clip_record(outcome.clip),
                    )
                    announcements.append((str(outcome.clip.id), encode(enriched), span))
                    log.debug("clip merged: run complete (%s)", enriched.clip.status)
                else:  # DEBUG: a line per clip at INFO would be thousands a second under load
                    log.debug("clip merged: %d result(s), run still open", len(event.results))
        await asyncio.gather(*letters)
        await self._announce(announcements)

    async def _merge(self, events: list[ClipProcessed]) -> list[Applied | GaveUp]:
        """Merge in one transaction; on an error that is not transient, split and merge the
        halves (in order, so one clip's events still apply in order)."""
        if not events:
            return []
        policy = self.retry if len(events) == 1 else dataclasses.replace(self.retry, attempts=1)
        try:
            return list(
                await policy.run(
                    functools.partial(self.merge, events),
                    what=f"merging {len(events)} result(s)",
                )
            )
        except GaveUp as gave_up:
            if len(events) == 1:
                return [gave_up]
            middle = len(events) // 2
            return [*await self._merge(events[:middle]), *await self._merge(events[middle:])]

    async def _announce(self, announcements: list[tuple[str, bytes, Span]]) -> None:
        """Publish in order, each in the trace of the record that completed its run, wait for
        every acknowledgement, resend only what failed. One that keeps failing raises: the
        batch is delivered again, and its merges change nothing."""
        outgoing = []
        for key, value, span in announcements:
            with tracing.within(span):
                outgoing.append(await send_later(self.broker, Topics.CLIP_ENRICHED, key, value))
        await confirm(self.broker, outgoing, self.retry)
