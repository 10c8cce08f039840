"""Runtime settings, read from the environment (see the README's table)."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from clipforge.retries import Retry


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str = Field(
        "postgresql+asyncpg://clipforge:clipforge@localhost:5432/clipforge",
        validation_alias=_env("DATABASE_URL"),
    )
    # Connections kept open per process: enough for every request in flight, since a connection
    # opened beyond the pool is closed again after one use (and opening one costs far more).
    db_pool_size: int = Field(20, ge=1, le=500, validation_alias=_env("DB_POOL_SIZE"))
    kafka_bootstrap_servers: str = Field("localhost:9092", validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS"))
    topic_partitions: int = Field(12, ge=1, validation_alias=_env("KAFKA_TOPIC_PARTITIONS"))

    api_host: str = Field("127.0.0.1", validation_alias=_env("API_HOST"))
    api_port: int = Field(8000, validation_alias=_env("API_PORT"))

    media_dir: Path = Field(Path(".data/media"), validation_alias=_env("CLIPFORGE_MEDIA_DIR"))
    upload_max_bytes: int = Field(4 * 1024**3, ge=1, validation_alias=_env("CLIPFORGE_UPLOAD_MAX_BYTES"))

    plugin_dirs: str = Field("", validation_alias=_env("CLIPFORGE_PLUGIN_DIRS"))
    runner_concurrency: int = Field(64, ge=1, le=1000, validation_alias=_env("RUNNER_CONCURRENCY"))
    runner_batch_size: int = Field(256, ge=1, le=10000, validation_alias=_env("RUNNER_BATCH_SIZE"))
    plugin_rescan_s: float = Field(3.0, ge=0, le=3600, validation_alias=_env("CLIPFORGE_PLUGIN_RESCAN_S"))
    partial_report_s: float = Field(1.0, gt=0, le=60, validation_alias=_env("CLIPFORGE_PARTIAL_REPORT_S"))
    plugin_timeout_s: float = Field(10.0, gt=0, le=300, validation_alias=_env("CLIPFORGE_PLUGIN_TIMEOUT_S"))

    plugin_result_max_bytes: int = Field(
        256 * 1024, ge=1024, le=64 * 1024 * 1024, validation_alias=_env("CLIPFORGE_RESULT_MAX_BYTES")
    )
    # The largest message the services produce (Kafka's default limit is 1 MiB): results are split
    # into several clip.processed events to fit, and dead letters are cut to fit.
    kafka_max_message_bytes: int = Field(
        1_000_000, ge=64 * 1024, le=100 * 1024 * 1024, validation_alias=_env("KAFKA_MAX_MESSAGE_BYTES")
    )
    # Tries for a message that fails with an error that is not transient, before it is
    # dead-lettered (a database or broker that is away is waited out, however long).
    delivery_attempts: int = Field(3, ge=1, le=100, validation_alias=_env("CLIPFORGE_DELIVERY_ATTEMPTS"))

    merge_batch_size: int = Field(200, ge=1, le=5000, validation_alias=_env("METADATA_BATCH_SIZE"))

    log_level: str = Field("INFO", validation_alias=_env("LOG_LEVEL"))
    instance: str = Field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}",
        validation_alias=_env("CLIPFORGE_INSTANCE"),
    )

    def retry(self) -> Retry:
        return Retry(attempts=self.delivery_attempts)

    def plugin_folders(self) -> list[Path]:
        """Extra plugin folders from CLIPFORGE_PLUGIN_DIRS (os.pathsep-separated)."""
        return [Path(p).expanduser().resolve() for p in self.plugin_dirs.split(os.pathsep) if p.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
