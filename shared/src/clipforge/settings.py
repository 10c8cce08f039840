"""Runtime settings, read from the environment (see the README's table)."""

from __future__ import annotations

import os
import socket
import tempfile
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
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
    # The workers' own small HTTP server (/metrics, /livez, /readyz). A port that is taken is
    # not an error: the worker takes the next free one (replicas on one machine) and says which.
    http_host: str = Field("127.0.0.1", validation_alias=_env("CLIPFORGE_HTTP_HOST"))
    runner_http_port: int = Field(8001, ge=0, le=65535, validation_alias=_env("RUNNER_HTTP_PORT"))
    metadata_http_port: int = Field(8002, ge=0, le=65535, validation_alias=_env("METADATA_HTTP_PORT"))
    # How often every process reports itself in `service_instances` (the status page); one not
    # heard from for three of these is shown stale.
    heartbeat_s: float = Field(5.0, gt=0, le=300, validation_alias=_env("CLIPFORGE_HEARTBEAT_S"))

    media_dir: Path = Field(Path(".data/media"), validation_alias=_env("CLIPFORGE_MEDIA_DIR"))
    upload_max_bytes: int = Field(4 * 1024**3, ge=1, validation_alias=_env("CLIPFORGE_UPLOAD_MAX_BYTES"))
    # Empty: files live in media_dir. `s3://bucket/prefix`: in an S3-compatible store (then
    # media_dir is only the runners' scratch space for downloads).
    storage_url: str = Field("", validation_alias=_env("CLIPFORGE_STORAGE_URL"))
    s3_endpoint: str = Field("", validation_alias=_env("CLIPFORGE_S3_ENDPOINT"))
    s3_region: str = Field("us-east-1", validation_alias=_env("CLIPFORGE_S3_REGION"))
    s3_access_key_id: str = Field("", validation_alias=_env("CLIPFORGE_S3_ACCESS_KEY_ID"))
    s3_secret_access_key: SecretStr = Field(
        SecretStr(""), validation_alias=_env("CLIPFORGE_S3_SECRET_ACCESS_KEY")
    )
    scratch_dir: Path = Field(
        Path(tempfile.gettempdir()) / "clipforge", validation_alias=_env("CLIPFORGE_SCRATCH_DIR")
    )
    # Folders whose new videos become clips (os.pathsep-separated); they must be inside a local
    # media library so the clip's file_path can name them.
    watch_dirs: str = Field("", validation_alias=_env("CLIPFORGE_WATCH_DIRS"))
    watch_interval_s: float = Field(2.0, gt=0, le=3600, validation_alias=_env("CLIPFORGE_WATCH_INTERVAL_S"))

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

    # --- Kafka credentials (SASL, TLS): every service, and the devstack's broker by default.
    kafka_security_protocol: str = Field(
        "PLAINTEXT",
        pattern="^(PLAINTEXT|SASL_PLAINTEXT|SASL_SSL|SSL)$",
        validation_alias=_env("KAFKA_SECURITY_PROTOCOL"),
    )
    kafka_sasl_mechanism: str = Field(
        "SCRAM-SHA-256",
        pattern="^(PLAIN|SCRAM-SHA-256|SCRAM-SHA-512)$",
        validation_alias=_env("KAFKA_SASL_MECHANISM"),
    )
    kafka_username: str = Field("", validation_alias=_env("KAFKA_USERNAME"))
    kafka_password: SecretStr = Field(SecretStr(""), validation_alias=_env("KAFKA_PASSWORD"))
    kafka_ssl_cafile: str = Field("", validation_alias=_env("KAFKA_SSL_CAFILE"))

    # --- API keys, browsers.
    # An admin key the stack makes sure exists at start (32+ characters), for scripts and CI.
    admin_key: SecretStr = Field(SecretStr(""), validation_alias=_env("CLIPFORGE_ADMIN_KEY"))
    cors_origins: str = Field("", validation_alias=_env("CLIPFORGE_CORS_ORIGINS"))  # comma-separated
    public_docs: bool = Field(False, validation_alias=_env("CLIPFORGE_PUBLIC_DOCS"))
    # The web app's built files (`make web`), served at `/`; the app is absent while it is missing.
    web_dir: Path = Field(Path("web/dist"), validation_alias=_env("CLIPFORGE_WEB_DIR"))
    auth_failures_per_minute: int = Field(
        30, ge=1, le=100_000, validation_alias=_env("CLIPFORGE_AUTH_FAILURES_PER_MINUTE")
    )

    # --- Plugin isolation: plugins run in host processes of their own, with none of these settings.
    plugin_user: str = Field(
        "nobody", validation_alias=_env("CLIPFORGE_PLUGIN_USER")
    )  # when the runner is root
    plugin_memory_mb: int = Field(
        2048, ge=64, le=1_048_576, validation_alias=_env("CLIPFORGE_PLUGIN_MEMORY_MB")
    )
    plugin_cpu_s: int = Field(600, ge=1, le=86_400, validation_alias=_env("CLIPFORGE_PLUGIN_CPU_S"))
    plugin_max_files: int = Field(256, ge=16, le=65_536, validation_alias=_env("CLIPFORGE_PLUGIN_MAX_FILES"))
    plugin_max_procs: int = Field(64, ge=1, le=65_536, validation_alias=_env("CLIPFORGE_PLUGIN_MAX_PROCS"))

    log_level: str = Field("INFO", validation_alias=_env("LOG_LEVEL"))
    # `text` for people (`make dev`), `json` (one object per line) for a log collector.
    log_format: str = Field("text", pattern="^(text|json)$", validation_alias=_env("LOG_FORMAT"))
    # --- Tracing (OpenTelemetry), by the standard variables; off unless an exporter is named
    # (or an OTLP endpoint is set). The exporters and sampler read their own OTEL_* variables.
    otel_sdk_disabled: bool = Field(False, validation_alias=_env("OTEL_SDK_DISABLED"))
    otel_traces_exporter: str = Field(
        "", pattern=r"^[a-z_, ]*$", validation_alias=_env("OTEL_TRACES_EXPORTER")
    )  # comma-separated: otlp, console, none
    instance: str = Field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}",
        validation_alias=_env("CLIPFORGE_INSTANCE"),
    )

    @field_validator("admin_key")
    @classmethod
    def _long_enough(cls, key: SecretStr) -> SecretStr:
        if key.get_secret_value() and len(key.get_secret_value()) < 32:
            raise ValueError("CLIPFORGE_ADMIN_KEY must be at least 32 characters")
        return key

    def retry(self) -> Retry:
        return Retry(attempts=self.delivery_attempts)

    def plugin_folders(self) -> list[Path]:
        """Extra plugin folders from CLIPFORGE_PLUGIN_DIRS (os.pathsep-separated)."""
        return [Path(p).expanduser().resolve() for p in self.plugin_dirs.split(os.pathsep) if p.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
