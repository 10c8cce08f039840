"""Jars from Maven Central, fetched once into the cache: how the repo gets its Java servers
(Kafka, S3Proxy) without Docker. Each server names its artifacts and version in a pom."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from clipforge_devstack.paths import cache_dir


def pom_version(pom: Path, property_name: str) -> str:
    match = re.search(rf"<{re.escape(property_name)}>([^<]+)</{re.escape(property_name)}>", pom.read_text())
    assert match, f"{property_name} missing from {pom.name}"
    return match.group(1)


def fetch_jars(pom: Path, name: str, what: str) -> Path:
    """The runtime jars of `pom` in `.cache/<name>/`, downloaded with Maven the first time;
    later calls return the folder at once. A cut-short download is never taken as complete."""
    target = cache_dir() / name
    if (target / ".complete").exists():
        return target
    if shutil.which("mvn") is None:
        raise RuntimeError(f"Maven (mvn) is needed to fetch {what}: run make bootstrap")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.run(
        [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    (staging / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
