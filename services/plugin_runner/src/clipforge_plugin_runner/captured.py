"""A batch of `clip.captured`: decode, look the clips up, run the plugins, publish the results.

Every record of a batch ends one of these ways before the batch's offsets are committed:
- its results are published as `clip.processed`, every piece acknowledged by Kafka;
- it is dead-lettered, with the reason: it does not decode, its clip was never stored, or
  publishing its results kept failing with an error that is not transient;
- it is dropped: its clip was deleted meanwhile (as `clip.deleted` promises);
- the worker stops (crash or shutdown) first, and the batch is delivered again.

Transient faults (the database or the broker away) are waited out with back-off, however long
they last. Nothing else is retried more than `CLIPFORGE_DELIVERY_ATTEMPTS` times, so no record
blocks its partition. Plugins run once per delivery: a piece whose publishing failed is sent
again on its own, never the pieces already acknowledged, and never by running the plugins again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import stat
import time
from collections.abc import Sequence
from pathlib import Path

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from clipforge.db.clip_ids import ClipLookup, never_stored
from clipforge.dead_letters import DeadLetters
from clipforge.events import (
    ClipCaptured,
    ClipProcessed,
    PluginResult,
    PluginRunStatus,
    Topics,
    derived_event_id,
)
from clipforge.logs import log_context
from clipforge.media.library import artifact_key
from clipforge.media.storage import MediaStorage, scratch_dir
from clipforge.messaging import Outgoing, confirm, encode, send_later
from clipforge.observability import metrics, tracing
from clipforge.retries import GaveUp, Retry
from clipforge.settings import Settings
from clipforge_plugin_runner.host import PluginHost

log = logging.getLogger(__name__)

SERVICE = "plugin-runner"
ENVELOPE_ALLOWANCE = 4096  # a clip.processed's fields besides its results, and record overhead


class CapturedHandler:
    def __init__(self, broker: KafkaBroker, host: PluginHost, lookup: ClipLookup, settings: Settings) -> None:
        self.broker = broker
        self.host = host
        self.lookup = lookup
        self.settings = settings
        self.dead_letters = DeadLetters.for_service(broker, SERVICE, settings)
        self.retry: Retry = self.dead_letters.retry
        self.in_flight = asyncio.Semaphore(settings.runner_concurrency)
        self.storage = MediaStorage.from_settings(settings)

    async def on_batch(self, msg: KafkaMessage) -> None:
        """The `clip.captured` subscriber: the batch's offsets are committed when this returns."""
        await self.handle(msg.raw_message)

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        """Process a fetched batch; return once every record is published or dead-lettered."""
        decoded = await self.dead_letters.decoded(records, ClipCaptured)
        letters = []
        known = await self.retry.run(
            functools.partial(self.lookup, {event.clip_id for _, event in decoded}), what="looking up clips"
        )
        runs = []
        for record, event in decoded:
            if event.clip_id in known.stored:
                runs.append(self._run(record, event))
            elif event.clip_id in known.deleted:
                log.info("clip %s was deleted; not running the plugins on it", event.clip_id)
            else:
                letters.append(self.dead_letters.send(record, never_stored(event.clip_id)))
        await asyncio.gather(*letters, *runs)

    async def _run(self, record: ConsumerRecord, event: ClipCaptured) -> None:
        """One clip, in a span of its own in the trace its record carries (the plugins' spans
        and the publishing of its `clip.processed` inside), with the clip in the log context."""
        with (
            log_context(clip_id=event.clip_id, event_id=event.event_id),
            tracing.consuming(
                f"{Topics.CLIP_CAPTURED} process", record, clip_id=event.clip_id, event_id=event.event_id
            ),
        ):
            await self._run_plugins(record, event)

    async def _run_plugins(self, record: ConsumerRecord, event: ClipCaptured) -> None:
        """Run the plugins, publishing each piece of results as soon as it is ready (fast
        plugins first, see `PluginHost.run_captured`); then make sure every piece arrived."""
        started = time.perf_counter()
        reported: list[PluginResult] = []
        outgoing: list[Outgoing] = []
        async with self.in_flight:
            with scratch_dir(self.settings.scratch_dir, f"run-{event.event_id}") as scratch:
                # never a file outside the library; a local copy when the store is S3
                async with self.storage.local_file(event.clip.file_path, scratch) as media:
                    clip = event.clip.model_dump(mode="json")
                    clip["media_path"] = str(media) if media is not None else None
                    due = self.host.due(event.plugins, clip)  # those limited to other games: not at all
                    async for results in self.host.run_captured(
                        clip, due, partial_after=self.settings.partial_report_s, artifacts=scratch / "out"
                    ):
                        stored = await self._store_artifacts(event, scratch / "out", results)
                        reported += stored
                        count_runs(stored)
                        for value in self._encoded_pieces(event, due, stored, first_piece=len(outgoing) + 1):
                            outgoing.append(
                                await send_later(
                                    self.broker, Topics.CLIP_PROCESSED, str(event.clip_id), value
                                )
                            )
        try:
            await confirm(self.broker, outgoing, self.retry)
        except GaveUp as gave_up:
            await self.dead_letters.send(
                record, f"publishing its results failed: {gave_up}", gave_up.attempts
            )
        else:  # DEBUG: a line per clip at INFO would be thousands a second under load
            log.debug(
                "clip processed: %d plugin(s) in %.0f ms (%s)",
                len(reported),
                (time.perf_counter() - started) * 1000,
                ", ".join(f"{r.plugin} {r.status.value}" for r in reported),
            )

    async def _store_artifacts(
        self, event: ClipCaptured, root: Path, results: list[PluginResult]
    ) -> list[PluginResult]:
        """Put the files each plugin made into storage beside the clip, before the results that
        name them are published. A run whose files cannot be stored becomes an error saying so."""
        stored = []
        for result in results:
            folder = root / result.plugin
            # regular files only: never what a symlink the plugin made points at (a secret of ours)
            files = sorted(f for f in folder.iterdir() if _regular(f)) if folder.is_dir() else []
            if files and result.status is PluginRunStatus.OK:
                try:
                    for file in files:
                        key = artifact_key(event.clip_id, result.plugin, file.name)
                        await self.retry.run(
                            functools.partial(self.storage.put_file, key, file), what=f"storing {key}"
                        )
                except GaveUp as gave_up:
                    result = result.model_copy(
                        update={
                            "status": PluginRunStatus.ERROR,
                            "error": f"storing its files failed: {gave_up}",
                        }
                    )
            stored.append(result)
        return stored

    def _encoded_pieces(
        self, event: ClipCaptured, due: list[str], results: list[PluginResult], *, first_piece: int
    ) -> list[bytes]:
        """The results as encoded `clip.processed` events, as many as it takes for each to fit
        Kafka's message size limit (usually one)."""
        limit = self.settings.kafka_max_message_bytes
        whole = encode(self._processed(event, due, results, first_piece))
        if len(whole) <= limit:
            return [whole]
        budget = limit - ENVELOPE_ALLOWANCE - len(str(due))
        return [
            encode(self._processed(event, due, group, first_piece + i))
            for i, group in enumerate(_groups_that_fit(results, budget))
        ]

    def _processed(
        self, event: ClipCaptured, due: list[str], results: list[PluginResult], piece: int
    ) -> ClipProcessed:
        return ClipProcessed(
            event_id=derived_event_id(event.event_id, f"processed:{piece}"),
            clip_id=event.clip_id,
            source_event_id=event.event_id,
            runner=self.settings.instance,
            due=due,
            results=results,
            backfill_id=event.backfill_id,
        )


def count_runs(results: list[PluginResult]) -> None:
    """Each plugin's run on a clip, once, as it is reported (`clipforge_plugin_runs_total`)."""
    for result in results:
        metrics.PLUGIN_RUNS.labels(result.plugin, result.status.value).inc()
        metrics.PLUGIN_DURATION.labels(result.plugin).observe(result.duration_ms / 1000)


def _regular(path: Path) -> bool:
    with contextlib.suppress(OSError):
        return stat.S_ISREG(path.lstat().st_mode)
    return False


def _groups_that_fit(results: list[PluginResult], budget: int) -> list[list[PluginResult]]:
    """Results packed in order into groups of at most `budget` encoded bytes. A result too large
    for any message (a result cap set above the message limit) becomes an error saying so."""
    groups: list[list[PluginResult]] = [[]]
    used = 0
    for result in results:
        size = len(result.model_dump_json())
        if size > budget:
            result = result.model_copy(
                update={
                    "status": PluginRunStatus.ERROR,
                    "result": {},
                    "error": f"result of {size} bytes does not fit one Kafka message ({budget} bytes)",
                }
            )
            size = len(result.model_dump_json())
        if groups[-1] and used + size > budget:
            groups.append([])
            used = 0
        groups[-1].append(result)
        used += size
    return groups
