"""A worker's operations side, the same for both workers: its HTTP server (`/metrics`,
`/livez`, `/readyz`), its heartbeat, and what they report.

A worker is ready when it can do its job: its broker answers, its database answers, and its main
consumer group has given it its share of partitions. A share of none is ready too (more
replicas than partitions: the worker idles until a rebalance gives it some), and the detail says
so. While the group is still being joined, or rebalanced, the worker has no partitions yet and
is not ready.

Consumer lag is read from each group's aiokafka consumer (behind its FastStream subscriber):
for every assigned partition, the highwater offset the last fetch saw minus the consumer's
position. Both are known locally, so reading them costs no request to Kafka.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from faststream import FastStream
from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.observability import metrics
from clipforge.observability.checks import broker_ok, database_ok
from clipforge.observability.heartbeat import Heartbeat
from clipforge.observability.http import OperationsServer, Readiness, operations_app
from clipforge.settings import Settings

log = logging.getLogger(__name__)


class Assignment(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """The partitions a group has given this consumer: None while it joins or rebalances."""

    def __init__(self) -> None:
        self.partitions: frozenset[TopicPartition] | None = None

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.partitions = None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.partitions = frozenset(assigned)


class Subscribed(Protocol):
    """A FastStream Kafka subscriber: the aiokafka consumer behind it, once it runs."""

    consumer: AIOKafkaConsumer | None


@dataclass
class ConsumerGroup:
    name: str
    assignment: Assignment = field(default_factory=Assignment)
    subscriber: Subscribed | None = None


def partitions_check(partitions: frozenset[TopicPartition] | None) -> tuple[bool, str]:
    if partitions is None:
        return False, "no partitions yet: joining the group, or rebalancing"
    if not partitions:
        return True, "idle: the group has more consumers than partitions, none is this one's"
    return True, f"{len(partitions)} assigned"


def readiness(*, broker: bool, database: bool, partitions: frozenset[TopicPartition] | None) -> Readiness:
    """Ready when the broker and the database answer and the main group has assigned this
    worker its share (possibly none); each check's finding, for `/readyz` and the status page."""
    has_share, assigned = partitions_check(partitions)
    checks = {
        "broker": "ok" if broker else "unreachable",
        "database": "ok" if database else "unreachable",
        "partitions": assigned,
    }
    return broker and database and has_share, checks


async def partition_lag(
    consumer: AIOKafkaConsumer, partitions: frozenset[TopicPartition]
) -> dict[TopicPartition, int]:
    """Each partition's lag, where the consumer knows it (a partition not fetched yet has no
    highwater; one being reassigned has no position)."""
    lag = {}
    for tp in sorted(partitions):
        try:
            highwater = consumer.highwater(tp)
            async with asyncio.timeout(0.2):  # immediate when the position is known
                position = await consumer.position(tp)
        except Exception:  # reassigned meanwhile, or no position yet
            continue
        if highwater is not None:
            lag[tp] = max(0, highwater - position)
    return lag


class WorkerOperations:
    """Attach to a worker's FastStream app (`attach`); `groups[0]` is the group whose
    partitions make the worker ready, every group's lag is reported."""

    def __init__(
        self,
        *,
        service: str,
        settings: Settings,
        http_port: int,
        broker: KafkaBroker,
        engine: AsyncEngine,
        groups: list[ConsumerGroup],
        detail: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        self.service = service
        self.broker = broker
        self.engine = engine
        self.groups = groups
        self.detail = detail
        self.http = OperationsServer(
            operations_app(metrics.registry(service), self.check), settings.http_host, http_port
        )
        self.heartbeat = Heartbeat(
            engine,
            service=service,
            instance=settings.instance,
            interval=settings.heartbeat_s,
            report=self.report,
        )
        self._lag_series: set[tuple[str, str, str]] = set()

    def attach(self, app: FastStream) -> None:
        """Serve and report from the first start-up hook (so `/livez` answers while the worker
        waits for its database), stop reporting before the broker stops, stop serving last."""
        app.on_startup(self.start)
        app.on_shutdown(self.heartbeat.stop)
        app.after_shutdown(self.http.stop)

    async def start(self) -> None:
        address = await self.http.start()
        log.info("%s serves /metrics, /livez and /readyz on http://%s", self.service, address)
        self.heartbeat.start()

    async def check(self) -> Readiness:
        broker, database = await asyncio.gather(broker_ok(self.broker), database_ok(self.engine))
        return readiness(broker=broker, database=database, partitions=self.groups[0].assignment.partitions)

    async def lag(self) -> list[dict[str, Any]]:
        """Every group's lag per assigned partition, also set on `clipforge_consumer_lag` (the
        series of partitions no longer this worker's are removed)."""
        found = []
        for group in self.groups:
            consumer = group.subscriber.consumer if group.subscriber is not None else None
            partitions = group.assignment.partitions
            if consumer is None or not partitions:
                continue
            for tp, lag in (await partition_lag(consumer, partitions)).items():
                found.append({"group": group.name, "topic": tp.topic, "partition": tp.partition, "lag": lag})
        series = {(row["group"], row["topic"], str(row["partition"])) for row in found}
        for gone in self._lag_series - series:
            metrics.CONSUMER_LAG.remove(*gone)
        for row in found:
            metrics.CONSUMER_LAG.labels(row["group"], row["topic"], str(row["partition"])).set(row["lag"])
        self._lag_series = series
        return found

    async def report(self) -> tuple[bool, dict[str, Any]]:
        ready, checks = await self.check()
        return ready, {"http": self.http.address, "checks": checks, "lag": await self.lag(), **self.detail()}
