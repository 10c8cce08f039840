"""The metadata service's wiring: consume `clip.processed` in batches, merge, announce
`clip.enriched` for every run that completed."""

from __future__ import annotations

import functools
import logging

from faststream import FastStream

from clipforge.db.clip_ids import clip_lookup
from clipforge.db.engine import make_engine, make_sessionmaker
from clipforge.events import Topics
from clipforge.messaging import make_broker, subscribe_batches
from clipforge.observability import metrics
from clipforge.observability.worker import ConsumerGroup, WorkerOperations
from clipforge.settings import Settings
from clipforge_metadata.merge import merge_batch
from clipforge_metadata.processed import SERVICE, ProcessedHandler

log = logging.getLogger("metadata")

GROUP = "metadata"


def build(settings: Settings) -> FastStream:
    broker = make_broker(
        settings, client_id=f"{SERVICE}-{settings.instance}", middlewares=(metrics.kafka_middleware(SERVICE),)
    )
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)

    sessions = make_sessionmaker(engine)
    handler = ProcessedHandler(
        broker, functools.partial(merge_batch, sessions), clip_lookup(sessions), settings
    )

    # At-least-once: a batch's offsets are committed after every record in it is merged (or
    # dead-lettered) and every clip.enriched it caused is acknowledged (see ProcessedHandler). A
    # redelivery after a crash finds the results already recorded and only announces the
    # completed runs again (same event ids).
    mergers = ConsumerGroup(GROUP)
    mergers.subscriber = subscribe_batches(
        broker,
        Topics.CLIP_PROCESSED,
        handler.on_batch,
        group_id=GROUP,
        max_records=settings.merge_batch_size,
        title="metadata:clip.processed",
        listener=mergers.assignment,
    )

    app = FastStream(broker, logger=log)
    WorkerOperations(
        service=SERVICE,
        settings=settings,
        http_port=settings.metadata_http_port,
        broker=broker,
        engine=engine,
        groups=[mergers],
    ).attach(app)

    @app.on_shutdown
    async def close_database() -> None:
        await engine.dispose()

    return app
