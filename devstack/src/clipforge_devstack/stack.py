"""The local stack as `make dev` and the tests see it: which servers, on which ports."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from clipforge_devstack.kafka import LocalKafka
from clipforge_devstack.paths import data_dir
from clipforge_devstack.postgres import LocalPostgres
from clipforge_devstack.supervisor import Service


@dataclass
class Stack:
    postgres: LocalPostgres
    kafka: LocalKafka

    @classmethod
    def dev(cls) -> Stack:
        """The `make dev` servers: default ports, overridable, data in `.data/`."""
        root = data_dir()
        return cls(
            LocalPostgres(root / "postgres", port=int(os.environ.get("POSTGRES_PORT", "5432"))),
            LocalKafka(
                root / "kafka",
                port=int(os.environ.get("KAFKA_PORT", "9092")),
                controller_port=int(os.environ.get("KAFKA_CONTROLLER_PORT", "9093")),
            ),
        )

    @classmethod
    def ephemeral(cls, home: Path, pg_port: int, kafka_port: int, controller_port: int) -> Stack:
        """Throw-away servers for a test or bench session, durability traded for speed."""
        return cls(
            LocalPostgres(home / "postgres", port=pg_port, durable=False),
            LocalKafka(home / "kafka", port=kafka_port, controller_port=controller_port),
        )

    def env(self) -> dict[str, str]:
        """Connection settings for the services (the ones the user set win)."""
        return {
            "DATABASE_URL": os.environ.get("DATABASE_URL", self.postgres.url),
            "KAFKA_BOOTSTRAP_SERVERS": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", self.kafka.bootstrap),
        }


def python_service(name: str, module: str, env: dict[str, str], replicas: int = 1) -> Service:
    return Service(name, [sys.executable, "-m", module], env, replicas)


def services(env: dict[str, str], runners: int = 1) -> list[Service]:
    return [
        python_service("api", "clipforge_api", env),
        python_service("plugin-runner", "clipforge_plugin_runner", env, replicas=runners),
        python_service("metadata", "clipforge_metadata", env),
    ]
