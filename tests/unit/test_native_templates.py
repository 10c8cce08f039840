"""`clipforge plugin new --native rust|cpp` makes a project that builds, passes its own tests,
checks clean and runs in the runner's host process. One cargo build (~15 s, offline: its crates
are plugins/clip_quality's, which `make native` fetched) and one cmake build (~2 s)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from clipforge.cli.scaffold import _schema_line, sdk_range
from clipforge.sdk.plugin import sdk_mismatch
from tests.plugin_kit import clipforge_cli, pytest_in

REPO = Path(__file__).parents[2]
CARGO = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")  # as the Makefile finds it
BUILDS = {
    "rust": [[CARGO, "build", "--release", "--locked", "--offline", "--quiet"]],
    "cpp": [["cmake", "-S", ".", "-B", "build"], ["cmake", "--build", "build"]],
}


@pytest.mark.parametrize("language", ["rust", "cpp"])
def test_a_native_plugin_project_builds_passes_its_tests_checks_clean_and_runs(
    tmp_path: Path, language: str
) -> None:
    if not all(shutil.which(step[0]) for step in BUILDS[language]):
        pytest.skip(f"no {BUILDS[language][0][0]} on this machine")
    made = clipforge_cli("plugin", "new", "demo_native", "--native", language, "--dir", tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "demo_native"
    manifest = json.loads((folder / "plugin.json").read_text())
    assert manifest["$schema"] == (REPO / "docs" / "plugin.schema.json").as_uri(), "outside the checkout"
    assert (manifest["plugin_type"], manifest["sdk"]) == (language, sdk_range())

    unbuilt = clipforge_cli("plugin", "check", folder)
    assert unbuilt.returncode == 1
    assert "plugin.json: executable: executable" in unbuilt.stdout
    assert "is missing or not executable" in unbuilt.stdout

    for step in BUILDS[language]:
        built = subprocess.run(step, cwd=folder, capture_output=True, text=True, timeout=300)
        assert built.returncode == 0, built.stdout + built.stderr
    tests = pytest_in(folder)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    checked = clipforge_cli("plugin", "check", folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("OK: demo_native 0.1.0 (plugin.json)")

    (tmp_path / "clip.json").write_text(json.dumps({"title": "Ace in overtime, \u00e9t\u00e9 \U0001f600"}))
    ran = clipforge_cli("plugin", "run", folder, "--clip", tmp_path / "clip.json", "--config", "min_length=4")
    assert ran.returncode == 0, ran.stderr
    stored = json.loads(ran.stdout)
    assert {k: stored[k] for k in ("title_words", "longest_word")} == {
        "title_words": 1,
        "longest_word": "overtime,",
    }
    assert (stored["_run"]["status"], stored["_run"]["version"]) == ("ok", "0.1.0")


def test_a_native_plugin_made_in_the_checkout_names_the_schema_relatively() -> None:
    assert _schema_line(REPO / "plugins" / "new_one") == '  "$schema": "../../docs/plugin.schema.json",\n'
    assert sdk_range("0.4.2") == ">=0.4,<1"
    assert sdk_range("2.0") == ">=2.0,<3"
    assert sdk_mismatch(sdk_range()) is None, "a new plugin fits this SDK"
