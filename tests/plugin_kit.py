"""Running the plugin kit's commands as their users do: `clipforge ...` and `pytest` in a
plugin's folder, as processes of this virtualenv's Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLIPFORGE = [sys.executable, "-m", "clipforge.cli"]  # the `clipforge` script, wherever PATH is


def clipforge_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLIPFORGE, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def pytest_in(folder: Path) -> subprocess.CompletedProcess[str]:
    """The folder's own tests, as its author runs them (`pytest` there)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=120,
    )
