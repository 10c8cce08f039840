"""The metadata service's merge rules, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from clipforge.events import ClipProcessed, PluginResult, PluginRunStatus
from clipforge.events.contracts import RUN_KEY
from clipforge_metadata.merge import clip_status
from clipforge_metadata.merge import merge_results as merge_all


def processed(*results: PluginResult, at: datetime | None = None) -> ClipProcessed:
    return ClipProcessed(
        clip_id=uuid.uuid4(),
        source_event_id=uuid.uuid4(),
        runner="r",
        results=list(results),
        occurred_at=at or datetime.now(UTC),
    )


def merge_results(plugins: dict[str, Any], event: ClipProcessed) -> dict[str, Any]:
    return merge_all(plugins, event, event.results)


def ok(name: str, **result: object) -> PluginResult:
    return PluginResult(plugin=name, version="1.0.0", status=PluginRunStatus.OK, result=result)


def failed(name: str) -> PluginResult:
    return PluginResult(plugin=name, version="1.0.0", status=PluginRunStatus.ERROR, error="boom")


def test_results_are_namespaced_per_plugin() -> None:
    merged = merge_results({}, processed(ok("a", k=1), ok("b", k=2)))
    assert merged["a"]["k"] == 1
    assert merged["b"]["k"] == 2
    assert merged["a"][RUN_KEY]["status"] == "ok"


def test_order_of_events_does_not_matter() -> None:
    e1, e2 = processed(ok("a", k=1)), processed(ok("b", k=2))
    assert merge_results(merge_results({}, e1), e2) == merge_results(merge_results({}, e2), e1)


def test_an_older_run_never_replaces_a_newer_one() -> None:
    now = datetime.now(UTC)
    newer = processed(ok("a", v="new"), at=now)
    older = processed(ok("a", v="old"), at=now - timedelta(seconds=5))
    assert merge_results(merge_results({}, newer), older)["a"]["v"] == "new"
    assert merge_results(merge_results({}, older), newer)["a"]["v"] == "new"


def test_status_follows_the_plugin_outcomes() -> None:
    assert clip_status({}) == "completed"
    assert clip_status(merge_results({}, processed(ok("a"), ok("b")))) == "completed"
    assert clip_status(merge_results({}, processed(ok("a"), failed("b")))) == "completed_with_errors"
    assert clip_status(merge_results({}, processed(failed("a")))) == "failed"
