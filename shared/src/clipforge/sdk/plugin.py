"""What a plugin is, as the plugin-runner sees it."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, TypedDict

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from clipforge import __version__
from clipforge.storable import NonBlank, Text

NAME_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"
VERSION_PATTERN = r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$"


class ClipData(TypedDict, total=False):
    """The clip handed to hooks: `clipforge.events.ClipRecord` (the one declaration of a clip's
    fields) as plain JSON values, and `media_path`. A typing aid for plugin authors, so it spells
    the fields out; a test keeps the two the same."""

    id: str
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
    metadata: dict[str, Any]
    recorded_at: str | None
    created_at: str | None
    updated_at: str | None
    omitted_results: list[str]
    media_path: str | None
    """Added by the runner: a readable local path to the clip's file, or None while it has none."""
    artifacts_dir: str | None
    """Added by the runner for a plugin whose metadata says `writes_artifacts`: an empty folder of
    this run's own; the files the hook writes there are stored beside the clip
    (`artifacts/<clip>/<plugin>/<file>`) once the hook returns ok. None for other plugins."""


CLIP_FIELDS = "clip_fields"
"""A result's key for values of the clip's own fields, read from its file (see `ClipFields`)."""


class ClipFields(BaseModel):
    """What a plugin read from the file for the clip's own fields. Returned under its result's
    `clip_fields` key, each is set on the clip only where the client left it empty: a value the
    client gave is never overwritten (`media_probe` reports where the two disagree)."""

    model_config = ConfigDict(extra="ignore")

    duration: float | None = Field(None, ge=0, le=86_400)
    fps: float | None = Field(None, gt=0, le=1000)
    resolution: str | None = Field(None, pattern=r"^[1-9]\d{0,4}x[1-9]\d{0,4}$")
    codec: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,32}$")
    file_size: int | None = Field(None, ge=0, le=2**53)


class SkipClip(Exception):
    """Raise it from a hook when the plugin has nothing to do for this clip (no media file, say):
    its run is recorded as `skipped` with the message as the reason, not as an error."""


PluginName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
DisplayName = Annotated[NonBlank, StringConstraints(min_length=1, max_length=200)]
Version = Annotated[str, StringConstraints(pattern=VERSION_PATTERN, max_length=64)]
PluginType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_+-]{0,31}$")]
Description = Annotated[Text, StringConstraints(max_length=2000)]
Author = Annotated[Text, StringConstraints(max_length=200)]


class PluginDescription(BaseModel):
    """Who a plugin is, declared once: a Python plugin's `PluginMetadata`, a native plugin's
    `plugin.json` and the API's registration body all extend it. `name` is its unique id and the
    key of its results."""

    model_config = ConfigDict(extra="forbid")

    name: PluginName = Field(description="snake_case, 2-64 characters")
    display_name: DisplayName
    description: Description = ""
    version: Version = Field("0.1.0", description="semantic version, e.g. 1.2.0")
    author: Author = ""
    plugin_type: PluginType = Field("python", description="python, rust, cpp, ...")

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if re.fullmatch(r"_+", v):
            raise ValueError("name must contain a letter")
        return v


class PluginMetadata(PluginDescription):
    """A Python plugin's description, as its `metadata` property returns it."""

    config_schema: dict[str, Any] | None = Field(
        None, description="JSON Schema of the configuration; set from `config_model` when omitted"
    )
    enabled_by_default: bool = Field(
        False, description="Enable when first discovered (built-ins); others wait for the API"
    )
    writes_artifacts: bool = Field(
        False,
        description="it writes files for the clip (a poster, say) into clip_data['artifacts_dir']; "
        "for the others that is None, and no folder is made",
    )
    timeout_s: float | None = Field(
        None,
        gt=0,
        le=300,
        description="its time limit per hook unless configured (its `timeout_s` configuration key); "
        "default CLIPFORGE_PLUGIN_TIMEOUT_S. For plugins whose work grows with the clip's length",
    )
    sdk: str | None = Field(
        None,
        max_length=200,
        title="SDK versions",
        description="the clipforge SDK versions it works with, a PEP 440 specifier (`>=0.1,<1`); "
        "a runner whose SDK is outside them does not load it, and says why in its load_error",
        examples=[">=0.1,<1"],
    )

    @field_validator("sdk")
    @classmethod
    def _specifier(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                SpecifierSet(v)
            except InvalidSpecifier:
                raise ValueError(f"{v!r} is not a PEP 440 version specifier, e.g. '>=0.1,<1'") from None
        return v


def sdk_mismatch(required: str | None, sdk_version: str = __version__) -> str | None:
    """Why a runner of `sdk_version` must not load a plugin that needs the SDK versions
    `required`, or None when it may. Checked where plugins are discovered, so that a plugin made
    for another SDK is listed with the reason instead of failing on its first clip."""
    if required is None or SpecifierSet(required).contains(sdk_version, prereleases=True):
        return None
    return f"needs clipforge SDK {required}, this runner has {sdk_version}"


RUNNER_CONFIG_KEYS = frozenset({"timeout_s", "memory_mb", "cpu_s", "max_files", "max_procs"})
"""Configuration keys the runner reads itself, not the plugin's own: its time limit per hook
(`timeout_s`), and the limits of the process it runs in, each of which can only lower the
operator's (CLIPFORGE_PLUGIN_MEMORY_MB, _CPU_S, _MAX_FILES, _MAX_PROCS): its address space in MB
(`memory_mb`), the CPU seconds that process may use (`cpu_s`), its open files (`max_files`), and
the processes and threads it may start (`max_procs`)."""


@dataclass
class PluginContext:
    """What the runner hands a plugin: its logger and its current configuration (see
    `PluginBase.config`)."""

    logger: logging.Logger
    config: Any = field(default_factory=dict)


class PluginBase:
    """Base class of every Python plugin.

    Hooks may be plain functions (run in a worker thread, so they may block) or coroutines.
    `initialize()` runs when the plugin is loaded and again after a configuration change;
    `shutdown()` when it is unloaded or the worker stops.
    """

    config_model: ClassVar[type[BaseModel] | None] = None
    """Optional pydantic model of the configuration: the API validates configuration against its
    JSON Schema, and `self.config` is an instance of it."""

    context: PluginContext

    @property
    def metadata(self) -> PluginMetadata:
        raise NotImplementedError(f"{type(self).__name__} must define the metadata property")

    @property
    def config(self) -> Any:
        """The configuration: an instance of `config_model` when the class declares one (parsed
        when the plugin is loaded, and again on every change), else a dict of its keys."""
        ctx = getattr(self, "context", None)
        return ctx.config if ctx else self.parse_config({})

    @classmethod
    def parse_config(cls, values: dict[str, Any]) -> Any:
        """`values` as `self.config` holds them; a `ValidationError` when they do not fit."""
        if cls.config_model is None:
            return dict(values)
        return cls.config_model.model_validate(
            {k: v for k, v in values.items() if k not in RUNNER_CONFIG_KEYS}
        )

    @property
    def logger(self) -> logging.Logger:
        ctx = getattr(self, "context", None)
        return ctx.logger if ctx else logging.getLogger(f"clipforge.plugin.{type(self).__name__}")

    def initialize(self) -> Any:
        return None

    def shutdown(self) -> Any:
        return None

    def on_clip_captured(self, clip_data: ClipData) -> Any:
        """Enrich a new clip: change `clip_data["metadata"]` and return `clip_data`
        (or return a dict, which becomes the result as it is)."""
        return None

    def on_clip_processed(self, clip_data: ClipData) -> Any:
        """React to a clip whose processing completed (its merged record)."""
        return None

    def handles(self, hook: str) -> bool:
        """Whether the plugin has a `hook` of its own; the runner does not call the others (a
        call costs a thread hop, or a process for a native plugin)."""
        return getattr(type(self), hook) is not getattr(PluginBase, hook)

    @classmethod
    def describe(cls, metadata: PluginMetadata) -> PluginMetadata:
        """Metadata with the config schema filled in from `config_model`, with `x-order`: the
        fields in the model's order, which a settings form follows (the registry stores schemas
        as JSONB, which does not keep an object's key order)."""
        if metadata.config_schema is None and cls.config_model is not None:
            schema = cls.config_model.model_json_schema()
            schema.setdefault("x-order", list(schema.get("properties", {})))
            return metadata.model_copy(update={"config_schema": schema})
        return metadata
