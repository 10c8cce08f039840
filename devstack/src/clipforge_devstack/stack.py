"""The local stack as `make dev` and the tests see it: which servers, on which ports."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from clipforge_devstack.kafka import ADMIN, SERVICE_USERS, KafkaCredentials, LocalKafka
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

    def kafka_users(self) -> KafkaCredentials | None:
        """The local broker's users, or None when the environment names a Kafka of its own (then
        whatever KAFKA_* settings the user set reach the services as they are)."""
        return None if "KAFKA_BOOTSTRAP_SERVERS" in os.environ else self.kafka.credentials

    def admin_env(self) -> dict[str, str]:
        """`env()` as the Kafka super user: for `clipforge.admin` (topics, ACLs, dead letters)."""
        users = self.kafka_users()
        return {**self.env(), **(users.env_for(ADMIN) if users else {})}


def service_env(name: str, env: dict[str, str], users: KafkaCredentials | None) -> dict[str, str]:
    """`env` with the service's own Kafka user (`name` as in `services`), when there are users."""
    return {**env, **users.env_for(SERVICE_USERS[name])} if users else env


def python_service(name: str, module: str, env: dict[str, str], replicas: int = 1) -> Service:
    return Service(name, [sys.executable, "-m", module], env, replicas)


def services(env: dict[str, str], runners: int = 1, users: KafkaCredentials | None = None) -> list[Service]:
    """The three services with `env`, each logged in to Kafka as its own user of `users`."""
    return [
        python_service("api", "clipforge_api", service_env("api", env, users)),
        python_service(
            "plugin-runner",
            "clipforge_plugin_runner",
            service_env("plugin-runner", env, users),
            replicas=runners,
        ),
        python_service("metadata", "clipforge_metadata", service_env("metadata", env, users)),
    ]
