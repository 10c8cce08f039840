"""The tables. Alembic migrations in `migrations/` create them; these models must match."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    # Server-side defaults (timestamps, status) come back in the INSERT's RETURNING clause,
    # so no lazy load is ever needed (lazy loads are errors under asyncio).
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class Clip(TimestampMixin, Base):
    __tablename__ = "clips"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    file_path: Mapped[str] = mapped_column(String(1024), nullable=False)
    resolution: Mapped[str | None] = mapped_column(String(16))
    fps: Mapped[float | None] = mapped_column(Float)
    codec: Mapped[str | None] = mapped_column(String(32))
    duration: Mapped[float | None] = mapped_column(Float)
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    game_name: Mapped[str | None] = mapped_column(String(200))
    game_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(32), nullable=False, server_default="pending")
    tags: Mapped[list[str]] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    # "metadata" is reserved on declarative classes, so the attribute has another name.
    clip_metadata: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sha256: Mapped[str | None] = mapped_column(String(64))  # of an uploaded file: one clip per file

    __table_args__ = (
        Index("ux_clips_sha256", "sha256", unique=True, postgresql_where=text("sha256 IS NOT NULL")),
        Index("ix_clips_game_name", "game_name"),
        Index("ix_clips_game_id", "game_id"),
        Index("ix_clips_status", "status"),
        Index("ix_clips_recorded_at", "recorded_at"),
        Index("ix_clips_created_at", "created_at"),
        Index("ix_clips_tags", "tags", postgresql_using="gin"),
        Index(
            "ix_clips_title_trgm", "title", postgresql_using="gin", postgresql_ops={"title": "gin_trgm_ops"}
        ),
    )


class DeletedClip(Base):
    """A deleted clip's id: events still in flight for it are dropped, not dead-lettered. Its
    files are purged after the commit (`purged_at` set once they are gone)."""

    __tablename__ = "deleted_clips"
    __table_args__ = (
        Index("ix_deleted_clips_unpurged", "deleted_at", postgresql_where=text("purged_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    file_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The uploaded file to delete; None when the file was registered by path (the user's)."""
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ApiKey(Base):
    """An API key: its role, and the SHA-256 of its secret (the secret itself is shown once)."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("role IN ('viewer', 'uploader', 'admin')", name="ck_api_keys_role"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    """The secret's first characters: enough to tell keys apart in a list, never to use one."""
    secret_sha256: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class Plugin(TimestampMixin, Base):
    __tablename__ = "plugins"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str] = mapped_column(String(64), nullable=False)
    author: Mapped[str | None] = mapped_column(String(200))
    plugin_type: Mapped[str] = mapped_column(String(32), nullable=False, server_default="python")
    entry_point: Mapped[str | None] = mapped_column(String(512))
    install_path: Mapped[str | None] = mapped_column(String(1024))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    plugin_metadata: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    # Where the row came from: "api" (registered by hand) or "discovered" (a runner found it).
    source: Mapped[str] = mapped_column(String(32), nullable=False, server_default="api")
    # The last import or initialize() failure a runner saw, for the user to read in the API.
    load_error: Mapped[str | None] = mapped_column(Text)
    # Its per-game scope (`clipforge.plugin_scope`): the games it runs on (null: every game), as
    # selectors ({"game_name": ...} or {"game_id": ...}), and configuration overrides by game key.
    games: Mapped[list[dict[str, str]] | None] = mapped_column(JSONB)
    game_config: Mapped[dict[str, dict[str, Any]]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )

    configurations: Mapped[list[PluginConfiguration]] = relationship(
        back_populates="plugin", cascade="all, delete-orphan", passive_deletes=True
    )


class PluginConfiguration(TimestampMixin, Base):
    __tablename__ = "plugin_configurations"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    plugin_id: Mapped[int] = mapped_column(
        ForeignKey("plugins.id", ondelete="CASCADE"), nullable=False, index=True
    )
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    value: Mapped[Any] = mapped_column(JSONB, nullable=False)

    plugin: Mapped[Plugin] = relationship(back_populates="configurations")

    __table_args__ = (UniqueConstraint("plugin_id", "key", name="uq_plugin_configurations_plugin_key"),)


class OutboxEvent(Base):
    """An event committed with the change it announces; the relay publishes and deletes it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    topic: Mapped[str] = mapped_column(String(255), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # Kafka headers to publish with the event: the trace context of the request that wrote it.
    headers: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    __table_args__ = (Index("ix_outbox_key_id", "key", "id"),)


class ServiceInstance(Base):
    """A running process of a service, as it last reported itself (every few seconds): whether
    it is ready, and what an operator wants to see of it (its lag, its plugins). The API's
    status page reads these, so no service calls another."""

    __tablename__ = "service_instances"

    instance: Mapped[str] = mapped_column(String(255), primary_key=True)
    service: Mapped[str] = mapped_column(String(64), nullable=False)
    ready: Mapped[bool] = mapped_column(Boolean, nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class ProcessedEvent(Base):
    """Event ids a consumer has applied: the insert and the effect share one transaction."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class ClipRun(Base):
    """One processing of a clip: the plugins due, and when all of them had reported."""

    __tablename__ = "clip_runs"

    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    clip_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), nullable=False)
    due: Mapped[list[str] | None] = mapped_column(JSONB)  # null until a runner says which plugins
    backfill_id: Mapped[int | None] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_clip_runs_open", "clip_id", postgresql_where=text("completed_at IS NULL")),)


class PluginRun(Base):
    """The trace: one plugin's outcome in one run. Unique per (run, plugin), which is what makes
    merging idempotent however often, and in however many pieces, a run is reported."""

    __tablename__ = "plugin_runs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    clip_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), nullable=False)
    plugin: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    duration_ms: Mapped[float] = mapped_column(Float, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    runner: Mapped[str] = mapped_column(String(255), nullable=False)
    backfill_id: Mapped[int | None] = mapped_column(Integer)
    reported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    __table_args__ = (
        UniqueConstraint("run_id", "plugin", name="uq_plugin_runs_run_plugin"),
        Index("ix_plugin_runs_clip_id", "clip_id", "plugin"),
        Index("ix_plugin_runs_plugin_id", "plugin", "id"),  # a plugin's recent runs
        Index("ix_plugin_runs_backfill_id", "backfill_id", postgresql_where=text("backfill_id IS NOT NULL")),
    )


class Backfill(Base):
    """A request to run one plugin over the clips that lack its result."""

    __tablename__ = "backfills"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    plugin_id: Mapped[int] = mapped_column(
        ForeignKey("plugins.id", ondelete="CASCADE"), nullable=False, index=True
    )
    plugin_name: Mapped[str] = mapped_column(String(64), nullable=False)
    total: Mapped[int] = mapped_column(Integer, nullable=False)
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
