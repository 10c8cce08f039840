"""Where the local stack keeps its data, caches and logs."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def repo_root() -> Path:
    """The checkout this package was installed from (it is always an editable install)."""
    env = os.environ.get("CLIPFORGE_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "Makefile").exists() and (parent / "devstack").is_dir():
            return parent
    raise RuntimeError("cannot find the clipforge checkout; set CLIPFORGE_HOME")


def data_dir() -> Path:
    """Server data for `make dev`; ignored by git."""
    return Path(os.environ.get("CLIPFORGE_DATA_DIR", repo_root() / ".data"))


def cache_dir() -> Path:
    """Downloaded broker jars, shared by dev, tests and bench; ignored by git."""
    return Path(os.environ.get("CLIPFORGE_CACHE_DIR", repo_root() / ".cache"))


def free_port() -> int:
    """A TCP port nothing listens on right now (for test and bench servers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
