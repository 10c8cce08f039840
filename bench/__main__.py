"""`make bench`: every stage against its baseline, measured in the same run on the same servers.

`python -m bench [stage ...]` runs some stages only (ingest, e2e, scale, worker, merge, media); the
results file is written only by a full run."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import ingest, media, merge, pipeline, worker
from bench.harness import Harness, servers
from bench.report import machine, table

HERE = Path(__file__).parent
STAGES: dict[str, Callable[[Harness], Awaitable[dict[str, float]]]] = {
    "ingest": ingest.run,
    "e2e": pipeline.latency_and_capacity,
    "scale": pipeline.scale,
    "worker": worker.run,
    "merge": merge.run,
    "media": media.run,
}
SERVICES = ("api", "plugin-runner", "metadata")


async def run(names: list[str], harness: Harness) -> dict[str, float]:
    results: dict[str, float] = {}
    for name in names:
        started = time.monotonic()
        print(f"… {name}", file=sys.stderr, flush=True)
        results.update(await STAGES[name](harness))
        print(f"  {name} took {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
    for service in SERVICES:
        if service in harness.peak_rss_mb:
            results[f"rss_mb_{service.replace('-', '_')}"] = harness.peak_rss_mb[service]
    return results


def main() -> int:
    names = sys.argv[1:] or list(STAGES)
    if unknown := set(names) - STAGES.keys():
        print(f"unknown stage(s): {', '.join(sorted(unknown))}; stages: {', '.join(STAGES)}", file=sys.stderr)
        return 2
    log_path = HERE / "services.log"
    with log_path.open("w") as log, servers(log) as harness:
        print(f"servers up; service logs in {log_path}", file=sys.stderr, flush=True)
        results = asyncio.run(run(names, harness))
    print(table(results))
    print(f"\n{machine()}")
    if names == list(STAGES):
        # every figure a number at the top level; the machine is printed and shown in the README
        (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        print(f"written: {HERE / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
