"""Tracing with OpenTelemetry: one clip is one trace, from the API's POST to `clip.enriched`.

The context travels HTTP `traceparent` → the outbox row's `headers` → the Kafka record's
headers → plugin-runner → metadata → `clip.enriched`'s headers. FastAPI's instrumentation makes
the server span, FastStream's `KafkaTelemetryMiddleware` the publish spans (and writes the
`traceparent` of what is published) and one span per consumed batch; this module configures the
SDK from the standard variables and holds the glue those two cannot do:
- the outbox: the request's context is stored with the event (`current_headers`) and made
  current again when the relay publishes it (`attached`), so the publish continues the request's
  trace instead of starting one;
- batches: FastStream gives a batch one span, in a trace of its own that links the records. A
  clip's trace needs a span per record, child of the context that record carries
  (`consuming`, `start_consuming`), linked to the batch's span.

Configuration (`configure_tracing`): OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER (`otlp`, `console`,
`none`; several comma-separated), OTEL_EXPORTER_OTLP_ENDPOINT / _TRACES_ENDPOINT (setting one
alone means `otlp`), OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (over the service's own name),
OTEL_TRACES_SAMPLER, OTEL_BSP_* (the batch processor). Nothing set means off: no provider, no
instrumentation and no middleware are installed, and the helpers here return at once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from aiokafka import ConsumerRecord
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import INVALID_SPAN, Link, Span, SpanKind

from clipforge.logs import context_fields
from clipforge.settings import Settings

EXPORTERS = ("otlp", "console", "none")
OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_provider: TracerProvider | None = None
_tracer: trace.Tracer = trace.NoOpTracer()
# Tracing off, the helpers hand out these (reusable, and cheaper than a context manager made per call).
_NOTHING: AbstractContextManager[None] = contextlib.nullcontext()
_NO_SPAN: AbstractContextManager[Span] = contextlib.nullcontext(INVALID_SPAN)


def configure_tracing(service_name: str, settings: Settings) -> TracerProvider | None:
    """Trace this process as the settings say (see the module's doc), or leave tracing off;
    returns the provider, or None when off. Once per process, before the broker and the app
    are built (they install instrumentation only when tracing is on)."""
    provider = tracer_provider(service_name, settings)
    if provider is not None:
        trace.set_tracer_provider(provider)  # for any other library's instrumentation
    install(provider)
    return provider


def tracer_provider(
    service_name: str, settings: Settings, *, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """A provider exporting as the settings say, or None when tracing is off. `exporter` (tests:
    an in-memory one) replaces the configured exporters and receives each span as it ends."""
    if settings.otel_sdk_disabled:
        return None
    exporters = [exporter] if exporter is not None else span_exporters(settings)
    if not exporters:
        return None
    own = {SERVICE_NAME: service_name, SERVICE_INSTANCE_ID: settings.instance}
    provider = TracerProvider(resource=Resource.create({**own, **OTELResourceDetector().detect().attributes}))
    for each in exporters:
        provider.add_span_processor(SimpleSpanProcessor(each) if exporter else BatchSpanProcessor(each))
    return provider


def install(provider: TracerProvider | None) -> None:
    """Make `provider` the one clipforge's spans, its broker middleware and its FastAPI
    instrumentation use (None: tracing off). Not OpenTelemetry's global provider, which can be
    set only once: tests install one of their own, and remove it."""
    global _provider, _tracer
    _provider = provider
    _tracer = provider.get_tracer("clipforge") if provider is not None else trace.NoOpTracer()


def span_exporters(settings: Settings) -> list[SpanExporter]:
    """The exporters OTEL_TRACES_EXPORTER names (none when it is empty and no OTLP endpoint is
    set: tracing off); an unknown name or an OTLP protocol not installed is an error at start."""
    names = [n.strip() for n in settings.otel_traces_exporter.split(",") if n.strip()]
    if not names and any(os.environ.get(v) for v in OTLP_ENDPOINTS):
        names = ["otlp"]
    if unknown := [n for n in names if n not in EXPORTERS]:
        raise ValueError(
            f"OTEL_TRACES_EXPORTER: unknown exporter(s) {unknown}; known: {', '.join(EXPORTERS)}"
        )
    exporters: list[SpanExporter] = []
    if "otlp" in names:
        protocol = os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        )
        if protocol != "http/protobuf":
            raise ValueError(f"OTLP protocol {protocol!r} is not installed; use http/protobuf")
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporters.append(OTLPSpanExporter())  # endpoint, headers, timeout: its OTEL_EXPORTER_OTLP_* variables
    if "console" in names:
        # one span per line on stdout (the SDK's default indents each over dozens of lines)
        exporters.append(ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + os.linesep))
    return exporters


def enabled() -> bool:
    """Whether this process traces (so instrumentation is worth installing)."""
    return _provider is not None


def provider() -> TracerProvider | None:
    """The installed provider, for instrumentation to use (None: tracing off)."""
    return _provider


def shutdown_tracing() -> None:
    """Export what is still buffered; for a process that leaves with `os._exit` (no atexit)."""
    if _provider is not None:
        _provider.shutdown()


def kafka_middlewares() -> list[Any]:
    """FastStream's tracing middleware for a broker when tracing is on: publish spans that write
    `traceparent` into every record sent, and a span per consumed message or batch."""
    if _provider is None:
        return []
    from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware

    return [KafkaTelemetryMiddleware(tracer_provider=_provider, include_messages_counters=False)]


def current_headers() -> dict[str, str] | None:
    """The current trace context as message headers (`traceparent`, `tracestate`), to store
    with an outbox event; None when there is none."""
    if _provider is None:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


def context_from_headers(headers: Iterable[tuple[str, bytes]] | Mapping[str, str] | None) -> Context:
    """The context a message's headers carry (a Kafka record's are (name, bytes) pairs); an
    empty context when they carry none, so a span started in it begins a new trace."""
    if not headers:
        return Context()
    wanted = propagate.get_global_textmap().fields
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    carrier = {
        name: value.decode(errors="replace") if isinstance(value, bytes) else value
        for name, value in pairs
        if name in wanted
    }
    return propagate.extract(carrier, context=Context()) if carrier else Context()


def attached(headers: Mapping[str, str] | None) -> AbstractContextManager[None]:
    """Make the context in `headers` current while publishing the message they belong to: the
    tracing middleware then makes its publish span a child of it (and writes that span's
    `traceparent` into the record) instead of starting a new trace."""
    if _provider is None or not headers:
        return _NOTHING
    carried = context_from_headers(headers)
    was, now = trace.get_current_span(carried).get_span_context(), trace.get_current_span().get_span_context()
    if (was.trace_id, was.span_id) == (now.trace_id, now.span_id):
        return _NOTHING  # sent from within the span it carries: already current (and local)
    return _attached(carried)


@contextlib.contextmanager
def _attached(carried: Context) -> Iterator[None]:
    token = otel_context.attach(carried)
    try:
        yield
    finally:
        otel_context.detach(token)


def start_consuming(name: str, record: ConsumerRecord, **attributes: Any) -> Span:
    """A span for one record of a consumed batch, not yet current: a child of the context the
    record carries (a new trace when it carries none), linked to the batch's span (the current
    one). The caller ends it; `trace.use_span(span)` makes it current."""
    if _provider is None:
        return INVALID_SPAN
    batch = trace.get_current_span().get_span_context()
    return _tracer.start_span(
        name,
        context=context_from_headers(record.headers),
        kind=SpanKind.CONSUMER,
        links=[Link(batch)] if batch.is_valid else None,
        attributes={
            "messaging.system": "kafka",
            "messaging.destination.name": record.topic,
            "messaging.kafka.destination.partition": record.partition,
            "messaging.kafka.message.offset": record.offset,
            **{f"clipforge.{k}": str(v) for k, v in attributes.items() if v is not None},
        },
    )


def within(span: Span) -> AbstractContextManager[Any]:
    """Make `span` current (without ending it), e.g. while publishing what its record caused."""
    return _NOTHING if _provider is None else trace.use_span(span, end_on_exit=False)


def consuming(name: str, record: ConsumerRecord, **attributes: Any) -> AbstractContextManager[Span]:
    """`start_consuming`, current while the body runs, ended after it (with the error, if one
    escapes)."""
    if _provider is None:
        return _NO_SPAN
    return trace.use_span(start_consuming(name, record, **attributes), end_on_exit=True)


def span(name: str, **attributes: Any) -> AbstractContextManager[Span]:
    """A child span of the current one, current while the body runs, with the log context
    (`clip_id`, `event_id`, `plugin`) as `clipforge.*` attributes: what the logs say about the
    work, its spans say too."""
    if _provider is None:
        return _NO_SPAN
    fields = {**context_fields(), **{k: v for k, v in attributes.items() if v is not None}}
    return _tracer.start_as_current_span(name, attributes={f"clipforge.{k}": v for k, v in fields.items()})
