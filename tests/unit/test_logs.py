"""Log lines: JSON (one object per line, with the trace and the clip, event and plugin worked on)
and the readable text format with the same context."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from clipforge.logs import configure_logging, log_context
from clipforge.observability import tracing

CLIP, EVENT = uuid.uuid4(), uuid.uuid4()


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """Where the root logger writes (configure_logging's handler, pointed at a buffer)."""
    root = logging.getLogger()
    before = (root.handlers[:], root.level)
    buffer = io.StringIO()
    yield buffer
    root.handlers[:] = before[0]
    root.setLevel(before[1])
    logging.captureWarnings(False)


def configured(output: io.StringIO, fmt: str) -> logging.Logger:
    configure_logging("DEBUG", "plugin-runner", fmt)
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(output)
    return logging.getLogger("clipforge.test")


def json_lines(output: io.StringIO) -> list[dict[str, Any]]:
    lines = output.getvalue().splitlines()
    return [json.loads(line) for line in lines]


def test_json_lines_carry_the_service_the_level_and_the_context_set_by_the_handler(
    output: io.StringIO,
) -> None:
    log = configured(output, "json")
    log.info("outside")
    with log_context(clip_id=CLIP, event_id=EVENT):
        with log_context(plugin="tagger"):
            log.warning("inside %s", "both")
        log.debug("clip only")
    outside, inside, clip_only = json_lines(output)
    assert outside["message"] == "outside"
    assert {k: outside[k] for k in ("service", "level", "logger")} == {
        "service": "plugin-runner",
        "level": "INFO",
        "logger": "clipforge.test",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", outside["time"])
    assert not {"clip_id", "event_id", "plugin", "trace_id", "span_id"} & outside.keys()
    assert (inside["message"], inside["level"]) == ("inside both", "WARNING")
    assert (inside["clip_id"], inside["event_id"], inside["plugin"]) == (str(CLIP), str(EVENT), "tagger")
    assert (clip_only["clip_id"], clip_only.get("plugin")) == (str(CLIP), None), "the inner context ended"


def test_json_lines_carry_the_current_span_and_what_the_call_passed_as_extra(
    output: io.StringIO, spans: InMemorySpanExporter
) -> None:
    log = configured(output, "json")
    with tracing.span("work") as span:
        log.info("clip created", extra={"clip_id": CLIP, "size": 3})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    created, failed = json_lines(output)
    context = span.get_span_context()
    assert created["trace_id"] == format(context.trace_id, "032x")
    assert created["span_id"] == format(context.span_id, "016x")
    assert (created["clip_id"], created["size"]) == (str(CLIP), 3)
    assert "trace_id" not in failed, "no span outside the block"
    assert "ValueError: boom" in failed["exc_info"]
    assert len(output.getvalue().splitlines()) == 2, "a traceback stays inside its line"


def test_text_lines_stay_readable_with_the_fields_that_apply(
    output: io.StringIO, spans: InMemorySpanExporter
) -> None:
    log = configured(output, "text")
    log.info("plain")
    with log_context(clip_id=CLIP, plugin="tagger"), tracing.span("work") as span:
        log.info("ran")
    plain, ran = output.getvalue().splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d INFO  clipforge\.test: plain", plain)
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert ran.endswith(f"clipforge.test: ran [clip_id={CLIP} plugin=tagger trace_id={trace_id}]")
