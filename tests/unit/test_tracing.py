"""Tracing: configured from the standard OTEL_* variables (off unless asked), and a clip's trace
continued through the plugin-runner's and the metadata service's batch handlers (on FastStream's
TestKafkaBroker, spans exported into memory)."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from clipforge.events import ClipCaptured, ClipRecord, Topics
from clipforge.messaging import make_broker, send_encoded
from clipforge.observability import tracing
from clipforge.settings import Settings
from clipforge_metadata.processed import ProcessedHandler
from clipforge_plugin_runner.captured import CapturedHandler
from clipforge_plugin_runner.host import PluginHost
from tests.unit import test_metadata_handler as metadata_fakes
from tests.unit import test_runner_handlers as runner_fakes

TRACE_ID, PARENT_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
OTHER_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


def traceparent(trace_id: str = TRACE_ID, parent: str = PARENT_ID) -> str:
    return f"00-{trace_id}-{parent}-01"


def trace_of(header: str) -> str:
    return header.split("-")[1]


def in_trace(spans: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    return [
        s
        for s in spans.get_finished_spans()
        if s.context is not None and s.context.trace_id == int(trace_id, 16)
    ]


def named(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    (found,) = [s for s in spans if s.name == name]
    return found


def record_span(spans: Sequence[ReadableSpan], topic: str) -> ReadableSpan:
    """Ours for one record (FastStream's for the batch has the same name, and no clip)."""
    (found,) = [
        s
        for s in spans
        if s.name == f"{topic} process" and s.attributes and "clipforge.clip_id" in s.attributes
    ]
    return found


# --- configuration


@pytest.mark.parametrize(
    ("env", "exporters"),
    [
        ({}, []),
        ({"OTEL_TRACES_EXPORTER": "none"}, []),
        ({"OTEL_TRACES_EXPORTER": "console"}, [ConsoleSpanExporter]),
        ({"OTEL_TRACES_EXPORTER": "otlp,console"}, [OTLPSpanExporter, ConsoleSpanExporter]),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, [OTLPSpanExporter]),
    ],
)
def test_exporters_follow_the_standard_variables_and_default_to_none(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], exporters: list[type]
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", *tracing.OTLP_ENDPOINTS):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert [type(e) for e in tracing.span_exporters(Settings())] == exporters


def test_tracing_is_off_unless_an_exporter_is_named_and_the_sdk_enabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", *tracing.OTLP_ENDPOINTS):
        monkeypatch.delenv(name, raising=False)
    assert tracing.tracer_provider("api", Settings()) is None
    assert (
        tracing.tracer_provider("api", Settings(OTEL_TRACES_EXPORTER="console", OTEL_SDK_DISABLED=True))
        is None
    )
    with pytest.raises(ValueError, match="zipkin"):
        tracing.tracer_provider("api", Settings(OTEL_TRACES_EXPORTER="zipkin"))


def test_the_service_names_itself_unless_otel_service_name_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(OTEL_TRACES_EXPORTER="console", CLIPFORGE_INSTANCE="api-1")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    provider = tracing.tracer_provider("api", settings)
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "api"
    assert provider.resource.attributes["service.instance.id"] == "api-1"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "edge-api")
    renamed = tracing.tracer_provider("api", settings)
    assert renamed is not None
    assert renamed.resource.attributes["service.name"] == "edge-api"
    for made in (provider, renamed):
        made.shutdown()  # their export threads


def test_off_nothing_is_stored_or_instrumented() -> None:
    assert not tracing.enabled()
    assert tracing.current_headers() is None
    assert tracing.kafka_middlewares() == []
    with tracing.span("work") as span:
        assert not span.is_recording()


def test_the_current_context_round_trips_through_message_headers(spans: InMemorySpanExporter) -> None:
    with tracing.span("request") as span:
        headers = tracing.current_headers()
    assert headers is not None
    assert trace_of(headers["traceparent"]) == format(span.get_span_context().trace_id, "032x")
    as_kafka = [(name, value.encode()) for name, value in {"content-type": "x", **headers}.items()]
    carried = trace.get_current_span(tracing.context_from_headers(as_kafka)).get_span_context()
    sent = span.get_span_context()
    assert (carried.trace_id, carried.span_id, carried.is_remote) == (sent.trace_id, sent.span_id, True)
    assert (
        not trace.get_current_span(tracing.context_from_headers([("content-type", b"x")]))
        .get_span_context()
        .is_valid
    )


# --- the plugin-runner


@pytest.fixture
def plugins_path() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="clipforge-unit-plugins-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


class Published:
    """What a handler published on a topic: each record's body and headers."""

    def __init__(self, broker: KafkaBroker, topic: str) -> None:
        self.records: list[tuple[dict[str, Any], dict[str, Any]]] = []

        async def collect(msg: KafkaMessage) -> None:
            self.records.append((json.loads(msg.body), dict(msg.headers)))

        broker.subscriber(topic)(collect)


@pytest.fixture
async def runner(
    spans: InMemorySpanExporter, plugins_path: Path
) -> AsyncIterator[tuple[KafkaBroker, Published]]:
    settings = Settings(CLIPFORGE_PARTIAL_REPORT_S=0.1, CLIPFORGE_INSTANCE="unit")
    host = PluginHost(
        runner_fakes.FakeRegistry({"fast", "slow", "nul"}),
        [runner_fakes.plugin_folder(plugins_path)],
        5.0,
        max_result_bytes=1024,
    )
    await host.start()
    broker = make_broker(settings, client_id="unit")  # after `spans`: with the tracing middleware
    handler = CapturedHandler(broker, host, runner_fakes.lookup, settings)
    broker.subscriber(Topics.CLIP_CAPTURED, group_id="plugin-runner", batch=True)(handler.on_batch)
    processed = Published(broker, Topics.CLIP_PROCESSED)
    async with TestKafkaBroker(broker):
        yield broker, processed
    await host.stop()


async def test_the_runner_continues_the_clip_trace_with_a_span_per_plugin(
    runner: tuple[KafkaBroker, Published], spans: InMemorySpanExporter
) -> None:
    broker, processed = runner
    clip_id = runner_fakes.STORED
    event = ClipCaptured(clip_id=clip_id, clip=ClipRecord(id=clip_id, title="t", file_path="/t.mp4"))
    # as the outbox relay publishes a row with the request's trace context
    await send_encoded(
        broker,
        Topics.CLIP_CAPTURED,
        event.model_dump_json().encode(),
        str(clip_id),
        {"traceparent": traceparent()},
    )

    clip_trace = in_trace(spans, TRACE_ID)
    # the publish, as the outbox relay makes it
    (sent,) = [s for s in clip_trace if s.name == "clip.captured create" and s.kind is SpanKind.PRODUCER]
    assert sent.parent is not None
    assert sent.parent.span_id == int(PARENT_ID, 16)
    record = record_span(clip_trace, Topics.CLIP_CAPTURED)
    assert record.parent is not None
    assert sent.context is not None
    assert (record.parent.span_id, record.parent.is_remote) == (sent.context.span_id, True)
    assert record.attributes is not None
    assert record.attributes["clipforge.clip_id"] == str(clip_id)
    (batch_link,) = record.links
    (batch,) = [
        s for s in spans.get_finished_spans() if s.context and s.context.span_id == batch_link.context.span_id
    ]
    assert batch.name == "clip.captured process"
    assert batch.attributes is not None
    assert batch.attributes["messaging.batch.message_count"] == 1, "FastStream's span of the whole batch"

    runs = {s.name: s for s in clip_trace if s.name.startswith("plugin ")}
    assert sorted(runs) == ["plugin fast", "plugin nul", "plugin slow"]
    for name, run in runs.items():
        assert run.parent is not None
        assert record.context is not None
        assert run.parent.span_id == record.context.span_id
        assert run.attributes is not None
        assert run.attributes["clipforge.plugin"] == name.removeprefix("plugin ")
        assert run.attributes["clipforge.plugin.version"] == "1.0.0"
        assert run.attributes["clipforge.clip_id"] == str(clip_id)
        assert run.attributes["clipforge.event_id"] == str(event.event_id)
        assert isinstance(run.attributes["clipforge.plugin.duration_ms"], float)
    assert runs["plugin fast"].attributes is not None
    assert runs["plugin fast"].attributes["clipforge.plugin.status"] == "ok"
    assert runs["plugin nul"].status.status_code is StatusCode.ERROR
    assert runs["plugin nul"].status.description == "result.text: NUL character"

    assert len(processed.records) == 2, "fast results first, the slow one after"
    creates = {s.context.span_id: s for s in clip_trace if s.name == "clip.processed create" and s.context}
    for _, headers in processed.records:
        sent = headers["traceparent"]
        assert trace_of(sent) == TRACE_ID
        create = creates[int(sent.split("-")[2], 16)]
        assert create.parent is not None
        assert record.context is not None
        assert create.parent.span_id == record.context.span_id, "published from within the clip's span"


# --- the metadata service


def processed_record(
    clip_id: uuid.UUID, offset: int, headers: list[tuple[str, bytes]]
) -> ConsumerRecord[bytes, bytes]:
    value = metadata_fakes.processed(clip_id, "fine")
    return ConsumerRecord(
        topic=Topics.CLIP_PROCESSED,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=str(clip_id).encode(),
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(value),
        headers=headers,
    )


@pytest.fixture
async def metadata(spans: InMemorySpanExporter) -> AsyncIterator[tuple[ProcessedHandler, Published]]:
    settings = Settings(CLIPFORGE_INSTANCE="unit")
    broker = make_broker(settings, client_id="unit")
    handler = ProcessedHandler(
        broker, metadata_fakes.FakeMerge(set(metadata_fakes.CLIPS)), metadata_fakes.lookup, settings
    )
    enriched = Published(broker, Topics.CLIP_ENRICHED)
    async with TestKafkaBroker(broker):
        yield handler, enriched


async def test_each_clip_of_a_merged_batch_is_announced_in_its_own_trace(
    metadata: tuple[ProcessedHandler, Published], spans: InMemorySpanExporter
) -> None:
    handler, enriched = metadata
    first, second, untraced = metadata_fakes.CLIPS[:3]
    with tracing.span("batch") as batch:  # what FastStream's middleware makes for a batch
        await handler.handle(
            [
                processed_record(first, 0, [("traceparent", traceparent().encode())]),
                processed_record(second, 1, [("traceparent", traceparent(OTHER_TRACE_ID).encode())]),
                processed_record(untraced, 2, []),
            ]
        )
    announced = {body["clip_id"]: headers["traceparent"] for body, headers in enriched.records}
    assert trace_of(announced[str(first)]) == TRACE_ID
    assert trace_of(announced[str(second)]) == OTHER_TRACE_ID
    assert trace_of(announced[str(untraced)]) not in (TRACE_ID, OTHER_TRACE_ID), "a trace of its own"

    for clip_id, trace_id in ((first, TRACE_ID), (second, OTHER_TRACE_ID)):
        record = record_span(in_trace(spans, trace_id), Topics.CLIP_PROCESSED)
        assert record.attributes is not None
        assert record.attributes["clipforge.clip_id"] == str(clip_id)
        (link,) = record.links
        assert link.context.span_id == batch.get_span_context().span_id
    merge = named(spans.get_finished_spans(), "merge")
    assert merge.parent is not None
    assert merge.parent.span_id == batch.get_span_context().span_id, "the merge is the batch's"
    assert merge.attributes is not None
    assert merge.attributes["clipforge.events"] == 3
