"""Plugin configuration checked against the JSON Schema the plugin declares.

The runner's own keys (`RUNNER_CONFIG_KEYS`: the plugin's time limit and resource limits) are
checked here and kept out of the plugin's schema check. A resource limit may only lower what the
operator set (the runner clamps a higher one to the operator's setting).
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from clipforge.sdk.plugin import RUNNER_CONFIG_KEYS
from clipforge.storable import encoded_size

MAX_TIMEOUT_S = 300
LIMITS = {  # the plugin's resource limits (the settings' ranges)
    "memory_mb": (64, 1_048_576, "MB"),
    "cpu_s": (1, 86_400, "CPU seconds"),
    "max_files": (16, 65_536, "open files"),
    "max_procs": (1, 65_536, "processes"),
}
# The whole configuration travels in every plugin.changed event, which must fit one Kafka message.
MAX_CONFIG_BYTES = 256 * 1024


def validate_config(schema: dict[str, Any] | None, config: dict[str, Any]) -> list[dict[str, Any]]:
    """FastAPI-shaped error entries (empty when the configuration is valid)."""
    errors: list[dict[str, Any]] = []
    if (size := encoded_size(config)) > MAX_CONFIG_BYTES:
        errors.append(_error([], f"the configuration would be {size} bytes as JSON, over {MAX_CONFIG_BYTES}"))
    timeout = config.get("timeout_s")
    if "timeout_s" in config and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_TIMEOUT_S
    ):
        errors.append(_error(["timeout_s"], f"must be a number of seconds in (0, {MAX_TIMEOUT_S}]"))
    for key, (low, high, unit) in LIMITS.items():
        value = config.get(key)
        if key in config and (
            isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
        ):
            errors.append(_error([key], f"must be a whole number of {unit} in [{low}, {high}]"))
    if not schema:
        return errors
    plugin_config = {k: v for k, v in config.items() if k not in RUNNER_CONFIG_KEYS}
    try:
        validator = Draft202012Validator(schema)
        found = sorted(validator.iter_errors(plugin_config), key=lambda e: list(e.absolute_path))
    except SchemaError as exc:
        return [*errors, _error([], f"the plugin's declared config schema is invalid: {exc.message}")]
    errors += [_error([str(p) for p in e.absolute_path], e.message) for e in found]
    return errors


def _error(path: list[str], message: str) -> dict[str, Any]:
    return {"loc": ["body", "config", *path], "msg": message, "type": "config_schema"}
