"""The metadata service's wiring: consume `clip.processed`, merge, announce `clip.enriched`."""

from __future__ import annotations

import logging

from faststream import FastStream
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from pydantic import ValidationError

from clipforge.db.engine import make_engine, make_sessionmaker
from clipforge.db.records import clip_record
from clipforge.dead_letters import dead_letter
from clipforge.events import ClipEnriched, ClipProcessed, Topics, derived_event_id
from clipforge.messaging import make_broker, publish
from clipforge.settings import Settings
from clipforge_metadata.merge import merge

log = logging.getLogger("metadata")

SERVICE = "metadata"
GROUP = "metadata"


def build(settings: Settings) -> FastStream:
    broker = make_broker(settings.kafka_bootstrap_servers, client_id=f"{SERVICE}-{settings.instance}")
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)

    # The offset is committed after the merge commits and clip.enriched is acknowledged; a
    # redelivery after a crash finds the event already merged and only re-announces it.
    @broker.subscriber(
        Topics.CLIP_PROCESSED,
        group_id=GROUP,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title="metadata:clip.processed",
    )
    async def on_clip_processed(msg: KafkaMessage) -> None:
        try:
            event = ClipProcessed.model_validate_json(msg.body)
        except ValidationError as exc:
            await dead_letter(broker, msg.raw_message, error=str(exc), service=SERVICE)
            return
        clip = await merge(sessions, event)
        if clip is None:
            log.info("clip %s no longer exists; result dropped", event.clip_id)
            return
        enriched = ClipEnriched(
            event_id=derived_event_id(event.event_id, "enriched"),
            clip_id=clip.id,
            source_event_id=event.event_id,
            clip=clip_record(clip),
        )
        await publish(broker, Topics.CLIP_ENRICHED, enriched, key=str(clip.id))

    app = FastStream(broker, logger=log)

    @app.on_shutdown
    async def close_database() -> None:
        await engine.dispose()

    return app
