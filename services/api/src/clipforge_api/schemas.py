"""Request and response bodies. Every field is bounded, so bad input is a 422 naming the field
and the reason, never a database error."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from packaging import version as pep440
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    StringConstraints,
    WithJsonSchema,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypeAliasType

from clipforge.events import ClipRecord
from clipforge.media.library import library_path_problem
from clipforge.plugin_scope import MAX_GAMES, GameSelector
from clipforge.sdk.plugin import (
    Author,
    Description,
    DisplayName,
    PluginDescription,
    PluginName,
    PluginType,
    Version,
)
from clipforge.storable import TEXT_PATTERN, NonBlank, Text, check_value, encoded_size
from clipforge_api.auth import is_admin

T = TypeVar("T")

RESERVED_METADATA_KEYS = frozenset({"plugins"})
MAX_JSON_BYTES = 64 * 1024

ISO_8601_PATTERN = re.compile(
    r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$"
)


# Not blank, no NUL, and no `..` segment (a lookahead: Python's and the schema tools' engines
# read it alike).
LIBRARY_PATH_PATTERN = r"^(?!(?:.*/)?\.\.(?:/|$))[^\x00]*[^\s\x00][^\x00]*$"


def _in_library(v: str) -> str:
    if problem := library_path_problem(v):
        raise ValueError(problem)
    return v


def _iso_8601(v: Any) -> Any:
    """No loose coercion: a number (or a numeric string) is not a date."""
    if isinstance(v, datetime):
        return v
    if not isinstance(v, str) or not ISO_8601_PATTERN.match(v):
        raise ValueError("must be an ISO-8601 date-time string, e.g. 2024-01-15T18:30:00Z")
    return v


def _json_integer(v: Any) -> Any:
    """A JSON integer: 5 or 5.0 (JSON Schema counts both), never `true` or "5"."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError("must be a whole number")
    return v


def _utc(v: datetime) -> datetime:
    """Naive timestamps are taken as UTC; every stored time is normalised to UTC, which also
    refuses what no database column can hold (0001-01-01T00:00:00+14:00 is year 0 in UTC)."""
    try:
        return (v if v.tzinfo is not None else v.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the supported range (years 1 to 9999 in UTC)") from None


def _user_metadata(v: dict[str, Any]) -> dict[str, Any]:
    reserved = RESERVED_METADATA_KEYS & v.keys()
    if reserved:
        raise ValueError(f"key(s) {sorted(reserved)} are reserved for plugin results")
    return v


# `module:attribute`, or a relative path inside a plugin folder. Every path segment starts with a
# letter, digit or underscore, so no segment can be `.` or `..` and no path can start with `/`:
# nothing can point the runner outside its plugin folders. A pattern (not code) so that the
# OpenAPI document states the rule too.
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
ENTRY_POINT_PATTERN = rf"^([A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*|{_SEGMENT}(/{_SEGMENT})*)$"

# Any JSON value Postgres can store. Pydantic cannot write a schema that refers to itself, so the
# `JsonValue` component is named here and its definition, `JSON_VALUE_SCHEMA`, is put into the
# OpenAPI document by the app: keywords that apply to each JSON type in turn (no union), recursive
# through arrays and objects, which schema-driven tools and client generators all understand.
# `check_value` enforces what a schema cannot (depth, lone surrogates, NaN).
JSON_VALUE_REF = {"$ref": "#/components/schemas/JsonValue"}
JSON_VALUE_SCHEMA = {
    "description": "any JSON value; no string or key in it holds a NUL character",
    "pattern": TEXT_PATTERN,
    "items": JSON_VALUE_REF,
    "additionalProperties": JSON_VALUE_REF,
    "propertyNames": {"pattern": TEXT_PATTERN},
}
JsonValue = TypeAliasType(
    "JsonValue", Annotated[Any, WithJsonSchema({"description": JSON_VALUE_SCHEMA["description"]})]
)


def _json_object(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ValueError("must be a JSON object")
    small: dict[str, Any] = _small(check_value(v, "metadata"))
    return small


def _small(v: Any) -> Any:
    """Metadata and configuration values travel in events, which must fit one Kafka message."""
    if (size := encoded_size(v)) > MAX_JSON_BYTES:
        raise ValueError(f"is {size} bytes as JSON, over the limit of {MAX_JSON_BYTES}")
    return v


# Validated by `check_value` alone (one clear message naming the path, not one per union member);
# documented by the recursive type.
JsonObject = Annotated[
    dict[str, Any],
    PlainValidator(_json_object, json_schema_input_type=dict[str, JsonValue]),
    Field(json_schema_extra={"propertyNames": {"pattern": TEXT_PATTERN}}),
]
ConfigValue = Annotated[
    Any, PlainValidator(lambda v: check_value(v, "value"), json_schema_input_type=JsonValue)
]

Title = Annotated[NonBlank, StringConstraints(min_length=1, max_length=200)]
FilePath = Annotated[
    NonBlank,
    StringConstraints(min_length=1, max_length=1024),
    AfterValidator(_in_library),
    Field(
        json_schema_extra={"pattern": LIBRARY_PATH_PATTERN},
        description="a path inside the media library (`/clips/a.mp4` is `<library>/clips/a.mp4`); no `..`",
    ),
]
Resolution = Annotated[str, StringConstraints(pattern=r"^[1-9]\d{0,4}x[1-9]\d{0,4}$")]
Codec = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,32}$")]
Tag = Annotated[NonBlank, StringConstraints(min_length=1, max_length=50)]
Timestamp = Annotated[datetime, BeforeValidator(_iso_8601), AfterValidator(_utc)]
UserMetadata = Annotated[JsonObject, AfterValidator(_user_metadata)]
EntryPoint = Annotated[str, StringConstraints(max_length=512, pattern=ENTRY_POINT_PATTERN)]
ConfigKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")]

# -- clips -------------------------------------------------------------------------------------


class ClipFields(BaseModel):
    # Strict numbers: `true` is not a file size, nor "60" a frame rate.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    description: Annotated[Text, StringConstraints(max_length=5000)] | None = None
    resolution: Resolution | None = Field(None, description="WIDTHxHEIGHT, e.g. 1920x1080")
    fps: float | None = Field(None, gt=0, le=1000, strict=True)
    codec: Codec | None = None
    duration: float | None = Field(None, ge=0, le=86_400, strict=True, description="seconds")
    file_size: Annotated[int, Field(ge=0, le=2**53), BeforeValidator(_json_integer)] | None = Field(
        None, description="bytes"
    )
    game_name: Annotated[Text, StringConstraints(max_length=200)] | None = None
    game_id: Annotated[Text, StringConstraints(max_length=100)] | None = None
    recorded_at: Timestamp | None = None


class ClipCreate(ClipFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Epic Victory",
                    "file_path": "/clips/epic_victory.mp4",
                    "game_name": "Counter-Strike 2",
                    "duration": 45,
                    "resolution": "1920x1080",
                    "fps": 60,
                    "tags": ["ace", "clutch"],
                    "recorded_at": "2026-01-15T18:30:00Z",
                    "metadata": {"map": "de_dust2"},
                }
            ]
        }
    )

    title: Title
    file_path: FilePath
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    metadata: UserMetadata = Field(default_factory=dict)


def _not_null(v: T | None) -> T:
    """For update fields that may be left out but not cleared. Validators do not run on
    defaults, so None here was sent explicitly. (The schema leaves null out: `SkipJsonSchema`.)"""
    if v is None:
        raise ValueError("may be changed but not set to null")
    return v


class ClipUpdate(ClipFields):
    """Only the fields sent change. `metadata` replaces the user's keys; plugin results stay."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"title": "Epic Victory (ace)", "tags": ["ace"]}]}
    )

    title: Title | SkipJsonSchema[None] = None
    file_path: FilePath | SkipJsonSchema[None] = None
    tags: list[Tag] | None = Field(None, max_length=50)
    metadata: UserMetadata | None = None

    _required_when_sent = field_validator("title", "file_path")(_not_null)


class ClipOut(ClipRecord):
    """A clip as the API answers with it: the stored record (the events' `ClipRecord`), whole."""

    omitted_results: SkipJsonSchema[list[str]] = Field(default_factory=list, exclude=True)
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


class PluginCreate(PluginDescription):
    """A plugin registered by hand: its description (the SDK's, shared with `plugin.json`), and
    where a runner finds it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "scene_tagger",
                    "display_name": "Scene Tagger",
                    "description": "Tags the scenes of a clip",
                    "version": "1.0.0",
                    "author": "Your Name",
                    "plugin_type": "python",
                    "entry_point": "scene_tagger:SceneTagger",
                }
            ]
        },
    )

    version: Version = Field(description="semantic version, e.g. 1.2.0")  # required here
    entry_point: EntryPoint | None = None
    install_path: EntryPoint | None = None
    enabled: bool = Field(False, strict=True)
    metadata: JsonObject = Field(default_factory=dict)


class PluginUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"description": "Tags scenes and maps", "version": "1.1.0"}]},
    )

    display_name: DisplayName | SkipJsonSchema[None] = None
    description: Description | None = None
    version: Version | SkipJsonSchema[None] = None
    author: Author | None = None
    plugin_type: PluginType | SkipJsonSchema[None] = None
    entry_point: EntryPoint | None = None
    install_path: EntryPoint | None = None
    enabled: Annotated[bool, Strict()] | SkipJsonSchema[None] = None
    metadata: JsonObject | SkipJsonSchema[None] = None

    _required_when_sent = field_validator("display_name", "version", "plugin_type", "enabled", "metadata")(
        _not_null
    )


class RunSummary(BaseModel):
    """How a plugin's last runs went (at most `RECENT_RUNS` of them, newest first)."""

    runs: int
    ok: int
    error: int
    timeout: int
    skipped: int
    median_ms: float | None = Field(description="the median duration of those runs")


RECENT_RUNS = 100


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
    games: list[GameSelector] | None = Field(
        description="the games it runs on (`PUT .../scope`); null: every game"
    )
    game_config: dict[str, dict[str, Any]] | None = Field(
        description="its configuration overrides by game (a game name, or `id:<game_id>`); admins only,"
        " as its configuration is"
    )
    created_at: datetime
    updated_at: datetime
    recent_runs: RunSummary | None = Field(
        default=None, description=f"its last {RECENT_RUNS} runs, on reads (not on changes)"
    )

    @field_serializer("install_path", "load_error")
    def _admins_only(self, value: str | None) -> str | None:
        """Server paths (where it is installed, a traceback's files) are for admins only."""
        return value if is_admin() else None

    @field_serializer("game_config")
    def _configuration_admins_only(
        self, value: dict[str, dict[str, Any]] | None
    ) -> dict[str, dict[str, Any]] | None:
        """Configuration values may be secrets (GET .../config is for admins only)."""
        return value if is_admin() else None


GameConfigKey = Annotated[
    NonBlank,
    StringConstraints(min_length=1, max_length=200),
    Field(description="a game name (any case), or `id:<game_id>`"),
]
GameOverride = Annotated[
    dict[ConfigKey, ConfigValue],
    Field(min_length=1, max_length=500, description="configuration keys that replace the plugin's own"),
]


class ScopeUpdate(BaseModel):
    """The plugin's whole per-game scope (what is left out is reset: every game, no overrides)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "games": [{"game_name": "Valorant"}, {"game_id": "21779"}],
                    "game_config": {"Valorant": {"max_highlights": 8}},
                }
            ]
        },
    )

    games: list[GameSelector] | None = Field(
        None,
        min_length=1,
        max_length=MAX_GAMES,
        description="the games it runs on: a clip's game_name equal ignoring case, or its game_id equal;"
        " null: every game",
    )
    game_config: dict[GameConfigKey, GameOverride] = Field(
        default_factory=dict,
        max_length=MAX_GAMES,
        description="per game, configuration keys that replace the plugin's own for that game's clips;"
        " each merged over its configuration must fit its config schema",
    )


class ConfigCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"key": "timeout_s", "value": 30}]}
    )

    key: ConfigKey
    value: ConfigValue


class ConfigUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"value": 20}]})

    value: ConfigValue


class ConfigChange(BaseModel):
    """Several keys set and removed at once: all are applied, or (on any error) none."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"set": {"threshold": 0.8, "timeout_s": 20}, "unset": ["min_gap_s"]}]
        },
    )

    set: dict[ConfigKey, ConfigValue] = Field(default_factory=dict, max_length=500)
    unset: list[ConfigKey] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _apart(self) -> ConfigChange:
        if both := sorted(set(self.set) & set(self.unset)):
            raise ValueError(f"a key cannot be both set and unset: {', '.join(both)}")
        return self


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
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"plugins": ["highlight_detector"]}]}
    )

    plugins: list[PluginName] | None = Field(
        None, min_length=1, max_length=100, description="only these plugins; every enabled one if omitted"
    )


BackfillScope = Literal["missing", "all", "older_version", "other_config"]


def _pep440(value: str) -> str:
    try:
        pep440.Version(value)
    except pep440.InvalidVersion:
        raise ValueError(f"{value!r} is not a version (PEP 440, e.g. 1.2.0)") from None
    return value


class BackfillRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"scope": "all"},
                {"scope": "older_version", "version": "1.2.0"},
                {"scope": "other_config"},
            ]
        },
    )

    scope: BackfillScope = Field(
        "missing",
        description="missing: the clips that lack the plugin's result; all: every clip; "
        "older_version: the clips whose result was made by a version older than `version` "
        "(or of no known version); other_config: the clips whose result was made with another "
        "configuration than the plugin's current one for the clip's game (`_run.config_hash`)",
    )
    version: Annotated[Version, AfterValidator(_pep440)] | None = Field(
        None,
        description="with older_version: redo the results older than this version; "
        "by default the plugin's registered version",
        examples=["1.2.0"],
    )

    @model_validator(mode="after")
    def _version_with_older_version(self) -> BackfillRequest:
        if self.version is not None and self.scope != "older_version":
            raise ValueError('"version" goes with the scope "older_version" only')
        return self


class ReprocessOut(BaseModel):
    clip_id: uuid.UUID
    run_id: uuid.UUID
    plugins: list[str] | None


class BackfillOut(BaseModel):
    id: int
    plugin_id: int
    plugin: str
    total: int = Field(description="clips the backfill covers: those its scope selected when asked")
    done: int = Field(description="of those, the ones it has since reported on")
    failed: int = Field(description="of the done ones, those whose run ended in an error or a timeout")
    pending: int
    requested_at: datetime
