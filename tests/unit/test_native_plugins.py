"""The native plugin process protocol, with small executables written by the test."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from clipforge.events import PluginRunStatus
from clipforge.sdk import ClipData, PluginBase, PluginMetadata
from clipforge.sdk.execution import run_captured_hook
from clipforge_plugin_runner.discovery import builtin_plugin_dir, scan_folder
from clipforge_plugin_runner.native import NativeManifest, NativePlugin, NativePluginError, read_manifest


def native(tmp_path: Path, script: str, name: str = "shell_plugin", **manifest: Any) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    exe = folder / "run.sh"
    exe.write_text("#!/bin/sh\n" + script)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    (folder / "plugin.json").write_text(
        json.dumps(
            {
                "name": name,
                "display_name": "Shell",
                "version": "1.0.0",
                "plugin_type": "shell",
                "executable": "run.sh",
                **manifest,
            }
        )
    )
    return folder


def plugin(folder: Path) -> NativePlugin:
    return NativePlugin(read_manifest(folder), folder)


async def test_request_and_result_travel_over_stdin_and_stdout(tmp_path: Path) -> None:
    folder = native(tmp_path, """read request; echo "{\\"result\\": {\\"echo\\": $request}}"\n""")
    result = await plugin(folder).on_clip_captured({"title": "t", "metadata": {}})
    assert result["echo"]["hook"] == "on_clip_captured"
    assert result["echo"]["protocol"] == 1
    assert result["echo"]["clip"] == {"title": "t", "metadata": {}}
    assert result["echo"]["config"] == {}


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("echo oops >&2; exit 3", "exited with code 3: oops"),
        ("echo not-json", "output is not JSON"),
        ('echo \'{"error": "bad clip"}\'', "bad clip"),
        ("echo '[1]'", "must be a JSON object"),
    ],
)
async def test_failures_become_errors(tmp_path: Path, script: str, message: str) -> None:
    with pytest.raises(NativePluginError, match=message):
        await plugin(native(tmp_path, script)).on_clip_captured({})


async def test_a_process_over_its_time_limit_is_killed(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    folder = native(tmp_path, f"sleep 30 & echo $! > {marker}; wait\n")
    started = time.monotonic()
    result = await run_captured_hook(
        plugin(folder).on_clip_captured,
        {"metadata": {}},
        plugin="p",
        version="1",
        timeout=0.5,
        max_result_bytes=1024,
    )
    assert result.status is PluginRunStatus.TIMEOUT
    assert time.monotonic() - started < 5
    child = int(marker.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the plugin's child process outlived the time-out")


def test_manifest_problems_are_reported_by_discovery(tmp_path: Path) -> None:
    folder = native(tmp_path, "exit 0")
    (folder / "run.sh").unlink()
    (found,) = scan_folder(tmp_path)
    assert found.error is not None
    assert "missing or not executable" in found.error
    (folder / "plugin.json").write_text('{"name": "x", "executable": "../../bin/sh"}')
    (found,) = scan_folder(tmp_path)
    assert found.error is not None
    assert "invalid plugin.json" in found.error


def test_the_rust_example_is_discovered_as_a_native_plugin() -> None:
    folder = builtin_plugin_dir()
    assert folder is not None
    found = {d.name: d for d in scan_folder(folder)}
    quality = found["clip_quality"]
    assert quality.error is None, quality.error
    assert quality.metadata is not None
    assert quality.metadata.plugin_type == "rust"
    assert quality.metadata.config_schema is not None


def test_the_runner_calls_only_the_hooks_a_plugin_has(tmp_path: Path) -> None:
    captured_only = plugin(native(tmp_path, "exit 0", name="captured_only"))
    both = plugin(native(tmp_path, "exit 0", name="both", hooks=["on_clip_captured", "on_clip_processed"]))
    assert captured_only.handles("on_clip_captured")
    assert not captured_only.handles("on_clip_processed"), "a process per call saved"
    assert both.handles("on_clip_processed")

    class Listener(PluginBase):
        @property
        def metadata(self) -> PluginMetadata:
            return PluginMetadata(name="listener", display_name="L", version="1.0.0")

        def on_clip_processed(self, clip_data: Any) -> Any:
            return None

    assert Listener().handles("on_clip_processed")
    assert not Listener().handles("on_clip_captured")


def test_a_manifest_naming_an_unknown_hook_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NativePluginError, match="hooks"):
        read_manifest(native(tmp_path, "exit 0", hooks=["on_clip_deleted"]))


async def test_nan_printed_by_a_native_plugin_is_its_error_not_a_stored_value(tmp_path: Path) -> None:
    folder = native(tmp_path, """cat > /dev/null; echo '{"result": {"score": NaN, "peak": Infinity}}'\n""")
    result = await run_captured_hook(
        plugin(folder).on_clip_captured,
        {"metadata": {}},
        plugin="p",
        version="1",
        timeout=5,
        max_result_bytes=1024,
    )
    assert result.status is PluginRunStatus.ERROR
    assert result.error == "result.score: nan is not a JSON number"


def test_the_committed_plugin_json_schema_is_current_and_the_example_fits_it() -> None:
    from jsonschema import Draft202012Validator

    committed = Path(__file__).parents[2] / "docs" / "plugin.schema.json"
    schema = NativeManifest.model_json_schema()
    assert json.loads(committed.read_text()) == schema, "docs/plugin.schema.json is stale: run `make docs`"
    folder = builtin_plugin_dir()
    assert folder is not None
    manifest = json.loads((folder / "clip_quality" / "plugin.json").read_text())
    assert list(Draft202012Validator(schema).iter_errors(manifest)) == []
    assert list(Draft202012Validator(schema).iter_errors({**manifest, "executable": "../../bin/sh"}))


async def test_a_native_plugin_reads_the_clip_s_file_and_writes_artifacts(tmp_path: Path) -> None:
    """The request names a readable local file (`media_path`) and a folder for what the plugin
    makes (`artifacts_dir`), as Python plugins get them: here a shell script counts the file's
    bytes and writes a note beside the clip."""
    media = tmp_path / "clip.mp4"
    media.write_bytes(b"x" * 1234)
    out = tmp_path / "artifacts"
    out.mkdir()
    script = """read request
media=$(printf '%s' "$request" | sed 's/.*"media_path": *"\\([^"]*\\)".*/\\1/')
out=$(printf '%s' "$request" | sed 's/.*"artifacts_dir": *"\\([^"]*\\)".*/\\1/')
echo seen > "$out/note.txt"
echo "{\\"result\\": {\\"bytes\\": $(wc -c < "$media")}}"
"""
    clip = ClipData(title="t", metadata={}, media_path=str(media), artifacts_dir=str(out))
    result = await plugin(native(tmp_path, script)).on_clip_captured(clip)
    assert result == {"bytes": 1234}
    assert (out / "note.txt").read_text() == "seen\n"
