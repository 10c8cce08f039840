"""Every Prometheus metric clipforge exposes, defined once.

Each service serves its own set at `/metrics` (`registry(service)`): a worker shows no outbox
gauge stuck at 0, the API no plugin counters. The metric objects live here, so the code that
counts imports them; a process builds each service's registry once.

Kafka traffic is counted by FastStream's Prometheus middleware (`kafka_middleware`), under
`clipforge_kafka_*`: `received_messages_total{handler=<topic>}` (events consumed),
`published_messages_total{destination=<topic>,status}` (events handed to the producer, dead
letters' `<topic>.dlq` included), their sizes, durations and exceptions. Everything else is ours.
"""

from __future__ import annotations

import functools

from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.metrics import MetricWrapperBase

# Every counter's `_created` twin doubles the series and nothing reads it.
disable_created_metrics()  # type: ignore[no-untyped-call]

KAFKA_PREFIX = "clipforge_kafka"

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# --- the API
HTTP_REQUESTS = Counter(
    "clipforge_http_requests_total",
    "HTTP requests answered, by route template (`none`: no route matched), method and status",
    ["route", "method", "status"],
    registry=None,
)
HTTP_DURATION = Histogram(
    "clipforge_http_request_duration_seconds",
    "Time to answer an HTTP request (a streamed body included), by route template and method",
    ["route", "method"],
    buckets=SECONDS,
    registry=None,
)
OUTBOX_BACKLOG = Gauge(
    "clipforge_outbox_backlog",
    "Events committed but not yet published to Kafka (read from Postgres every few seconds)",
    registry=None,
)
OUTBOX_OLDEST_AGE = Gauge(
    "clipforge_outbox_oldest_age_seconds",
    "Age of the oldest event waiting in the outbox; 0 when it is empty",
    registry=None,
)
CLIPS = Gauge(
    "clipforge_clips",
    "Clips by status (read from Postgres every few seconds)",
    ["status"],
    registry=None,
)

# --- the workers
CONSUMER_LAG = Gauge(
    "clipforge_consumer_lag",
    "Records of a partition this consumer has not fetched yet (highwater - position), per "
    "partition it is assigned; a batch being worked on is not counted",
    ["group", "topic", "partition"],
    registry=None,
)
DEAD_LETTERS = Counter(
    "clipforge_dead_letters_total",
    "Records dead-lettered, by the topic they came from (sent to `<topic>.dlq`)",
    ["topic"],
    registry=None,
)
PLUGIN_RUNS = Counter(
    "clipforge_plugin_runs_total",
    "Plugin runs on captured clips (once per plugin per clip delivered), by outcome",
    ["plugin", "status"],
    registry=None,
)
PLUGIN_DURATION = Histogram(
    "clipforge_plugin_duration_seconds",
    "How long a plugin took on a captured clip, as the plugin's host measured it",
    ["plugin"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
    registry=None,
)
MERGE_BATCH_SIZE = Histogram(
    "clipforge_merge_batch_size",
    "clip.processed events merged in one transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
    registry=None,
)
MERGE_DURATION = Histogram(
    "clipforge_merge_duration_seconds",
    "Time one merge transaction took (failed ones included)",
    buckets=SECONDS,
    registry=None,
)

SERVICE_METRICS: dict[str, tuple[MetricWrapperBase, ...]] = {
    "api": (HTTP_REQUESTS, HTTP_DURATION, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, CLIPS),
    "plugin-runner": (CONSUMER_LAG, DEAD_LETTERS, PLUGIN_RUNS, PLUGIN_DURATION),
    "metadata": (CONSUMER_LAG, DEAD_LETTERS, MERGE_BATCH_SIZE, MERGE_DURATION),
}


@functools.cache
def registry(service: str) -> CollectorRegistry:
    """What `service` serves at /metrics: its metrics, FastStream's Kafka metrics (once its
    broker has `kafka_middleware`), and the process's own (memory, CPU, open files, GC)."""
    found = CollectorRegistry()
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR, *SERVICE_METRICS[service]):
        found.register(collector)
    return found


def kafka_middleware(service: str) -> KafkaPrometheusMiddleware:
    """FastStream's Prometheus middleware for a broker of `service`, into its registry."""
    return KafkaPrometheusMiddleware(
        registry=registry(service), app_name=service, metrics_prefix=KAFKA_PREFIX
    )
