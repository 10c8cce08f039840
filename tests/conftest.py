"""Session fixtures. Servers start only when a test asks for them, so `pytest tests/unit`
needs none."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from clipforge.db.engine import make_engine, make_sessionmaker
from clipforge.observability import tracing
from clipforge.settings import Settings
from clipforge_devstack.paths import free_port
from clipforge_devstack.s3proxy import LocalS3
from tests.auth import ADMIN_KEY
from tests.kafka_reader import KafkaReader
from tests.servers import Servers, real_servers


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    with real_servers() as found:
        print(f"\ntest servers: {found.source}: {found.database_url} {found.kafka_bootstrap}")
        acls = ["--acls"] if found.kafka_users else []  # the session's own broker has users
        subprocess.run(
            [sys.executable, "-m", "clipforge.admin", "init", *acls],
            env={**os.environ, **found.env()},
            check=True,
        )
        yield found


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on in this process for one test, every span exported into memory as it ends.
    Request it before what builds a broker or an app (they instrument themselves when built)."""
    exporter = InMemorySpanExporter()
    tracing.install(tracing.tracer_provider("pytest", Settings(OTEL_SDK_DISABLED=False), exporter=exporter))
    try:
        yield exporter
    finally:
        tracing.install(None)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's media library (never the repo's `.data/media`)."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def settings(servers: Servers, media_dir: Path) -> Settings:
    return Settings(
        DATABASE_URL=servers.database_url,
        **servers.kafka_env("api"),  # the in-process API's own Kafka user
        CLIPFORGE_INSTANCE="pytest",
        CLIPFORGE_MEDIA_DIR=media_dir,
        CLIPFORGE_ADMIN_KEY=ADMIN_KEY,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.database_url, pool_size=4)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def kafka_reader(servers: Servers) -> AsyncIterator[KafkaReader]:
    reader = KafkaReader(servers.kafka_settings())
    yield reader
    await reader.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalS3]:
    """An S3-compatible server of the session's own (S3Proxy on a free port, over a throw-away
    folder): `endpoint`, `access_key`, `secret_key`, `region` and an existing `bucket`."""
    server = LocalS3(tmp_path_factory.mktemp("s3proxy"), port=free_port(), bucket="clipforge-test")
    server.start()
    try:
        yield server
    finally:
        server.reset()
