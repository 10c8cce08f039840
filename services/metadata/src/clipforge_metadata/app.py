"""The metadata service's wiring: consume `clip.processed` in batches, merge, announce
`clip.enriched` for every run that completed."""

from __future__ import annotations

import logging

from aiokafka import ConsumerRecord
from faststream import FastStream
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from pydantic import ValidationError

from clipforge.db.engine import make_engine, make_sessionmaker
from clipforge.db.records import clip_record
from clipforge.dead_letters import dead_letter
from clipforge.events import ClipEnriched, ClipProcessed, Topics, derived_event_id
from clipforge.messaging import encode, make_broker, publish_in_key_order
from clipforge.settings import Settings
from clipforge_metadata.merge import merge_batch

log = logging.getLogger("metadata")

SERVICE = "metadata"
GROUP = "metadata"


def build(settings: Settings) -> FastStream:
    broker = make_broker(settings.kafka_bootstrap_servers, client_id=f"{SERVICE}-{settings.instance}")
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = make_sessionmaker(engine)

    # A batch is merged in one transaction; the offsets are committed after it commits and every
    # clip.enriched it caused is acknowledged. A redelivery after a crash finds the results
    # already recorded and only announces the completed runs again (same event ids).
    @broker.subscriber(
        Topics.CLIP_PROCESSED,
        group_id=GROUP,
        auto_offset_reset="earliest",
        batch=True,
        max_records=settings.merge_batch_size,
        batch_timeout_ms=5,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title="metadata:clip.processed",
    )
    async def on_clip_processed(msg: KafkaMessage) -> None:
        records: tuple[ConsumerRecord, ...] = msg.raw_message
        events: list[ClipProcessed] = []
        for record in records:
            try:
                events.append(ClipProcessed.model_validate_json(record.value or b""))
            except ValidationError as exc:
                await dead_letter(broker, record, error=str(exc), service=SERVICE)
        applied = await merge_batch(sessions, events)
        announcements = []
        for event, outcome in zip(events, applied, strict=True):
            if outcome.clip is None:
                log.info("clip %s no longer exists; result dropped", event.clip_id)
            elif outcome.run_complete:
                enriched = ClipEnriched(
                    event_id=derived_event_id(event.source_event_id, "enriched"),
                    clip_id=outcome.clip.id,
                    source_event_id=event.source_event_id,
                    clip=clip_record(outcome.clip),
                )
                announcements.append((Topics.CLIP_ENRICHED, str(outcome.clip.id), encode(enriched)))
        await publish_in_key_order(broker, announcements)

    app = FastStream(broker, logger=log)

    @app.on_shutdown
    async def close_database() -> None:
        await engine.dispose()

    return app
