"""A clip's life after capture: processing status, the trace, reprocess, backfill, and the
on_clip_processed hook."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RunningStack
from tests.e2e.helpers import (
    FINAL,
    create_clip,
    plugin_named,
    processed_clip,
    results,
    set_enabled,
    until_clips_show,
    wait_for_clip,
)
from tests.polling import until

pytestmark = pytest.mark.e2e

DEFAULTS = {"highlight_detector", "tag_suggester", "clip_quality"}

SLOW = """
import asyncio
from clipforge.sdk import PluginBase, PluginMetadata

class Slow(PluginBase):
    @property
    def metadata(self):
        return PluginMetadata(name="{name}", display_name="Slow", version="1.0.0")

    async def on_clip_captured(self, clip_data):
        await asyncio.sleep(4)
        return {"slept": 4}
"""

RECORDER = """
import json
from pathlib import Path
from clipforge.sdk import PluginBase, PluginMetadata

class Recorder(PluginBase):
    @property
    def metadata(self):
        return PluginMetadata(name="{name}", display_name="Recorder", version="1.0.0")

    def on_clip_captured(self, clip_data):
        return {"seen": True}

    def on_clip_processed(self, clip_data):
        with open("{log}", "a") as log:
            log.write(json.dumps({"id": clip_data["id"], "status": clip_data["status"]}) + "\\n")
"""


def drop(stack: RunningStack, name: str, code: str, **values: str) -> None:
    text = textwrap.dedent(code).replace("{name}", name)
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    (stack.plugin_dir / f"{name}.py").write_text(text)


async def test_default_plugins_all_report_on_a_new_clip(client: httpx.AsyncClient) -> None:
    clip = await processed_clip(client, title="Insane clutch ace round", fps=144, duration=200)
    assert set(results(clip)) >= DEFAULTS
    assert clip["status"] == "completed"
    assert {"insane", "clutch", "round", "counter-strike-2", "high-fps", "long"} >= set(
        results(clip)["tag_suggester"]["suggested_tags"]
    )
    assert "clutch" in results(clip)["tag_suggester"]["suggested_tags"]


async def test_a_slow_plugin_leaves_the_clip_processing_with_the_fast_results_in(
    stack: RunningStack, client: httpx.AsyncClient
) -> None:
    name = f"slow_{uuid.uuid4().hex[:6]}"
    drop(stack, name, SLOW)
    await until(lambda: plugin_named(client, name))
    await set_enabled(client, name, True)
    try:
        clip = await until_clips_show(client, lambda c: name in results(c), timeout=60)
        assert results(clip)[name]["slept"] == 4
        probe = await create_clip(client)
        partial = await wait_for_clip(client, probe["id"], lambda c: "highlight_detector" in results(c))
        assert partial["status"] == "processing", "fast results are in, the slow plugin still runs"
        assert name not in results(partial)
        done = await wait_for_clip(client, probe["id"], lambda c: c["status"] in FINAL)
        assert done["status"] == "completed"
        assert results(done)[name]["slept"] == 4
    finally:
        await set_enabled(client, name, False)


async def test_the_trace_lists_every_plugin_run(client: httpx.AsyncClient) -> None:
    clip = await processed_clip(client)
    trace = (await client.get(f"/api/v1/clips/{clip['id']}/processing")).json()
    assert trace["status"] == "completed"
    (run,) = trace["runs"]
    assert run["completed_at"] is not None
    assert set(run["due"]) >= DEFAULTS
    items = {item["plugin"]: item for item in trace["items"]}
    assert set(items) >= DEFAULTS
    for item in items.values():
        assert item["run_id"] == run["run_id"]
        assert item["attempt"] == 1
        assert item["status"] in {"ok", "error", "timeout", "skipped"}
        assert item["duration_ms"] >= 0
        assert uuid.UUID(item["event_id"])
    assert (await client.get(f"/api/v1/clips/{uuid.uuid4()}/processing")).status_code == 404


async def test_reprocess_runs_only_the_named_plugins_again(client: httpx.AsyncClient) -> None:
    clip = await processed_clip(client)
    before = results(clip)
    response = await client.post(
        f"/api/v1/clips/{clip['id']}/reprocess", json={"plugins": ["highlight_detector"]}
    )
    assert response.status_code == 202
    run_id = response.json()["run_id"]

    async def rerun_done() -> dict[str, Any] | None:
        trace = (await client.get(f"/api/v1/clips/{clip['id']}/processing")).json()
        runs = {r["run_id"]: r for r in trace["runs"]}
        return trace if runs.get(run_id, {}).get("completed_at") else None

    trace = await until(rerun_done)
    attempts = {(i["plugin"], i["attempt"]) for i in trace["items"]}
    assert ("highlight_detector", 2) in attempts
    assert ("tag_suggester", 2) not in attempts
    assert ("clip_quality", 2) not in attempts
    after = (await client.get(f"/api/v1/clips/{clip['id']}")).json()
    assert after["status"] == "completed"
    assert results(after)["highlight_detector"]["_run"]["run_id"] == run_id
    assert results(after)["tag_suggester"] == before["tag_suggester"], "the others were not run again"

    unknown = await client.post(f"/api/v1/clips/{clip['id']}/reprocess", json={"plugins": ["no_such_plugin"]})
    assert unknown.status_code == 422
    assert (await client.post(f"/api/v1/clips/{uuid.uuid4()}/reprocess")).status_code == 404


async def test_backfill_runs_a_new_plugin_over_the_clips_without_its_result(
    stack: RunningStack, client: httpx.AsyncClient
) -> None:
    name = f"late_{uuid.uuid4().hex[:6]}"
    old = [await processed_clip(client, title=f"before {i}") for i in range(5)]
    drop(
        stack,
        name,
        """
from clipforge.sdk import PluginBase, PluginMetadata

class Late(PluginBase):
    @property
    def metadata(self):
        return PluginMetadata(name="{name}", display_name="Late", version="1.0.0")

    def on_clip_captured(self, clip_data):
        return {"late": True}
""",
    )
    plugin = await until(lambda: plugin_named(client, name))
    assert (await client.post(f"/api/v1/plugins/{plugin['id']}/backfill")).status_code == 409, "disabled"
    await set_enabled(client, name, True)
    try:
        response = await client.post(f"/api/v1/plugins/{plugin['id']}/backfill")
        assert response.status_code == 202
        job = response.json()
        assert job["total"] >= len(old)
        progress_url = response.headers["location"]

        async def finished() -> dict[str, Any] | None:
            progress: dict[str, Any] = (await client.get(progress_url)).json()
            return progress if progress["pending"] == 0 else None

        progress = await until(finished, timeout=120)
        assert progress["done"] == job["total"]
        for clip in old:
            after = (await client.get(f"/api/v1/clips/{clip['id']}")).json()
            assert results(after)[name]["late"] is True
            trace = (await client.get(f"/api/v1/clips/{clip['id']}/processing")).json()
            assert [i["attempt"] for i in trace["items"] if i["plugin"] == "highlight_detector"] == [1]
        again = (await client.post(f"/api/v1/plugins/{plugin['id']}/backfill")).json()
        assert again["total"] == 0, "every clip has its result now"
    finally:
        await set_enabled(client, name, False)


def writable_by_plugins(tmp_path: Path) -> Path:
    """A folder plugins may write to: they run as an unprivileged user."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    tmp_path.chmod(0o755)
    return shared


async def test_on_clip_processed_is_called_when_processing_completes(
    stack: RunningStack, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    name = f"recorder_{uuid.uuid4().hex[:6]}"
    log = writable_by_plugins(tmp_path) / "processed.jsonl"
    drop(stack, name, RECORDER, log=str(log))
    await until(lambda: plugin_named(client, name))
    await set_enabled(client, name, True)
    try:
        clip = await until_clips_show(client, lambda c: name in results(c))

        async def recorded() -> bool:
            return log.exists() and clip["id"] in log.read_text()

        await until(recorded)
        line = next(x for x in log.read_text().splitlines() if clip["id"] in x)
        assert '"status": "completed"' in line
    finally:
        await set_enabled(client, name, False)
