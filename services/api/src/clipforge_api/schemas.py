"""Request and response bodies. Every field is bounded, so bad input is a 422 naming the field
and the reason, never a database error."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from clipforge.sdk.plugin import NAME_PATTERN, VERSION_PATTERN

T = TypeVar("T")

MAX_JSON_DEPTH = 32
RESERVED_METADATA_KEYS = frozenset({"plugins"})


def _no_nul(v: str) -> str:
    if "\x00" in v:
        raise ValueError("must not contain NUL characters")
    return v


def _json_safe(value: Any, depth: int = 0) -> Any:
    """Postgres JSONB takes no NUL in strings and no NaN/Infinity; refuse them here, with the
    reason, rather than fail in the database."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        _no_nul(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_nul(k)
            _json_safe(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _json_safe(v, depth + 1)
    return value


def _aware(v: datetime | None) -> datetime | None:
    """Naive timestamps are taken as UTC, so every stored time is unambiguous."""
    if v is not None and v.tzinfo is None:
        return v.replace(tzinfo=UTC)
    return v


def _user_metadata(v: dict[str, Any]) -> dict[str, Any]:
    reserved = RESERVED_METADATA_KEYS & v.keys()
    if reserved:
        raise ValueError(f"key(s) {sorted(reserved)} are reserved for plugin results")
    return _json_safe(v)  # type: ignore[no-any-return]


# `module:attribute`, or a relative path inside a plugin folder. Every path segment starts with a
# letter, digit or underscore, so no segment can be `.` or `..` and no path can start with `/`:
# nothing can point the runner outside its plugin folders. A pattern (not code) so that the
# OpenAPI document states the rule too.
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
ENTRY_POINT_PATTERN = rf"^([A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*|{_SEGMENT}(/{_SEGMENT})*)$"


Text = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_no_nul)]
Title = Annotated[Text, StringConstraints(min_length=1, max_length=200)]
FilePath = Annotated[Text, StringConstraints(min_length=1, max_length=1024)]
Resolution = Annotated[str, StringConstraints(pattern=r"^[1-9]\d{0,4}x[1-9]\d{0,4}$")]
Codec = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,32}$")]
Tag = Annotated[Text, StringConstraints(min_length=1, max_length=50)]
Timestamp = Annotated[datetime, AfterValidator(_aware)]
UserMetadata = Annotated[dict[str, Any], AfterValidator(_user_metadata)]
JsonValue = Annotated[Any, AfterValidator(_json_safe)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_json_safe)]
PluginName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Version = Annotated[str, StringConstraints(pattern=VERSION_PATTERN, max_length=64)]
PluginType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_+-]{0,31}$")]
EntryPoint = Annotated[str, StringConstraints(max_length=512, pattern=ENTRY_POINT_PATTERN)]
ConfigKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")]

# -- clips -------------------------------------------------------------------------------------


class ClipStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"


class ClipFields(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    description: Annotated[Text, StringConstraints(max_length=5000)] | None = None
    resolution: Resolution | None = Field(None, description="WIDTHxHEIGHT, e.g. 1920x1080")
    fps: float | None = Field(None, gt=0, le=1000)
    codec: Codec | None = None
    duration: float | None = Field(None, ge=0, le=86_400, description="seconds")
    file_size: int | None = Field(None, ge=0, le=2**53, description="bytes")
    game_name: Annotated[Text, StringConstraints(max_length=200)] | None = None
    game_id: Annotated[Text, StringConstraints(max_length=100)] | None = None
    recorded_at: Timestamp | None = None


class ClipCreate(ClipFields):
    title: Title
    file_path: FilePath
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    metadata: UserMetadata = Field(default_factory=dict)


class ClipUpdate(ClipFields):
    """Only the fields sent change. `metadata` replaces the user's keys; plugin results stay."""

    title: Title | None = None
    file_path: FilePath | None = None
    tags: list[Tag] | None = Field(None, max_length=50)
    metadata: UserMetadata | None = None

    @field_validator("title", "file_path")
    @classmethod
    def _not_null(cls, v: str | None) -> str:
        # Validators do not run on defaults, so None here was sent explicitly.
        if v is None:
            raise ValueError("may be changed but not set to null")
        return v


class ClipOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None
    file_path: str
    resolution: str | None
    fps: float | None
    codec: str | None
    duration: float | None
    file_size: int | None
    game_name: str | None
    game_id: str | None
    status: str
    tags: list[str]
    metadata: dict[str, Any] = Field(validation_alias="clip_metadata")
    recorded_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ClipSort(StrEnum):
    RECORDED_AT = "recorded_at"
    CREATED_AT = "created_at"
    DURATION = "duration"
    TITLE = "title"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


class ClipStats(BaseModel):
    total_clips: int
    by_status: dict[str, int]
    by_game: dict[str, int] = Field(description="clip counts per game_name (clips without one: '')")
    total_duration: float = Field(description="seconds")
    total_file_size: int = Field(description="bytes")


# -- plugins -----------------------------------------------------------------------------------


class PluginCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PluginName = Field(description="unique snake_case id, 2-64 characters")
    display_name: Annotated[Text, StringConstraints(min_length=1, max_length=200)]
    description: Annotated[Text, StringConstraints(max_length=2000)] | None = None
    version: Version = Field(description="semantic version, e.g. 1.2.0")
    author: Annotated[Text, StringConstraints(max_length=200)] | None = None
    plugin_type: PluginType = "python"
    entry_point: EntryPoint | None = None
    install_path: EntryPoint | None = None
    enabled: bool = False
    metadata: JsonObject = Field(default_factory=dict)


class PluginUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: Annotated[Text, StringConstraints(min_length=1, max_length=200)] | None = None
    description: Annotated[Text, StringConstraints(max_length=2000)] | None = None
    version: Version | None = None
    author: Annotated[Text, StringConstraints(max_length=200)] | None = None
    plugin_type: PluginType | None = None
    entry_point: EntryPoint | None = None
    install_path: EntryPoint | None = None
    enabled: bool | None = None
    metadata: JsonObject | None = None


class PluginOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    display_name: str
    description: str | None
    version: str
    author: str | None
    plugin_type: str
    entry_point: str | None
    install_path: str | None
    enabled: bool
    metadata: dict[str, Any] = Field(validation_alias="plugin_metadata")
    source: str = Field(description="'api' (registered by hand) or 'discovered' (found by a runner)")
    load_error: str | None = Field(description="the last import or initialize() failure a runner saw")
    created_at: datetime
    updated_at: datetime


class ConfigCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: ConfigKey
    value: JsonValue


class ConfigUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: JsonValue


class ConfigOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    plugin_id: int
    key: str
    value: Any
    created_at: datetime
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# -- processing --------------------------------------------------------------------------------


class PluginRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    run_id: uuid.UUID = Field(description="the processing run (its clip.captured event id)")
    plugin: str
    version: str
    status: str
    duration_ms: float
    error: str | None
    attempt: int = Field(description="1 for the plugin's first run on this clip, 2 for the next, ...")
    event_id: uuid.UUID = Field(description="the clip.processed event that reported it")
    runner: str
    backfill_id: int | None
    reported_at: datetime


class ProcessingRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    run_id: uuid.UUID
    due: list[str] | None = Field(description="the plugins the run covers (null until a runner took it)")
    backfill_id: int | None
    requested_at: datetime
    completed_at: datetime | None


class ProcessingOut(BaseModel):
    clip_id: uuid.UUID
    status: str
    runs: list[ProcessingRunOut]
    items: list[PluginRunOut] = Field(description="every plugin run, oldest first")


class ReprocessRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plugins: list[PluginName] | None = Field(
        None, min_length=1, max_length=100, description="only these plugins; every enabled one if omitted"
    )


class ReprocessOut(BaseModel):
    clip_id: uuid.UUID
    run_id: uuid.UUID
    plugins: list[str] | None


class BackfillOut(BaseModel):
    id: int
    plugin_id: int
    plugin: str
    total: int = Field(description="clips that lacked the plugin's result when asked")
    done: int = Field(description="of those, the ones it has since reported on")
    pending: int
    requested_at: datetime
