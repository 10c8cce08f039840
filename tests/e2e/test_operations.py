"""Operations on the running stack: every process reports itself ready on the status page, its
`/metrics`, `/livez` and `/readyz` answer, and a clip moves the runner's plugin counter by one."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import RunningStack
from tests.e2e.helpers import processed_clip, ready_instances, results
from tests.polling import until

pytestmark = pytest.mark.e2e

TAG_SUGGESTER_OK = ("clipforge_plugin_runs_total", {"plugin": "tag_suggester", "status": "ok"})


def sample(scrape: str, name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(scrape):
        for s in family.samples:
            if s.name == name and labels.items() <= s.labels.items():
                return float(s.value)
    return 0.0  # a counter with no series yet


async def test_every_process_is_ready_and_serves_its_metrics(
    stack: RunningStack, client: httpx.AsyncClient
) -> None:
    instances = await until(lambda: ready_instances(client), timeout=60, every=0.5)
    (runner, *_) = instances["plugin-runner"]
    loaded = {p["name"]: p["version"] for p in runner["plugins"]}
    assert {"tag_suggester", "clip_quality", "highlight_detector"} <= loaded.keys()
    assert all(loaded.values()), "each with its version"
    assert runner["checks"] == {
        "broker": "ok",
        "database": "ok",
        "partitions": runner["checks"]["partitions"],
    }

    async with httpx.AsyncClient(timeout=10) as http:
        api_scrape = (await http.get(f"{stack.api_url}/metrics")).text
        assert "clipforge_http_requests_total" in api_scrape
        assert "clipforge_clips" in api_scrape
        for service in ("plugin-runner", "metadata"):
            (worker, *_) = instances[service]
            base = f"http://{worker['http']}"
            assert (await http.get(f"{base}/livez")).status_code == 200, service
            ready = await http.get(f"{base}/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["database"] == "ok"
            scrape = (await http.get(f"{base}/metrics")).text
            assert "clipforge_consumer_lag{" in scrape, service


async def test_a_clip_adds_one_run_of_each_plugin_to_the_runners_counter(
    stack: RunningStack, client: httpx.AsyncClient
) -> None:
    instances = await until(lambda: ready_instances(client), timeout=60, every=0.5)
    runners = [f"http://{r['http']}/metrics" for r in instances["plugin-runner"]]
    (merger, *_) = instances["metadata"]

    async def scraped(name: str, labels: dict[str, str], urls: list[str]) -> float:
        async with httpx.AsyncClient(timeout=10) as http:  # summed: whichever runner takes the clip
            return sum([sample((await http.get(url)).text, name, labels) for url in urls])

    before = await scraped(*TAG_SUGGESTER_OK, runners)
    clip = await processed_clip(client, title="counted once")
    assert results(clip)["tag_suggester"]["_run"]["status"] == "ok"
    assert await scraped(*TAG_SUGGESTER_OK, runners) - before == 1

    consumed = "clipforge_kafka_received_messages_total"
    assert await scraped(consumed, {"handler": "clip.captured"}, runners) >= 1
    assert await scraped(consumed, {"handler": "clip.processed"}, [f"http://{merger['http']}/metrics"]) >= 1
