"""What Postgres can store: the one check behind the API's 422s, the runner's result errors and
the metadata service's dead letters."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from clipforge.events import ClipProcessed, PluginResult, PluginRunStatus
from clipforge.sdk.execution import BadResult, checked_result
from clipforge.storable import Unstorable, check_text, scrub_text, value_problem
from clipforge_metadata.processed import unstorable


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"text": "a\x00b"}, "result.text: NUL character"),
        ({"text": "a\ud800"}, "result.text: lone surrogate (invalid Unicode)"),
        ({"list": [1, {"deep": float("nan")}]}, "result.list[1].deep: nan is not a JSON number"),
        ({"peak": float("inf")}, "result.peak: inf is not a JSON number"),
        ({"when": datetime.date(2024, 1, 1)}, "result.when: date is not a JSON type"),
        ({"raw": b"bytes"}, "result.raw: bytes is not a JSON type"),
        ({1: "int key"}, "result: key 1 is not a string"),
        ({"k\x00": 1}, "result: key 'k\\x00' has a NUL character"),
    ],
)
def test_each_problem_is_named_with_where_it_is(value: Any, problem: str) -> None:
    assert value_problem(value, "result") == problem


def test_depth_is_bounded() -> None:
    deep: Any = "leaf"
    for _ in range(40):
        deep = [deep]
    assert value_problem({"d": deep}, "result", max_depth=32) == (
        "result.d" + "[0]" * 31 + ": nested deeper than 32 levels"
    )


def test_storable_values_pass_unchanged() -> None:
    value = {"s": "emoji 😀 and ünïcode", "n": [1, 2.5, True, None], "nested": {"k": {"x": "y"}}}
    assert value_problem(value, "result") is None
    assert checked_result(value, max_bytes=10_000) is value


def test_a_result_over_the_size_cap_is_refused_with_its_size() -> None:
    with pytest.raises(BadResult, match=r"result: 20011 bytes as JSON, over the limit of 10000"):
        checked_result({"blob": "x" * 20_000}, max_bytes=10_000)


def test_text_checks_and_scrubbing() -> None:
    assert check_text("fine") == "fine"
    with pytest.raises(Unstorable, match="NUL character"):
        check_text("a\x00")
    assert scrub_text("a\x00b\ud800c") == "a\ufffdb\ufffdc"


def test_metadata_refuses_an_event_whose_results_cannot_be_stored() -> None:
    def event(**result: Any) -> ClipProcessed:
        return ClipProcessed.model_validate(
            {
                "clip_id": "6f1c4b9e-3e0a-4a51-9a7e-6a0c1f5e2b10",
                "source_event_id": "0b4f1f0e-9c55-4d8e-8b3b-6b2f5d7c9a01",
                "runner": "r",
                "due": ["p"],
                "results": [PluginResult(plugin="p", version="1", status=PluginRunStatus.OK, **result)],
            }
        )

    assert unstorable(event(result={"ok": 1})) is None
    assert unstorable(event(result={"t": "\x00"})) == "results[0].result.t: NUL character"
    assert unstorable(event(error="bad \ud800")) == "results[0].error: lone surrogate (invalid Unicode)"
