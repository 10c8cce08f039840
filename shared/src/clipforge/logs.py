"""One log format for every service, so `make dev`'s merged output reads as one stream; or, with
LOG_FORMAT=json, one JSON object per line for a log collector.

Every line says which clip, event and plugin it is about, and which trace: handlers set the
first three for the work they do (`log_context`, a context variable, so concurrent clips never
mix), and the trace comes from the current OpenTelemetry span. Text keeps what people read first
(`12:00:01 INFO clipforge_api: clip created [clip_id=… trace_id=…]`); JSON has every field:
`time`, `service`, `level`, `logger`, `message`, `trace_id`, `span_id`, `clip_id`, `event_id`,
`plugin` (those that apply), `exc_info`, and what a call passed as `extra`.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

CONTEXT = ("clip_id", "event_id", "plugin")
"""What handlers say they work on (`log_context`), or a call passes as `extra`."""

_context: ContextVar[Mapping[str, object]] = ContextVar("clipforge_log_context", default=MappingProxyType({}))


def log_context(
    *,
    clip_id: uuid.UUID | str | None = None,
    event_id: uuid.UUID | str | None = None,
    plugin: str | None = None,
) -> AbstractContextManager[None]:
    """Every line logged in the body (in this task, and tasks it starts) names these."""
    fields = dict(_context.get())  # kept as given: made text only when a line or span uses them
    if clip_id is not None:
        fields["clip_id"] = clip_id
    if event_id is not None:
        fields["event_id"] = event_id
    if plugin is not None:
        fields["plugin"] = plugin
    return _LogContext(fields)


class _LogContext:
    """A class, not a generator: it is entered for every clip and every plugin run."""

    __slots__ = ("fields", "token")

    def __init__(self, fields: Mapping[str, object]) -> None:
        self.fields = fields

    def __enter__(self) -> None:
        self.token = _context.set(self.fields)

    def __exit__(self, *_: object) -> None:
        _context.reset(self.token)


def context_fields() -> dict[str, str]:
    """The current `log_context`."""
    return {name: str(value) for name, value in _context.get().items()}


def line_fields(record: logging.LogRecord) -> dict[str, str]:
    """The context of a log line: `log_context`, what the call passed as `extra`, and the current
    span's trace and span ids (when there is a valid one)."""
    fields = context_fields()
    for name in CONTEXT:
        if (value := record.__dict__.get(name)) is not None:
            fields[name] = str(value)
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        fields["trace_id"] = format(span.trace_id, "032x")
        fields["span_id"] = format(span.span_id, "016x")
    return fields


class TextFormatter(logging.Formatter):
    """`HH:MM:SS LEVEL logger: message [clip_id=… event_id=… plugin=… trace_id=…]`, with only
    the fields that apply (the span id is left to JSON)."""

    SHOWN = (*CONTEXT, "trace_id")

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-5s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        fields = line_fields(record)
        shown = " ".join(f"{k}={fields[k]}" for k in self.SHOWN if k in fields)
        return f"{line} [{shown}]" if shown else line


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: `time` (UTC, ISO 8601), `service`, `level`, `logger`,
    `message`, the line's context (`line_fields`), then any `extra` and `exc_info`."""

    def __init__(self, service: str) -> None:
        # uvicorn's `color_message` is its message again, with terminal colours
        super().__init__(
            json_ensure_ascii=False, reserved_attrs=[*RESERVED_ATTRS, "color_message", "taskName"]
        )
        self.service = service

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        log_data["service"] = self.service
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        log_data.update(line_fields(record))
        super().add_fields(log_data, record, message_dict)  # `extra`, `exc_info`


def configure_logging(level: str = "INFO", service: str = "", fmt: str = "text") -> None:
    """Every logger (uvicorn's and FastStream's too: they propagate to the root) writes to
    stderr in `fmt` (`text` or `json`, LOG_FORMAT); `service` names the process in JSON (in
    text, `make dev` prefixes each line with it)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter(service) if fmt == "json" else TextFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.captureWarnings(True)  # warnings too, in the same format (one JSON object a line)
    for noisy in ("aiokafka", "uvicorn.access", "urllib3"):  # urllib3: a line per span export at DEBUG
        logging.getLogger(noisy).setLevel(logging.WARNING)
