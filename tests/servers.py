"""Real Postgres and Kafka for a test session, from the first source that is available:

1. the servers named by DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS;
2. testcontainers, when a Docker engine answers;
3. the repo's own local servers (clipforge_devstack), on free ports so they never collide
   with a running `make dev`, in a throw-away folder, stopped at the end.

Each source is chosen per server, so one can be given and the other started. The local Kafka is
secured as `make dev`'s is (SASL/SCRAM users, ACLs): each service logs in as its own user
(`env_for`), the tests' own tools and `clipforge.admin` as the super user (`env`,
`kafka_settings`). A Kafka from the environment is used with the environment's KAFKA_* settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from clipforge.messaging import kafka_options
from clipforge.settings import Settings
from clipforge_devstack.kafka import ADMIN, KafkaCredentials, LocalKafka
from clipforge_devstack.paths import free_port
from clipforge_devstack.postgres import LocalPostgres
from clipforge_devstack.stack import service_env


@dataclass
class Servers:
    database_url: str
    kafka_bootstrap: str
    source: str
    postgres: LocalPostgres | None = None
    """The server itself when this session started it (the fault suite stops and starts it)."""
    kafka_users: KafkaCredentials | None = None
    """The local broker's users; None for a Kafka that is not this session's own."""

    def kafka_env(self, user: str = ADMIN) -> dict[str, Any]:
        """Where Kafka is and how to log in as `user` (admin, api, runner, metadata, subscriber):
        variables for a process, or keyword arguments of `Settings`."""
        login = self.kafka_users.env_for(user) if self.kafka_users else {}
        return {"KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap, **login}

    def kafka_settings(self, user: str = ADMIN) -> Settings:
        """Settings for a Kafka client of the tests' own, logged in as `user`."""
        return Settings(**self.kafka_env(user))

    def kafka_options(self, user: str = ADMIN) -> dict[str, Any]:
        """An aiokafka client's connection arguments, logged in as `user`."""
        return kafka_options(self.kafka_settings(user))

    def addresses(self) -> dict[str, str]:
        """Where both servers are, and no Kafka login: each service adds its own (`env_for`)."""
        return {"DATABASE_URL": self.database_url, "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap}

    def env(self) -> dict[str, str]:
        """Both servers, Kafka as the super user: for `clipforge.admin` and the tests' tools."""
        return {**self.addresses(), **self.kafka_env(ADMIN)}

    def env_for(self, service: str) -> dict[str, str]:
        """Both servers, Kafka as the service's own user (api, plugin-runner or metadata)."""
        return service_env(service, self.addresses(), self.kafka_users)


def docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:
        return False


def _scratch() -> Path:
    home = Path(tempfile.mkdtemp(prefix="clipforge-test-"))
    home.chmod(0o755)  # the postgres user must reach its data folder inside
    return home


@contextlib.contextmanager
def _postgres(stack: contextlib.ExitStack) -> Iterator[tuple[str, str, LocalPostgres | None]]:
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"], "env", None
    elif docker_available():
        from testcontainers.community.postgres import PostgresContainer

        container = stack.enter_context(PostgresContainer("postgres:15"))
        yield container.get_connection_url(driver="asyncpg"), "testcontainers", None
    else:
        home = _scratch()
        stack.callback(shutil.rmtree, home, ignore_errors=True)
        pg = LocalPostgres(
            home / "postgres",
            port=free_port(),
            durable=False,
            database=f"clipforge_test_{uuid.uuid4().hex[:8]}",
        )
        stack.callback(pg.reset)
        pg.start()
        yield pg.url, "local", pg


@contextlib.contextmanager
def _kafka(stack: contextlib.ExitStack) -> Iterator[tuple[str, str, KafkaCredentials | None]]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"], "env", None
    elif docker_available():
        from testcontainers.community.kafka import KafkaContainer

        container = stack.enter_context(KafkaContainer().with_kraft())
        yield container.get_bootstrap_server(), "testcontainers (open: no users, no ACLs)", None
    else:
        home = _scratch()
        stack.callback(shutil.rmtree, home, ignore_errors=True)
        kafka = LocalKafka(home / "kafka", port=free_port(), controller_port=free_port())
        stack.callback(kafka.reset)
        kafka.start()
        yield kafka.bootstrap, "local (SASL/SCRAM, ACLs)", kafka.credentials


@contextlib.contextmanager
def real_servers() -> Iterator[Servers]:
    with contextlib.ExitStack() as stack:
        database_url, pg_source, postgres = stack.enter_context(_postgres(stack))
        bootstrap, kafka_source, users = stack.enter_context(_kafka(stack))
        yield Servers(database_url, bootstrap, f"postgres={pg_source} kafka={kafka_source}", postgres, users)


async def fresh_database(database_url: str) -> str:
    """A new, migrated database on the same server: for tests whose relays or fuzzing must not
    share rows with the rest of the session."""
    import asyncpg

    from clipforge.db.migrate import upgrade

    url = make_url(database_url)
    name = f"clipforge_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(
        user=url.username, password=url.password, host=url.host, port=url.port, database=url.database
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    new_url = url.set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, new_url)
    return new_url
