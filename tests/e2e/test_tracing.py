"""One clip, one trace, through real processes: a request sent with a `traceparent` leaves that
trace id in the JSON log lines of the api, the plugin-runner and the metadata service, and in the
spans all three export over OTLP (to a receiver of the test's own).

The stack has a Kafka and a database of its own: the session's stack's runners and mergers, in
the same consumer groups, would otherwise take some of its clips (and log nothing of them here).
"""

from __future__ import annotations

import gzip
import io
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from clipforge_devstack.paths import free_port
from tests.e2e.conftest import RunningStack, isolated_servers, running_stack
from tests.e2e.helpers import FINAL, create_clip, wait_for_clip
from tests.polling import until
from tests.servers import Servers

pytestmark = pytest.mark.e2e

TRACE_ID, PARENT_ID = "7a3f1c0e9b2d4e6f8a1b3c5d7e9f0a2b", "1f2e3d4c5b6a7988"
SERVICES = ("api", "plugin-runner", "metadata")


@dataclass(frozen=True)
class ExportedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver: what the services export, span by span."""

    def __init__(self) -> None:
        self.spans: list[ExportedSpan] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", free_port()), _Export)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def received(self) -> list[ExportedSpan]:
        with self.lock:
            return list(self.spans)


class _Export(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        spans = []
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                spans += [
                    ExportedSpan(
                        attributes["service.name"],
                        s.name,
                        s.trace_id.hex(),
                        s.span_id.hex(),
                        s.parent_span_id.hex(),
                    )
                    for s in scope.spans
                ]
        with self.server.lock:
            self.server.spans += spans
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
async def traced_stack(
    servers: Servers, receiver: Receiver, tmp_path: Path
) -> AsyncIterator[tuple[RunningStack, io.StringIO]]:
    """The three services with JSON logs at DEBUG (where the workers log each clip) exporting
    spans to `receiver`, on a Kafka and a database of their own; and what they print."""
    async with isolated_servers(servers, tmp_path) as (addresses, users):
        env = {
            **addresses,
            "CLIPFORGE_MEDIA_DIR": str(tmp_path / "media"),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "DEBUG",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # export within 0.1 s (the SDK's default is 5 s)
        }
        output = io.StringIO()
        async with running_stack(env, users, out=output) as stack:
            yield stack, output
        print(output.getvalue())  # shown when the test fails


def log_lines(output: io.StringIO) -> dict[str, list[dict[str, Any]]]:
    """Each service's lines (the supervisor prefixes them with `label |`), each a JSON object."""
    lines: dict[str, list[dict[str, Any]]] = {}
    for line in output.getvalue().splitlines():
        label, _, text = line.partition(" | ")
        lines.setdefault(label.strip(), []).append(json.loads(text))
    return lines


async def test_a_traceparent_sent_to_the_api_is_in_every_services_logs_and_spans(
    traced_stack: tuple[RunningStack, io.StringIO], receiver: Receiver
) -> None:
    stack, output = traced_stack
    async with stack.client() as client:
        client.headers["traceparent"] = f"00-{TRACE_ID}-{PARENT_ID}-01"
        clip_id = (await create_clip(client, title="Traced"))["id"]
        del client.headers["traceparent"]
        clip = await wait_for_clip(client, clip_id, lambda c: c["status"] in FINAL)
    assert clip["metadata"]["plugins"], "the plugins ran"

    expected = {
        "api": {"POST /api/v1/clips", "clip.captured publish"},
        "plugin-runner": {"clip.captured process", "plugin tag_suggester", "clip.processed publish"},
        "metadata": {"clip.processed process", "clip.enriched publish"},
    }

    async def exported() -> dict[str, set[str]] | None:
        # a span is exported when it ends: a record's span ends after what it published
        names: dict[str, set[str]] = {}
        for span in receiver.received():
            if span.trace_id == TRACE_ID:
                names.setdefault(span.service, set()).add(span.name)
        return names if all(want <= names.get(svc, set()) for svc, want in expected.items()) else None

    spans = await until(exported, timeout=30)
    for service, want in expected.items():
        assert want <= spans[service], (service, spans)
    (server,) = [s for s in receiver.received() if s.name == "POST /api/v1/clips"]
    assert server.parent_id == PARENT_ID, "the caller's span is the request's parent"

    lines = log_lines(output)  # every line of every service parses as JSON
    assert set(SERVICES) <= lines.keys()
    for service in SERVICES:
        assert {line["service"] for line in lines[service]} == {service}
    for service, message in (
        ("api", "clip created"),
        ("plugin-runner", "clip processed"),
        ("metadata", "clip merged"),
    ):
        traced = [line for line in lines[service] if line.get("trace_id") == TRACE_ID]
        about = [line for line in traced if line["message"].startswith(message)]
        assert about, f"no {message!r} line of {service} in the trace"
        for line in about:  # (metadata: one per piece of results, if the runner sent two)
            assert line["clip_id"] == clip_id
            assert len(line["span_id"]) == 16
    assert any(line["logger"].startswith("uvicorn") for line in lines["api"]), "uvicorn's lines too"
