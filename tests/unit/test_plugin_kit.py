"""The plugin kit: `clipforge plugin new` makes a project whose tests pass, `run` prints what a
runner would store for a plugin, `check` names the file and field of each problem, and a plugin
made for another SDK is found but never loaded. Real processes, no server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tag_suggester import TagSuggester

import clipforge
from clipforge.cli import main
from clipforge.events import PluginResult, PluginRunStatus
from clipforge.plugin_scope import config_hash
from clipforge.sdk.testing import make_video, run_plugin
from clipforge_plugin_runner.discovery import Discovered, builtin_plugin_dir, scan_folder
from clipforge_plugin_runner.host import PluginHost
from clipforge_plugin_runner.registry import PluginState
from clipforge_plugin_runner.sandbox import Isolation
from tests.plugin_kit import clipforge_cli, pytest_in

PLUGINS = builtin_plugin_dir()


def test_a_new_plugin_s_own_tests_pass_and_catch_a_broken_plugin(tmp_path: Path) -> None:
    made = clipforge_cli("plugin", "new", "demo", "--dir", tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "demo"
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "demo.py",
        "pyproject.toml",
        "test_demo.py",
    ]
    assert 'demo = "demo:Demo"' in (folder / "pyproject.toml").read_text()
    tests = pytest_in(folder)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout

    code = folder / "demo.py"
    code.write_text(code.read_text().replace('"title_words": len(words)', '"title_words": len(words) + 1'))
    broken = pytest_in(folder)
    assert broken.returncode == 1
    assert "1 failed, 2 passed" in broken.stdout


@pytest.mark.parametrize(
    ("name", "native", "why"),
    [
        ("Demo", None, "snake_case"),
        ("d", None, "snake_case"),
        ("json", None, "standard library"),
        ("class", None, "Python keyword"),
        ("match", "rust", "Rust keyword"),
    ],
)
def test_plugin_new_refuses_a_name_the_plugin_cannot_have(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, native: str | None, why: str
) -> None:
    args = ["plugin", "new", name, "--dir", str(tmp_path), *(["--native", native] if native else [])]
    assert main(args) == 2
    assert why in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def run_cli(*args: str | Path) -> dict[str, Any]:
    done = clipforge_cli("plugin", "run", *args)
    assert done.returncode == 0, done.stderr
    stored = json.loads(done.stdout)
    assert isinstance(stored, dict)
    return stored


def test_plugin_run_prints_what_a_clip_stores_for_tag_suggester(tmp_path: Path) -> None:
    assert PLUGINS is not None
    clip = {"title": "Insane clutch with friends", "game_name": "Valorant", "fps": 144, "media_url": "x"}
    (tmp_path / "clip.json").write_text(json.dumps(clip))
    stored = run_cli(PLUGINS / "tag_suggester", "--clip", tmp_path / "clip.json", "--config", "max_tags=3")
    assert stored["suggested_tags"] == ["insane", "clutch", "friends"]
    assert {k: v for k, v in stored["_run"].items() if k != "duration_ms"} == {
        "status": "ok",
        "version": "0.1.0",
        "config_hash": config_hash({"max_tags": 3}),  # the runner's own hash of what it ran with
        "error": None,
    }
    del clip["media_url"]
    in_process = run_plugin(TagSuggester, clip=clip, config={"max_tags": 3}).stored()
    assert stored.keys() == in_process.keys()
    assert stored["suggested_tags"] == in_process["suggested_tags"]


def test_plugin_run_media_probe_on_a_generated_video(tmp_path: Path) -> None:
    assert PLUGINS is not None
    video = make_video(tmp_path / "clip.mp4", seconds=2, width=320, height=240, fps=30)
    stored = run_cli(PLUGINS / "media_probe", "--media", video)
    assert stored["_run"]["status"] == "ok"
    assert stored["_run"]["version"] == "0.2.0"
    assert stored["video"]["resolution"] == "320x240"
    assert stored["audio"]["codec"] == "aac"
    assert stored["clip_fields"]["file_size"] == video.stat().st_size
    assert abs(stored["clip_fields"]["duration"] - 2.0) < 0.1
    assert stored["disagreements"] == {}


def test_plugin_run_says_why_a_configuration_or_a_plugin_fails(tmp_path: Path) -> None:
    assert PLUGINS is not None
    refused = clipforge_cli("plugin", "run", PLUGINS / "tag_suggester", "--config", "max_tags=0")
    assert refused.returncode == 2
    assert "max_tags: 0 is less than the minimum of 1" in refused.stderr
    (tmp_path / "crasher.py").write_text(
        PLUGIN.format(name="crasher", extra="", hook="raise ValueError('bad')")
    )
    failed = clipforge_cli("plugin", "run", tmp_path / "crasher.py")
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["_run"]["error"] == "ValueError: bad"


PLUGIN = """
from pydantic import BaseModel, Field
from clipforge.sdk import PluginBase, PluginMetadata

class Config(BaseModel):
    level: int = Field(1, ge=1, title="Level")

class P(PluginBase):
    config_model = Config

    @property
    def metadata(self):
        return PluginMetadata(name="{name}", display_name="P", version="1.0.0"{extra})

    def on_clip_captured(self, clip_data):
        {hook}
"""


def test_plugin_check_names_the_file_and_field_of_each_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad_name.py").write_text(PLUGIN.format(name="Bad Name", extra="", hook="return {}"))
    schema = ', config_schema={"type": "object", "properties": {"n": {"type": "integr"}}}'
    (tmp_path / "bad_schema.py").write_text(PLUGIN.format(name="bad_schema", extra=schema, hook="return {}"))
    (tmp_path / "future.py").write_text(PLUGIN.format(name="future", extra=', sdk=">=99"', hook="return {}"))
    (tmp_path / "broken.py").write_text("import os\n\nimport does_not_exist\n")
    native = tmp_path / "native_bad"
    native.mkdir()
    (native / "plugin.json").write_text(
        json.dumps(
            {"name": "native_bad", "display_name": "N", "plugin_type": "rust", "executable": "x", "colour": 1}
        )
    )
    assert main(["plugin", "check", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "bad_name.py: metadata.name: String should match pattern '^[a-z][a-z0-9_]{1,63}$'",
        "bad_schema.py: config_schema.properties.n.type: "
        "'integr' is not valid under any of the given schemas",
        "broken.py: line 3: does not import: ModuleNotFoundError: No module named 'does_not_exist'",
        f"future.py: metadata.sdk: needs clipforge SDK >=99, this runner has {clipforge.__version__}",
        "native_bad/plugin.json: colour: Additional properties are not allowed ('colour' was unexpected)",
        "native_bad/plugin.json: version: 'version' is a required property",
    ]


def test_plugin_check_passes_the_shipped_plugins(capsys: pytest.CaptureFixture[str]) -> None:
    assert PLUGINS is not None
    assert main(["plugin", "check", str(PLUGINS / "tag_suggester")]) == 0
    assert capsys.readouterr().out == (
        f"OK: tag_suggester 0.1.0 (tag_suggester.py): metadata, config schema and SDK range fit "
        f"clipforge {clipforge.__version__}\n"
    )
    assert main(["plugin", "check", str(PLUGINS / "clip_quality" / "plugin.json")]) == 2, (
        "a folder, not its file"
    )


def test_a_plugin_for_another_sdk_is_listed_with_the_reason_and_never_loaded(tmp_path: Path) -> None:
    (tmp_path / "future.py").write_text(
        PLUGIN.format(name="future", extra=', sdk=">=99,<100"', hook="return {}")
    )
    (tmp_path / "current.py").write_text(
        PLUGIN.format(name="current", extra=', sdk=">=0.1"', hook="return {}")
    )
    native = tmp_path / "future_native"
    native.mkdir()
    (native / "run.sh").write_text("#!/bin/sh\necho '{\"result\": {}}'\n")
    (native / "run.sh").chmod(0o755)
    manifest = {"name": "future_native", "display_name": "F", "version": "1.0.0", "plugin_type": "shell"}
    (native / "plugin.json").write_text(json.dumps({**manifest, "executable": "run.sh", "sdk": "<0.1"}))
    found = {d.name: d for d in scan_folder(tmp_path)}
    why = f"needs clipforge SDK >=99,<100, this runner has {clipforge.__version__}"
    assert found["future"].error == why
    assert found["future"].metadata is not None, "still described, so the registry can list it"
    assert (
        found["future_native"].error == f"needs clipforge SDK <0.1, this runner has {clipforge.__version__}"
    )
    assert found["current"].error is None
    assert Discovered.from_json(found["future"].to_json()).error == why, (
        "the worker checks what discovery says"
    )


class FakeRegistry:
    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.errors: dict[str, str | None] = {}

    async def sync_discovered(self, found: object) -> list[str]:
        return []

    async def enabled(self) -> list[PluginState]:
        return [PluginState(name, True, {}) for name in self.names]

    async def get(self, name: str) -> PluginState | None:
        return PluginState(name, True, {})

    async def record_error(self, name: str, error: str | None) -> None:
        self.errors[name] = error


@pytest.fixture
def future_plugin_dir() -> Iterator[Path]:
    """A plugin folder holding a plugin for SDK >=99, reachable by the plugin user (pytest's own
    temporary folders are private), with a scratch folder for the plugin processes' homes."""
    folder = Path(tempfile.mkdtemp(prefix="clipforge-kit-"))
    folder.chmod(0o755)
    (folder / "future.py").write_text(PLUGIN.format(name="future", extra=', sdk=">=99"', hook="return {}"))
    (folder / "scratch").mkdir(mode=0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


async def test_the_runner_records_the_sdk_mismatch_as_the_load_error(future_plugin_dir: Path) -> None:
    registry = FakeRegistry(["future"])
    isolation = Isolation(scratch_root=future_plugin_dir / "scratch")
    host = PluginHost(registry, [future_plugin_dir], 10.0, 64 * 1024, isolation=isolation)
    await host.start()
    try:
        why = f"needs clipforge SDK >=99, this runner has {clipforge.__version__}"
        assert registry.errors == {"future": why}
        assert "future" not in host.loaded
        results: list[PluginResult] = []
        clip = {"id": "c", "title": "t", "metadata": {}}
        async for piece in host.run_captured(clip, ["future"], partial_after=5):
            results += piece
        assert [(r.status, r.error) for r in results] == [(PluginRunStatus.SKIPPED, f"not loaded: {why}")]
    finally:
        await host.stop()


def test_run_and_check_say_they_need_the_runner_where_it_is_not_installed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in [m for m in sys.modules if m.startswith("clipforge_plugin_runner.kit")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "clipforge_plugin_runner.kit", None)  # as if not installed
    assert main(["plugin", "check", "."]) == 2
    assert "install clipforge-plugin-runner" in capsys.readouterr().err


def test_the_clipforge_script_is_installed() -> None:
    script = Path(sys.executable).parent / "clipforge"
    done = subprocess.run([script, "plugin", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "new" in done.stdout
    assert "check" in done.stdout
