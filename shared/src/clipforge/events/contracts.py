"""Pydantic models of every event; the AsyncAPI document is generated from them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from clipforge.plugin_scope import GameSelector

EVENT_NAMESPACE = uuid.UUID("5b0e3a55-7c1f-4c43-9d59-1f0c2c7f0d10")


def utcnow() -> datetime:
    return datetime.now(UTC)


def derived_event_id(source: uuid.UUID, role: str) -> uuid.UUID:
    """The id of the event caused by `source`: the same every time, so a redelivered input
    produces an output that downstream deduplication recognises."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{source}:{role}")


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")  # newer producers may add fields

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str
    schema_version: int = 1
    occurred_at: datetime = Field(default_factory=utcnow)


class ClipStatus(StrEnum):
    """Where a clip is in its processing (see the README's "Processing")."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"


class ClipRecord(BaseModel):
    """A clip as stored: the one declaration of its fields that events, the API's answers and
    plugins see (read from a `clips` row by attribute: its `clip_metadata` is `metadata`)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None = None
    file_path: str
    resolution: str | None = None
    fps: float | None = None
    codec: str | None = None
    duration: float | None = None
    file_size: int | None = None
    game_name: str | None = None
    game_id: str | None = None
    status: ClipStatus = ClipStatus.PENDING
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasChoices("clip_metadata", "metadata")
    )
    recorded_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    omitted_results: list[str] = Field(
        default_factory=list,
        description="Plugins whose results were left out of `metadata.plugins` to keep the event within"
        " Kafka's message size limit; read them from the API.",
    )


class ClipCaptured(Envelope):
    """A clip was stored (or asked to be processed again): run the plugins on it."""

    event_type: Literal["clip.captured"] = "clip.captured"
    clip_id: uuid.UUID
    clip: ClipRecord
    plugins: list[str] | None = Field(
        None, description="Run only these plugins (a reprocess or backfill); all enabled ones if null."
    )
    backfill_id: int | None = Field(None, description="The backfill job that asked for this run, if any.")


class ClipUpdated(Envelope):
    """A user changed a clip's fields; `changed` names them. Plugins do not run again."""

    event_type: Literal["clip.updated"] = "clip.updated"
    clip_id: uuid.UUID
    changed: list[str]
    clip: ClipRecord


class ClipDeleted(Envelope):
    """A clip was deleted; results still in flight for it are dropped."""

    event_type: Literal["clip.deleted"] = "clip.deleted"
    clip_id: uuid.UUID


class PluginRunStatus(StrEnum):
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"


RUN_KEY = "_run"
"""A stored result's key for how its run went (see `PluginResult.stored`)."""


class PluginResult(BaseModel):
    plugin: str
    version: str
    status: PluginRunStatus
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    duration_ms: float = 0.0
    config_hash: str | None = Field(
        None,
        max_length=64,
        description="The configuration the plugin ran with (see clipforge.plugin_scope.config_hash); "
        "None when it did not run (skipped) or the runner predates it.",
    )

    def stored(self, **run: str) -> dict[str, Any]:
        """The result as a clip keeps it under `metadata.plugins.<plugin>`: the plugin's own keys,
        and beside them `_run`, how the run went (with `run`: the run's ids and time): the plugin's
        version and the hash of its configuration among them. Declared here so that the metadata
        service and `clipforge plugin run` show the same thing."""
        how = {
            "status": self.status.value,
            "version": self.version,
            "config_hash": self.config_hash,
            "duration_ms": self.duration_ms,
        }
        return {**self.result, RUN_KEY: {**how, "error": self.error, **run}}


class ClipProcessed(Envelope):
    """Results of one run of the plugins on a clip. A run may be reported in several events
    (the fast plugins first); it is complete once every plugin in `due` has a result."""

    event_type: Literal["clip.processed"] = "clip.processed"
    clip_id: uuid.UUID
    source_event_id: uuid.UUID = Field(description="The clip.captured event this run answers: the run id.")
    runner: str = Field(description="The plugin-runner instance that ran the plugins.")
    due: list[str] = Field(default_factory=list, description="Every plugin this run covers.")
    results: list[PluginResult]
    backfill_id: int | None = None


class ClipEnriched(Envelope):
    """Every plugin due for the clip has reported: its merged record."""

    event_type: Literal["clip.enriched"] = "clip.enriched"
    clip_id: uuid.UUID
    source_event_id: uuid.UUID = Field(description="The run (clip.captured event) that completed.")
    clip: ClipRecord


PluginChange = Literal["registered", "updated", "enabled", "disabled", "config", "scope", "deleted"]


class PluginChanged(Envelope):
    """The registry changed: every runner replica loads, unloads or reloads the plugin."""

    event_type: Literal["plugin.changed"] = "plugin.changed"
    plugin_id: int
    name: str
    change: PluginChange
    enabled: bool
    config: dict[str, Any] = Field(default_factory=dict)
    games: list[GameSelector] | None = Field(
        None, description="The games it runs on (see `clipforge.plugin_scope`); null: every game."
    )
    game_config: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Configuration overrides by game: a game name, or `id:<game_id>`, to the keys"
        " that replace the plugin's own for that game's clips.",
    )


class DeadLetter(BaseModel):
    """A message a consumer gave up on, on `<topic>.dlq`, with the reason and where it came from.

    The original value is kept whole when the letter fits the broker's message size limit, as
    text (`original`) when it is UTF-8, else as base64 (`original_base64`); a larger one is cut to
    fit (`truncated`), and its size and SHA-256 still identify it. Only whole letters can be
    replayed (`python -m clipforge.admin dlq replay`)."""

    event_type: Literal["dead_letter"] = "dead_letter"
    schema_version: int = 2
    occurred_at: datetime = Field(default_factory=utcnow)
    service: str = Field(description="the consumer that gave up")
    error: str = Field(description="why, as that consumer saw it")
    attempts: int = Field(1, description="how often it was tried before it was given up")
    topic: str
    partition: int
    offset: int
    key: str | None
    original: str | None = Field(None, description="the original value, when it is UTF-8 text")
    original_base64: str | None = Field(None, description="the original value, when it is not")
    original_size: int = Field(description="bytes of the original value")
    original_sha256: str = Field(description="hex SHA-256 of the original value")
    truncated: bool = Field(False, description="the original was cut to fit the broker's size limit")
