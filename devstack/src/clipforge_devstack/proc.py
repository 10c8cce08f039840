"""Running server binaries, as the `postgres` user where the caller is root."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def is_root() -> bool:
    return os.geteuid() == 0


def as_user(argv: Sequence[str], user: str | None) -> list[str]:
    """Prefix argv so it runs as `user` (only possible, and only needed, when we are root)."""
    if user is None or not is_root():
        return list(argv)
    return ["runuser", "-u", user, "--", *argv]


def run(
    argv: Sequence[str], *, user: str | None = None, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(
        as_user(argv, user),
        capture_output=True,
        text=True,
        env=full_env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


def chown_tree(path: Path, user: str) -> None:
    if is_root():
        shutil.chown(path, user, user)
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                shutil.chown(os.path.join(root, name), user, user)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pid(pid: int | None, pidfile: Path, *, timeout: float, poll_s: float) -> None:
    """Stop a server we started in the background (a JVM): SIGTERM, up to `timeout` to exit,
    then SIGKILL; its exit status collected (it may be our child: no zombie), its pid file gone."""
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(poll_s)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        _reap(pid)
    pidfile.unlink(missing_ok=True)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
