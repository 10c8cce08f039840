"""Plugins run in processes of their own, with no secret in their environment, not as root, and
under resource limits: a plugin that dumps its environment finds nothing of the worker's, and
one that segfaults, exits, allocates 10 GB, fork-bombs or burns CPU past its limit is that
plugin's error; the others go on, and its next call works again. No server: real processes."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import stat
import tempfile
import textwrap
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from clipforge.events import PluginResult, PluginRunStatus
from clipforge_plugin_runner.captured import _regular
from clipforge_plugin_runner.discovery import Discovered
from clipforge_plugin_runner.host import PluginHost
from clipforge_plugin_runner.registry import PluginState
from clipforge_plugin_runner.sandbox import Isolation, Limits

SECRETS = {
    "DATABASE_URL": "postgresql+asyncpg://clipforge:hunter2-db@db/clipforge",
    "KAFKA_PASSWORD": "hunter2-kafka",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka.internal:9092",
    "CLIPFORGE_ADMIN_KEY": "hunter2-admin-key-0123456789abcdef0123",
    "CLIPFORGE_S3_SECRET_ACCESS_KEY": "hunter2-s3",
    "AWS_SECRET_ACCESS_KEY": "hunter2-aws",
    "SOME_API_KEY": "hunter2-api",
}

PYTHON_PLUGINS = {
    # dumps what it can see of its process
    "env_spy": """
        return {"env": dict(os.environ), "euid": os.geteuid(), "uid": os.getuid(),
                "groups": os.getgroups(), "pid": os.getpid(),
                "as": resource.getrlimit(resource.RLIMIT_AS)[0],
                "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}
    """,
    "well_behaved": """
        return {"fine": clip_data["title"]}
    """,
    "segfaulter": """
        if clip_data["title"] == "crash":
            import ctypes
            ctypes.string_at(0)
        return {"survived": True}
    """,
    "exiter": """
        if clip_data["title"] == "crash":
            os._exit(3)
        return {"survived": True}
    """,
    "memory_hog": """
        if clip_data["title"] == "crash":
            self.kept = bytearray(10 * 1024**3)
        return {"survived": True}
    """,
    "fork_bomb": """
        if clip_data["title"] == "crash":
            pids = []
            try:
                while len(pids) < 5000:
                    pid = os.fork()
                    if pid == 0:
                        time.sleep(60)
                        os._exit(0)
                    pids.append(pid)
            finally:
                Path(self.config["pid_file"]).write_text(json.dumps(pids))
        return {"survived": True}
    """,
    "cpu_burner": """
        if clip_data["title"] == "crash":
            while True:
                pass
        return {"survived": True}
    """,
    "limits_spy": """
        return {"as": resource.getrlimit(resource.RLIMIT_AS)[0],
                "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
                "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0]}
    """,
}


def python_plugin(name: str, body: str) -> str:
    return textwrap.dedent(
        f"""
        import json, os, resource, time
        from pathlib import Path
        from clipforge.sdk import PluginBase, PluginMetadata

        class P(PluginBase):
            @property
            def metadata(self):
                return PluginMetadata(
                    name="{name}", display_name="{name}", version="1.0.0", writes_artifacts=True
                )

            def on_clip_captured(self, clip_data):
        """
    ) + textwrap.indent(textwrap.dedent(body).strip(), " " * 8)


NATIVE_SPY = """#!/bin/sh
cat > /dev/null
echo "{\\"result\\": {\\"env\\": \\"$(env | base64 -w0)\\", \\"uid\\": $(id -u)}}"
"""


FOLDERS: list[Path] = []


def world_readable_dir() -> Path:
    """A folder the plugin user can reach (pytest's own temporary folders are private)."""
    folder = Path(tempfile.mkdtemp(prefix="clipforge-isolation-"))
    folder.chmod(0o777)
    FOLDERS.append(folder)
    return folder


@pytest.fixture(scope="module", autouse=True)
def _remove_folders() -> Iterator[None]:
    yield
    for folder in FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def plugin_dir() -> Path:
    folder = world_readable_dir()
    folder.chmod(0o755)  # the plugins' code: not theirs to change
    for name, body in PYTHON_PLUGINS.items():
        (folder / f"{name}.py").write_text(python_plugin(name, body))
    native = folder / "native_spy"
    native.mkdir()
    (native / "run.sh").write_text(NATIVE_SPY)
    (native / "run.sh").chmod(0o755)
    manifest = {"name": "native_spy", "display_name": "Native spy", "version": "1.0.0"}
    manifest |= {"plugin_type": "shell", "executable": "run.sh"}
    (native / "plugin.json").write_text(json.dumps(manifest))
    return folder


class FakeRegistry:
    def __init__(self, configs: dict[str, dict[str, Any]]) -> None:
        self.configs = configs
        self.errors: dict[str, str | None] = {}

    async def sync_discovered(self, found: Iterable[Discovered]) -> list[str]:
        return [d.name for d in found]

    async def enabled(self) -> list[PluginState]:
        return [PluginState(name, True, config) for name, config in sorted(self.configs.items())]

    async def get(self, name: str) -> PluginState | None:
        return PluginState(name, name in self.configs, self.configs.get(name, {}))

    async def record_error(self, name: str, error: str | None) -> None:
        self.errors[name] = error


OPERATOR = Limits(memory_mb=2048, cpu_s=600, max_files=256, max_procs=64)


async def started(plugin_dir: Path, configs: dict[str, dict[str, Any]]) -> PluginHost:
    scratch = world_readable_dir()
    isolation = Isolation(limits=OPERATOR, scratch_root=scratch)
    host = PluginHost(
        FakeRegistry(configs), [plugin_dir], 10.0, max_result_bytes=1024 * 1024, isolation=isolation
    )
    await host.start()
    return host


async def run(host: PluginHost, names: list[str], title: str = "t") -> dict[str, PluginResult]:
    clip: dict[str, Any] = {"id": "c", "title": title, "metadata": {}, "media_path": None}
    results: list[PluginResult] = []
    async for piece in host.run_captured(clip, names, partial_after=60):
        results += piece
    return {r.plugin: r for r in results}


def assert_no_secret(env: dict[str, str]) -> None:
    for key, value in env.items():
        assert key not in SECRETS, key
        assert not key.startswith(("KAFKA_", "CLIPFORGE_", "AWS_", "DATABASE")), key
        assert not any(word in key for word in ("PASSWORD", "SECRET", "KEY", "TOKEN")), key
        assert "hunter2" not in value, key
    assert set(env) <= {
        "PATH",
        "LANG",
        "LC_ALL",
        "HOME",
        "TMPDIR",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "PYTHONNOUSERSITE",
        "MALLOC_ARENA_MAX",
        "PYTHONPATH",
        "PWD",  # the shell's own
        "SHLVL",
        "_",
    }


@pytest.fixture(scope="module")
async def host(plugin_dir: Path) -> AsyncIterator[PluginHost]:
    """Every plugin above, loaded in one worker whose own environment holds secrets."""
    pid_file = world_readable_dir() / "pids.json"
    configs: dict[str, dict[str, Any]] = {name: {} for name in [*PYTHON_PLUGINS, "native_spy"]}
    configs["fork_bomb"] = {"max_procs": 8, "pid_file": str(pid_file)}
    configs["cpu_burner"] = {"cpu_s": 1, "timeout_s": 30}
    configs["limits_spy"] = {"memory_mb": 512, "max_files": 100_000, "cpu_s": "lots"}
    with pytest.MonkeyPatch.context() as env:
        for key, value in SECRETS.items():
            env.setenv(key, value)
        host = await started(plugin_dir, configs)
        yield host
        await host.stop()


async def test_a_plugin_that_dumps_its_environment_finds_no_secret_and_is_not_root(host: PluginHost) -> None:
    results = await run(host, ["env_spy", "native_spy"])
    spy, native = results["env_spy"], results["native_spy"]
    assert spy.status is PluginRunStatus.OK, spy.error
    assert native.status is PluginRunStatus.OK, native.error
    assert_no_secret(spy.result["env"])
    native_env = dict(
        line.split("=", 1)
        for line in base64.b64decode(native.result["env"]).decode().splitlines()
        if "=" in line
    )
    assert_no_secret(native_env)
    assert spy.result["pid"] != os.getpid(), "a process of its own"
    assert Path(spy.result["env"]["HOME"]).is_relative_to(host.isolation.scratch_root)
    if os.geteuid() == 0:
        assert spy.result["euid"] != 0
        assert spy.result["uid"] != 0
        assert native.result["uid"] != 0
        assert 0 not in spy.result["groups"], "no supplementary group of root's"
    assert spy.result["as"] == OPERATOR.memory_mb * 1024 * 1024
    assert spy.result["nofile"] == OPERATOR.max_files


async def test_crashes_are_that_plugin_s_error_and_its_next_call_works(host: PluginHost) -> None:
    crashers = ["segfaulter", "exiter", "memory_hog", "fork_bomb", "cpu_burner"]
    started_at = time.monotonic()
    results = await run(host, [*crashers, "well_behaved"], title="crash")
    assert time.monotonic() - started_at < 20
    assert results["well_behaved"].status is PluginRunStatus.OK
    assert results["well_behaved"].result == {"fine": "crash"}
    errors = {name: results[name].error or "" for name in crashers}
    assert {name: results[name].status for name in crashers} == dict.fromkeys(
        crashers, PluginRunStatus.ERROR
    ), errors
    assert errors["segfaulter"] == "plugin process died (signal 11: SIGSEGV)"
    assert errors["exiter"] == "plugin process exited with code 3"
    assert errors["memory_hog"] == "MemoryError: over its memory limit (2048 MB)"
    assert errors["fork_bomb"].startswith("BlockingIOError: [Errno 11] Resource temporarily unavailable")
    assert "at its process limit" in errors["fork_bomb"]
    assert errors["cpu_burner"] == "plugin process went over its CPU time limit (1 s) (signal 24: SIGXCPU)"

    again = await run(host, [*crashers, "well_behaved"], title="fine")
    assert {name: r.status for name, r in again.items()} == dict.fromkeys(again, PluginRunStatus.OK)
    assert all(again[name].result == {"survived": True} for name in crashers)


async def test_a_fork_bomb_leaves_no_process_behind(host: PluginHost) -> None:
    pid_file = Path(host.registry.configs["fork_bomb"]["pid_file"])  # type: ignore[attr-defined]
    result = (await run(host, ["fork_bomb"], title="crash"))["fork_bomb"]
    assert result.status is PluginRunStatus.ERROR
    pids = read_pids(pid_file)
    assert 8 <= len(pids) < 400, "bounded by its process limit"
    deadline = time.monotonic() + 10
    while alive := [p for p in pids if _alive(p)]:
        assert time.monotonic() < deadline, (
            f"{len(alive)} of the bomb's processes outlived its plugin process"
        )
        await asyncio.sleep(0.1)


def read_pids(path: Path) -> list[int]:
    return list(json.loads(path.read_text()))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_configuration_lowers_limits_and_cannot_raise_them(host: PluginHost) -> None:
    result = (await run(host, ["limits_spy"]))["limits_spy"]
    assert result.status is PluginRunStatus.OK, result.error
    assert result.result["as"] == 512 * 1024 * 1024, "lowered"
    assert result.result["nofile"] == OPERATOR.max_files, "clamped to the operator's"
    assert result.result["cpu"] >= OPERATOR.cpu_s, "not a number: the operator's"


def test_limits_are_clamped_to_the_operator_s() -> None:
    limits, problems = OPERATOR.lowered_by(
        {"memory_mb": 100, "cpu_s": 10**9, "max_procs": 0, "max_files": True}
    )
    assert limits == Limits(memory_mb=100, cpu_s=600, max_files=256, max_procs=1)
    assert problems == ["max_files: True is not a number"]
    assert OPERATOR.lowered_by({"timeout_s": 3}) == (OPERATOR, [])


def run_folder_with_media(root: Path) -> tuple[Path, Path]:
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    scratch.chmod(0o755)
    media = scratch / "clip.mp4"
    media.write_bytes(b"x" * 1000)
    media.chmod(0o644)
    return scratch, media


def check_artifacts(out: Path) -> None:
    assert (out / "copy.bin").read_bytes() == b"x" * 1000
    assert not _regular(out / "secret"), "a symlink is never stored as an artifact"
    if os.geteuid() == 0:
        assert out.stat().st_uid == 0, "taken back from the plugin once its call is over"
        assert stat.S_IMODE(out.stat().st_mode) == 0o755


async def test_a_python_plugin_reads_the_clip_s_file_and_writes_artifacts_as_the_plugin_user(
    plugin_dir: Path,
) -> None:
    """The clip's file must be readable and its artifacts folder writable by the plugin user."""
    (plugin_dir / "writer.py").write_text(
        python_plugin(
            "writer",
            """
            data = Path(clip_data["media_path"]).read_bytes()
            (Path(clip_data["artifacts_dir"]) / "copy.bin").write_bytes(data)
            os.symlink("/etc/shadow", Path(clip_data["artifacts_dir"]) / "secret")
            return {"bytes": len(data)}
            """,
        )
    )
    host = await started(plugin_dir, {"writer": {}})
    try:
        scratch, media = run_folder_with_media(host.isolation.scratch_root)
        clip = {"id": "c", "title": "t", "metadata": {}, "media_path": str(media)}
        (result,) = [
            r
            async for piece in host.run_captured(
                clip, ["writer"], partial_after=60, artifacts=scratch / "out"
            )
            for r in piece
        ]
        assert result.status is PluginRunStatus.OK, result.error
        assert result.result == {"bytes": 1000}
        check_artifacts(scratch / "out" / "writer")
    finally:
        await host.stop()
