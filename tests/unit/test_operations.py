"""Operations without servers: the metrics' names and labels, the Grafana dashboard and the
Prometheus configuration against them, a worker's readiness and lag from given states, and the
workers' HTTP server (a real one, on loopback)."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import yaml
from aiokafka import TopicPartition
from faststream.kafka import KafkaBroker, TestKafkaBroker
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from clipforge.dead_letters import DeadLetters
from clipforge.events import PluginResult, PluginRunStatus
from clipforge.observability import metrics
from clipforge.observability.http import OperationsServer, listen_on_first_free, operations_app
from clipforge.observability.worker import (
    Assignment,
    ConsumerGroup,
    WorkerOperations,
    partition_lag,
    readiness,
)
from clipforge.settings import Settings
from clipforge_plugin_runner.captured import count_runs
from tests.unit.test_delivery import record

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("api", "plugin-runner", "metadata")
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "gauge": ("",),
    "summary": ("_count", "_sum"),
}


def exposed_names(registry: CollectorRegistry) -> set[str]:
    """Every sample name a registry can expose (a counter `x` is scraped as `x_total`, ...)."""
    names: set[str] = set()
    for family in registry.collect():
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


def every_exposed_name() -> set[str]:
    for service in SERVICES:
        metrics.kafka_middleware(service)  # FastStream registers its metrics as its brokers get it
    return set().union(*(exposed_names(metrics.registry(service)) for service in SERVICES))


def test_our_metrics_are_prefixed_and_labelled_as_documented() -> None:
    expected = {
        "clipforge_http_requests_total": ("route", "method", "status"),
        "clipforge_http_request_duration_seconds": ("route", "method"),
        "clipforge_outbox_backlog": (),
        "clipforge_outbox_oldest_age_seconds": (),
        "clipforge_clips": ("status",),
        "clipforge_consumer_lag": ("group", "topic", "partition"),
        "clipforge_dead_letters_total": ("topic",),
        "clipforge_plugin_runs_total": ("plugin", "status"),
        "clipforge_plugin_duration_seconds": ("plugin",),
        "clipforge_merge_batch_size": (),
        "clipforge_merge_duration_seconds": (),
    }
    defined = {m for ms in metrics.SERVICE_METRICS.values() for m in ms}
    found = {}
    for metric in defined:
        (family,) = metric.describe()
        scraped = family.name + ("_total" if family.type == "counter" else "")
        found[scraped] = tuple(metric._labelnames)
    assert found == expected


def test_each_service_exposes_its_own_metrics_and_kafka_traffic() -> None:
    names = {service: exposed_names(metrics.registry(service)) for service in SERVICES}
    for service in SERVICES:
        metrics.kafka_middleware(service)
        kafka = exposed_names(metrics.registry(service))
        assert "clipforge_kafka_received_messages_total" in kafka
        assert "clipforge_kafka_published_messages_total" in kafka
        assert "process_resident_memory_bytes" in kafka
    assert "clipforge_outbox_backlog" in names["api"]
    assert "clipforge_outbox_backlog" not in names["plugin-runner"] | names["metadata"], "no gauge stuck at 0"
    assert "clipforge_plugin_runs_total" in names["plugin-runner"]
    assert "clipforge_plugin_runs_total" not in names["api"] | names["metadata"]
    assert "clipforge_merge_batch_size_bucket" in names["metadata"]
    assert metrics.registry("api") is metrics.registry("api"), "one registry per service and process"


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "deploy/grafana/clipforge.json").read_text())
    return loaded


def test_every_metric_the_dashboard_queries_exists() -> None:
    exprs = [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]
    queried = {name for expr in exprs for name in re.findall(r"\bclipforge_\w+", expr)}
    assert len(queried) >= 12, queried
    assert queried - every_exposed_name() == set()


def test_the_dashboard_covers_the_issue_and_uses_the_provisioned_datasource() -> None:
    board = dashboard()
    text = json.dumps(board)
    for name in (
        "clipforge_http_requests_total",
        "clipforge_http_request_duration_seconds_bucket",
        "clipforge_outbox_backlog",
        "clipforge_outbox_oldest_age_seconds",
        "clipforge_consumer_lag",
        "clipforge_kafka_received_messages_total",
        "clipforge_kafka_published_messages_total",
        "clipforge_dead_letters_total",
        "clipforge_plugin_runs_total",
        "clipforge_plugin_duration_seconds_bucket",
        "clipforge_merge_batch_size_bucket",
        "clipforge_merge_duration_seconds_bucket",
        "clipforge_clips",
    ):
        assert name in text, name
    assert 'status=~\\"5..\\"' in text, "a 5xx panel"
    (source,) = yaml.safe_load((ROOT / "deploy/grafana/datasources.yml").read_text())["datasources"]
    uids = {t["datasource"]["uid"] for p in board["panels"] for t in p.get("targets", [])}
    assert uids == {source["uid"]}
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))


def test_prometheus_scrapes_every_service_on_its_default_port() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {}
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            targets[job["job_name"]] = static["targets"]
        for found in job.get("dns_sd_configs", []):
            targets[job["job_name"]] = [f"{name}:{found['port']}" for name in found["names"]]
    defaults = Settings()
    assert targets == {
        "api": [f"api:{defaults.api_port}"],
        "plugin-runner": [f"plugin-runner:{defaults.runner_http_port}"],
        "metadata": [f"metadata:{defaults.metadata_http_port}"],
    }


tp = TopicPartition


def test_a_worker_is_ready_with_its_share_of_partitions_broker_and_database() -> None:
    assigned = frozenset({tp("clip.captured", 0), tp("clip.captured", 1)})
    ready, checks = readiness(broker=True, database=True, partitions=assigned)
    assert ready
    assert checks == {"broker": "ok", "database": "ok", "partitions": "2 assigned"}


@pytest.mark.parametrize(
    ("broker", "database", "partitions", "why"),
    [
        (False, True, frozenset({tp("t", 0)}), {"broker": "unreachable"}),
        (True, False, frozenset({tp("t", 0)}), {"database": "unreachable"}),
        (True, True, None, {"partitions": "no partitions yet: joining the group, or rebalancing"}),
    ],
)
def test_a_worker_is_not_ready_without_any_of_them(
    broker: bool, database: bool, partitions: frozenset[TopicPartition] | None, why: dict[str, str]
) -> None:
    ready, checks = readiness(broker=broker, database=database, partitions=partitions)
    assert not ready
    assert why.items() <= checks.items()


def test_a_worker_with_no_partition_for_it_is_ready_but_idle() -> None:
    ready, checks = readiness(broker=True, database=True, partitions=frozenset())
    assert ready
    assert checks["partitions"].startswith("idle")


async def test_the_assignment_follows_the_rebalance_listener() -> None:
    group = ConsumerGroup("plugin-runner")
    assert group.assignment.partitions is None, "not joined yet"
    await group.assignment.on_partitions_assigned({tp("clip.captured", 3)})
    assert group.assignment.partitions == {tp("clip.captured", 3)}
    await group.assignment.on_partitions_revoked({tp("clip.captured", 3)})
    assert group.assignment.partitions is None, "rebalancing"
    await group.assignment.on_partitions_assigned(set())
    assert group.assignment.partitions == frozenset()
    assert isinstance(group.assignment, Assignment)


class FakeConsumer:
    """What the lag reads of an aiokafka consumer: highwater (known after a fetch) and position."""

    def __init__(
        self, highwater: dict[TopicPartition, int | None], position: dict[TopicPartition, int]
    ) -> None:
        self._highwater = highwater
        self._position = position

    def highwater(self, partition: TopicPartition) -> int | None:
        return self._highwater[partition]

    async def position(self, partition: TopicPartition) -> int:
        return self._position[partition]  # a KeyError: no longer assigned


async def test_lag_is_highwater_minus_position_where_both_are_known() -> None:
    consumer = FakeConsumer(
        {tp("t", 0): 120, tp("t", 1): None, tp("t", 2): 7, tp("t", 3): 50},
        {tp("t", 0): 100, tp("t", 1): 0, tp("t", 3): 50},
    )
    lag = await partition_lag(consumer, frozenset(consumer._highwater))
    assert lag == {tp("t", 0): 20, tp("t", 3): 0}, "not fetched yet (1) and reassigned (2) are left out"


def test_a_taken_port_moves_the_server_to_the_next_free_one() -> None:
    first = listen_on_first_free("127.0.0.1", 0)
    port = first.getsockname()[1]
    try:
        second = listen_on_first_free("127.0.0.1", port)
        try:
            assert second.getsockname()[1] > port
        finally:
            second.close()
    finally:
        first.close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="no free port"):
            listen_on_first_free("127.0.0.1", taken.getsockname()[1], tries=1)


async def test_the_worker_http_server_answers_livez_readyz_and_metrics() -> None:
    verdict: dict[str, Any] = {"ready": False}

    async def probe() -> tuple[bool, dict[str, Any]]:
        return verdict["ready"], {"database": "ok" if verdict["ready"] else "unreachable"}

    server = OperationsServer(operations_app(metrics.registry("metadata"), probe), "127.0.0.1", 0)
    address = await server.start()
    metrics.MERGE_BATCH_SIZE.observe(3)
    try:
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            assert (await client.get("/livez")).json() == {"status": "alive"}
            not_ready = await client.get("/readyz")
            assert not_ready.status_code == 503
            assert not_ready.json() == {"status": "not ready", "checks": {"database": "unreachable"}}
            verdict["ready"] = True
            assert (await client.get("/readyz")).status_code == 200
            scraped = await client.get("/metrics")
        assert scraped.headers["content-type"].startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(scraped.text)}
        assert any(
            s.name == "clipforge_merge_batch_size_count" and s.value >= 1
            for s in families["clipforge_merge_batch_size"].samples
        )
    finally:
        await server.stop()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            await client.get("/livez")


async def test_lag_is_set_per_partition_held_and_dropped_when_it_moves_away() -> None:
    group = ConsumerGroup("mergers")
    consumer = FakeConsumer({tp("t", 0): 30, tp("t", 1): 5}, {tp("t", 0): 10, tp("t", 1): 5})
    group.subscriber = SimpleNamespace(consumer=consumer)
    worker = WorkerOperations(
        service="metadata",
        settings=Settings(),
        http_port=0,
        broker=None,  # type: ignore[arg-type]  # lag() reaches neither
        engine=None,  # type: ignore[arg-type]
        groups=[group],
    )
    registry = metrics.registry("metadata")

    def lag_of(partition: int) -> float | None:
        return registry.get_sample_value(
            "clipforge_consumer_lag", {"group": "mergers", "topic": "t", "partition": str(partition)}
        )

    await group.assignment.on_partitions_assigned({tp("t", 0), tp("t", 1)})
    assert await worker.lag() == [
        {"group": "mergers", "topic": "t", "partition": 0, "lag": 20},
        {"group": "mergers", "topic": "t", "partition": 1, "lag": 0},
    ]
    assert (lag_of(0), lag_of(1)) == (20, 0)
    await group.assignment.on_partitions_assigned({tp("t", 1)})  # partition 0 went to another replica
    await worker.lag()
    assert (lag_of(0), lag_of(1)) == (None, 0), "another replica reports partition 0 now"


async def test_a_dead_letter_is_counted_by_the_topic_it_came_from() -> None:
    broker = KafkaBroker()
    registry = metrics.registry("plugin-runner")

    def letters() -> float:
        return registry.get_sample_value("clipforge_dead_letters_total", {"topic": "clip.processed"}) or 0.0

    before = letters()
    async with TestKafkaBroker(broker):
        await DeadLetters.for_service(broker, "metadata", Settings()).send(record(b"not an event"), "bad")
    assert letters() - before == 1


async def test_each_plugin_run_reported_is_counted_once() -> None:
    def runs(status: str) -> float:
        found = metrics.registry("plugin-runner").get_sample_value(
            "clipforge_plugin_runs_total", {"plugin": "counted", "status": status}
        )
        return found or 0.0

    fast = PluginResult(plugin="counted", version="1", status=PluginRunStatus.OK, duration_ms=20)
    slow = fast.model_copy(update={"status": PluginRunStatus.TIMEOUT, "duration_ms": 10_000})
    count_runs([fast])  # a partial report, then the rest
    count_runs([slow])
    assert (runs("ok"), runs("timeout")) == (1, 1)
    seconds = metrics.registry("plugin-runner").get_sample_value(
        "clipforge_plugin_duration_seconds_sum", {"plugin": "counted"}
    )
    assert seconds == pytest.approx(10.02)
