"""The runner's own configuration keys (time and resource limits) are checked by the API."""

from __future__ import annotations

from typing import Any

import pytest

from clipforge_api.config_validation import validate_config


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"memory_mb": 32}, "memory_mb"),
        ({"memory_mb": True}, "memory_mb"),
        ({"cpu_s": 0}, "cpu_s"),
        ({"cpu_s": 1.5}, "cpu_s"),
        ({"max_files": 8}, "max_files"),
        ({"max_procs": "many"}, "max_procs"),
        ({"timeout_s": 0}, "timeout_s"),
    ],
)
def test_a_limit_out_of_range_is_refused_naming_it(config: dict[str, Any], field: str) -> None:
    (error,) = validate_config(None, config)
    assert error["loc"] == ["body", "config", field]


def test_limits_in_range_pass_and_stay_out_of_the_plugin_s_schema() -> None:
    schema = {"type": "object", "additionalProperties": False, "properties": {"depth": {"type": "integer"}}}
    config = {"depth": 2, "memory_mb": 512, "cpu_s": 30, "max_files": 64, "max_procs": 4, "timeout_s": 5}
    assert validate_config(schema, config) == []
