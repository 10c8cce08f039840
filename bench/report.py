"""The bench's table: each figure beside the goal it is judged by."""

from __future__ import annotations

import os
import platform
from pathlib import Path

GOALS: dict[str, tuple[str, float]] = {
    "ingest_ratio_vs_bare": (">=", 0.85),
    "e2e_p99_ms": ("<=", 100.0),
    "worker_ratio_vs_raw_kafka": (">=", 0.5),
    "merge_ratio_vs_raw": (">=", 0.7),
    "media_ratio_vs_ffmpeg_cli": (">=", 1.0),
}


def _verdict(key: str, value: float) -> str:
    if key not in GOALS:
        return ""
    op, goal = GOALS[key]
    met = value >= goal if op == ">=" else value <= goal
    return f"{op} {goal:g}  {'met' if met else 'NOT met'}"


def table(results: dict[str, float]) -> str:
    width = max(map(len, results)) if results else 10
    lines = [f"{'figure':<{width}}  {'value':>10}  goal", f"{'-' * width}  {'-' * 10}  {'-' * 16}"]
    for key, value in results.items():
        lines.append(f"{key:<{width}}  {value:>10.{0 if abs(value) >= 100 else 2}f}  {_verdict(key, value)}")
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM"
