"""The runner's side of `clipforge plugin run` and `check` (`clipforge.cli` imports these when
called): the runner's own discovery, host processes and checks, pointed at one plugin by its
path instead of at the plugin folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from clipforge.sdk.plugin import RUNNER_CONFIG_KEYS
from clipforge_plugin_runner.discovery import sources
from clipforge_plugin_runner.native import MANIFEST


class KitError(Exception):
    """What stops a command, with its exit code: 1 the plugin's fault, 2 the command's."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def sources_at(path: Path) -> list[dict[str, str]]:
    """The plugin(s) at `path`, as discovery lists sources: a `.py` file, a package or native
    plugin folder, or a project folder's top-level modules (its `test_*.py` left out)."""
    path = path.resolve()
    if path.is_file() and path.suffix == ".py":
        return [{"kind": "file", "path": str(path), "folder": str(path.parent)}]
    if not path.is_dir():
        raise KitError(f"{path}: not a plugin (a .py file, or a folder)", code=2)
    if (path / MANIFEST).exists():
        return [{"kind": "native", "path": str(path), "folder": str(path.parent)}]
    if (path / "__init__.py").exists():
        return [{"kind": "file", "path": str(path), "folder": str(path.parent)}]
    found = [s for s in sources([path]) if s["kind"] != "entry_point"]
    if not found:
        raise KitError(f"{path}: no plugin here (no .py file, package or {MANIFEST})", code=2)
    return found


def schema_problems(schema: dict[str, Any] | None) -> list[ValidationError]:
    """What makes a config schema an invalid JSON Schema (draft 2020-12, as the API reads it)."""
    if schema is None:
        return []
    return sorted(
        Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema),
        key=lambda e: list(map(str, e.absolute_path)),
    )


def config_problems(schema: dict[str, Any] | None, config: dict[str, Any]) -> list[str]:
    """Where `config` does not fit the plugin's config schema, as the API would refuse it
    (the runner's own keys, such as `timeout_s`, aside)."""
    if not schema or schema_problems(schema):
        return []
    plugin_config = {k: v for k, v in config.items() if k not in RUNNER_CONFIG_KEYS}
    errors = Draft202012Validator(schema).iter_errors(plugin_config)
    return [f"{'.'.join(map(str, e.absolute_path)) or 'config'}: {e.message}" for e in errors]
