"""A request's trace goes on into the outbox row and the Kafka record the relay publishes (the
in-process API, spans exported into memory)."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select

from clipforge.db.engine import make_engine, make_sessionmaker
from clipforge.db.models import OutboxEvent
from clipforge.events import Topics
from clipforge.messaging import make_broker
from clipforge.settings import Settings
from clipforge_api.outbox import Relay
from clipforge_devstack.paths import free_port
from tests.integration.inprocess import api_on
from tests.kafka_reader import KafkaReader
from tests.servers import fresh_database

pytestmark = pytest.mark.integration

TRACE_ID, PARENT_ID = "5e0c63257de34c92bf9efcd03927272e", "b9c7c989f97918e1"
CLIP = {"title": "Traced", "file_path": "/clips/traced.mp4"}


async def test_a_posted_clip_keeps_the_callers_trace_in_its_outbox_row_and_kafka_record(
    spans: InMemorySpanExporter, settings: Settings, kafka_reader: KafkaReader
) -> None:
    # A database of its own, and no Kafka for the API: the row stays in the outbox to be read...
    own = settings.model_copy(
        update={
            "database_url": await fresh_database(settings.database_url),
            "kafka_bootstrap_servers": f"127.0.0.1:{free_port()}",
        }
    )
    async with api_on(own) as api:  # built after `spans`: traced
        response = await api.post(
            "/api/v1/clips", json=CLIP, headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
        )
    assert response.status_code == 201
    clip_id = response.json()["id"]
    engine = make_engine(own.database_url, pool_size=1)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:
            (row,) = (await session.scalars(select(OutboxEvent).where(OutboxEvent.key == clip_id))).all()
        server = next(s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER)
        assert server.name == "POST /api/v1/clips"
        assert server.context is not None
        assert server.parent is not None
        assert (format(server.context.trace_id, "032x"), server.parent.span_id) == (
            TRACE_ID,
            int(PARENT_ID, 16),
        )
        assert row.headers == {"traceparent": f"00-{TRACE_ID}-{server.context.span_id:016x}-01"}

        # ...then a relay on the session's Kafka publishes it, in the same trace.
        broker = make_broker(settings, client_id="relay-traced")
        await broker.start()
        try:
            assert await Relay(sessions, broker).drain() == 1
        finally:
            await broker.stop()
    finally:
        await engine.dispose()
    (event,) = await kafka_reader.wait_for(Topics.CLIP_CAPTURED, lambda e: e["clip_id"] == clip_id)
    sent = event["_headers"]["traceparent"]
    assert sent.split("-")[1] == TRACE_ID
    (create,) = [s for s in spans.get_finished_spans() if s.name == "clip.captured create"]
    assert create.context is not None
    assert create.parent is not None
    assert sent.split("-")[2] == f"{create.context.span_id:016x}", "the record names the relay's publish span"
    assert create.parent.span_id == server.context.span_id
    assert row.payload["clip_id"] == clip_id
