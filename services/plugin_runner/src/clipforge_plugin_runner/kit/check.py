"""`clipforge plugin check PATH`: what would keep the plugin at PATH from loading in a runner,
or its settings from being stored, each problem with its file and field.

A Python plugin is imported here, in this process (as `plugin_host discover` imports it, without
the sandbox: it is the author's own code), and its `metadata`, `config_model` and config schema
read the way discovery and the API read them. A native plugin's `plugin.json` is validated
against the JSON Schema of `docs/plugin.schema.json` (the same model's), then by the model itself
(rules a schema cannot say), and its executable looked for. Both must fit this SDK's version
(their `sdk` range).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema import ValidationError as SchemaViolation
from pydantic import ValidationError

import clipforge
from clipforge.sdk import PluginBase, PluginMetadata
from clipforge.sdk.plugin import sdk_mismatch
from clipforge_plugin_runner.discovery import _import_file, plugin_classes
from clipforge_plugin_runner.kit import KitError, schema_problems, sources_at
from clipforge_plugin_runner.native import MANIFEST, NativeManifest, NativePluginError, read_manifest

HOOKS = ("on_clip_captured", "on_clip_processed")


@dataclass(frozen=True)
class Problem:
    file: Path
    field: str
    message: str

    def __str__(self) -> str:
        shown = os.path.relpath(self.file)
        return f"{self.file if shown.startswith('..') else shown}: {self.field}: {self.message}"


def check_command(path: Path) -> int:
    """Print every problem (exit code 1), or a one-line summary of what was checked (0)."""
    try:
        found = sources_at(path)
    except KitError as exc:
        print(f"clipforge: {exc}", file=sys.stderr)
        return exc.code
    problems: list[Problem] = []
    checked: list[str] = []
    for source in found:
        where = Path(source["path"])
        check = check_native if source["kind"] == "native" else check_python
        source_problems, names = check(where)
        problems += source_problems
        checked += names
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    fit = f"metadata, config schema and SDK range fit clipforge {clipforge.__version__}"
    print(f"OK: {'; '.join(checked)}: {fit}")
    return 0


def check_python(path: Path) -> tuple[list[Problem], list[str]]:
    """A plugin module (or package): it imports, and each plugin class it defines describes
    itself well; returns the problems and the plugins that had none."""
    file = path / "__init__.py" if path.is_dir() else path
    try:
        module = _import_file(path)
    except Exception as exc:
        return [Problem(file, _import_line(exc, file), f"does not import: {type(exc).__name__}: {exc}")], []
    classes = plugin_classes(module)
    if not classes:
        return [Problem(file, "PluginBase", "defines no PluginBase subclass: nothing to load")], []
    problems: list[Problem] = []
    names = []
    for cls in classes:
        found = _check_class(cls, file)
        if isinstance(found, str):
            names.append(found)
        else:
            problems += found
    return problems, names


def _check_class(cls: type[PluginBase], file: Path) -> list[Problem] | str:
    try:
        metadata = cls().metadata
    except ValidationError as exc:
        return [Problem(file, _field("metadata", e["loc"]), e["msg"]) for e in exc.errors()]
    except Exception as exc:
        return [Problem(file, f"{cls.__qualname__}.metadata", f"{type(exc).__name__}: {exc}")]
    if not isinstance(metadata, PluginMetadata):
        return [Problem(file, f"{cls.__qualname__}.metadata", "must return a PluginMetadata")]
    try:
        described = cls.describe(metadata)
    except Exception as exc:  # a config_model pydantic cannot make a JSON Schema of
        return [Problem(file, f"{cls.__qualname__}.config_model", f"{type(exc).__name__}: {exc}")]
    problems = [
        Problem(file, _field("config_schema", e.absolute_path), e.message)
        for e in schema_problems(described.config_schema)
    ]
    if mismatch := sdk_mismatch(metadata.sdk):
        problems.append(Problem(file, "metadata.sdk", mismatch))
    if not any(cls().handles(hook) for hook in HOOKS):
        hooks = " nor ".join(HOOKS)
        problems.append(Problem(file, cls.__qualname__, f"defines neither {hooks}: it never runs"))
    return problems or f"{metadata.name} {metadata.version} ({file.name})"


def check_native(folder: Path) -> tuple[list[Problem], list[str]]:
    """A native plugin folder: its manifest, config schema and SDK range, and its executable."""
    file = folder / MANIFEST
    try:
        data = json.loads(file.read_text())
    except ValueError as exc:
        line = f"line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else MANIFEST
        return [Problem(file, line, f"not JSON: {exc}")], []
    violations = sorted(
        Draft202012Validator(NativeManifest.model_json_schema()).iter_errors(data),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    if violations:
        return [Problem(file, _violation_field(e), e.message) for e in violations], []
    try:
        manifest = NativeManifest.model_validate(data)
    except ValidationError as exc:
        return [Problem(file, _field("", e["loc"]), e["msg"]) for e in exc.errors()], []
    problems = [
        Problem(file, _field("config_schema", e.absolute_path), e.message)
        for e in schema_problems(manifest.config_schema)
    ]
    if mismatch := sdk_mismatch(manifest.sdk):
        problems.append(Problem(file, "sdk", mismatch))
    try:
        read_manifest(folder)
    except NativePluginError as exc:
        problems.append(Problem(file, "executable", str(exc)))
    return problems, [] if problems else [f"{manifest.name} {manifest.version} ({MANIFEST})"]


def _field(prefix: str, loc: Any) -> str:
    return ".".join([prefix, *map(str, loc)] if prefix else map(str, loc)) or "(top level)"


def _violation_field(error: SchemaViolation) -> str:
    """The field a schema violation is about: for a missing or unexpected key, that key."""
    path = list(map(str, error.absolute_path))
    if error.validator == "required" and isinstance(error.instance, dict):
        required = error.validator_value if isinstance(error.validator_value, list) else []
        missing = [k for k in required if k not in error.instance]
        return ".".join([*path, *missing[:1]])
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        extra = sorted(k for k in error.instance if k not in allowed)
        return ".".join([*path, ", ".join(extra)])
    return ".".join(path) or "(top level)"


def _import_line(exc: Exception, file: Path) -> str:
    """Where in the plugin's own file the import failed, as a field: `line N`."""
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f"line {exc.lineno}"
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == file]
    return f"line {lines[-1]}" if lines and lines[-1] else "import"
