"""Native plugins: any executable (Rust, C++, ...) described by a `plugin.json` manifest.

The process protocol: the plugin's own process (`plugin_host`, confined as `sandbox` says, which
the executable inherits) starts the executable once per hook call, writes one JSON request to
its stdin and reads one JSON response from its stdout.

    request:  {"protocol": 1, "hook": "on_clip_captured", "clip": {...}, "config": {...}}
    response: {"result": {...}}  or  {"error": "what went wrong"}

A non-zero exit, output that is not such a JSON object, or output over 1 MiB is an error. The
process shares no memory with the worker, and when the plugin's time limit passes it is killed
(its whole process group) and a time-out recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from clipforge.sdk import ClipData, PluginBase, PluginMetadata
from clipforge.sdk.plugin import PluginType, Version

MANIFEST = "plugin.json"
PROTOCOL = 1
MAX_OUTPUT_BYTES = 1024 * 1024
SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"


Hook = Literal["on_clip_captured", "on_clip_processed"]

SPAWN_TRIES = 20  # about 6 s of waiting for a free process slot, at most


class NativeManifest(PluginMetadata):
    """`plugin.json`: the plugin's metadata (the same model as a Python plugin's), and how to run
    it. Its JSON Schema is committed as `docs/plugin.schema.json` (`make docs`)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"}
    )

    schema_ref: str | None = Field(
        None,
        alias="$schema",
        max_length=2000,
        title="JSON Schema",
        description="this file's schema, for editors",
    )
    version: Version = Field(description="semantic version, e.g. 1.2.0")  # required in a manifest
    plugin_type: PluginType = Field(description="rust, cpp, go, ...")
    executable: str = Field(pattern=rf"^{SEGMENT}(/{SEGMENT})*$", description="path inside the plugin folder")
    args: list[str] = Field(default_factory=list, description="arguments the executable is started with")
    hooks: list[Hook] = Field(
        default_factory=lambda: list[Hook](["on_clip_captured"]),
        description="the hooks the executable answers; the runner calls no other",
    )


class NativePluginError(Exception):
    pass


def read_manifest(folder: Path) -> NativeManifest:
    try:
        manifest = NativeManifest.model_validate_json((folder / MANIFEST).read_bytes())
    except ValidationError as exc:
        raise NativePluginError(f"invalid {MANIFEST}: {exc}") from exc
    executable = folder / manifest.executable
    if not (executable.is_file() and os.access(executable, os.X_OK)):
        raise NativePluginError(
            f"executable {executable} is missing or not executable (build it: make native)"
        )
    return manifest


class NativePlugin(PluginBase):
    def __init__(self, manifest: NativeManifest, folder: Path) -> None:
        self.manifest = manifest
        self.folder = folder.resolve()
        self.slots: asyncio.Semaphore | None = None  # processes at once, if bounded

    def bound(self, open_files: int) -> None:
        """Run at most as many processes at once as `open_files` allows (each call holds three
        pipes and a process handle in the process that starts it)."""
        self.slots = asyncio.Semaphore(max(1, (open_files - 32) // 8))

    @property
    def metadata(self) -> PluginMetadata:
        return PluginMetadata.model_validate(
            self.manifest.model_dump(include=set(PluginMetadata.model_fields))
        )

    def handles(self, hook: str) -> bool:
        return hook in self.manifest.hooks

    async def on_clip_captured(self, clip_data: ClipData) -> Any:
        return await self.call("on_clip_captured", clip_data)

    async def on_clip_processed(self, clip_data: ClipData) -> Any:
        return await self.call("on_clip_processed", clip_data)

    async def call(self, hook: str, clip: ClipData) -> dict[str, Any]:
        if self.slots is None:
            return await self._call(hook, clip)
        async with self.slots:
            return await self._call(hook, clip)

    async def _spawn(self) -> asyncio.subprocess.Process:
        """Start the executable. The plugin user's process budget is shared by every plugin
        process (RLIMIT_NPROC): when a burst has it full (EAGAIN), wait for some to end, a
        little, rather than fail the clip."""
        delay = 0.02
        for _ in range(SPAWN_TRIES):
            try:
                return await asyncio.create_subprocess_exec(
                    str(self.folder / self.manifest.executable),
                    *self.manifest.args,
                    cwd=self.folder,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    start_new_session=True,  # its own process group, so a kill reaches its children too
                )
            except BlockingIOError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
        raise NativePluginError("could not start its process: the plugin user's process limit stays full")

    async def _call(self, hook: str, clip: ClipData) -> dict[str, Any]:
        request = json.dumps(
            {"protocol": PROTOCOL, "hook": hook, "clip": clip, "config": self.config}
        ).encode()
        proc = await self._spawn()
        try:
            stdout, stderr = await proc.communicate(request)
        except BaseException:  # time-out (cancellation) or worker shutdown: kill it, never leave it running
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            raise
        if proc.returncode != 0:
            tail = stderr.decode(errors="replace").strip()[-500:]
            raise NativePluginError(f"exited with code {proc.returncode}: {tail}")
        if len(stdout) > MAX_OUTPUT_BYTES:
            raise NativePluginError(f"output over {MAX_OUTPUT_BYTES} bytes")
        try:
            response = json.loads(stdout)
        except ValueError as exc:
            raise NativePluginError(f"output is not JSON: {stdout[:200]!r}") from exc
        if not isinstance(response, dict):
            raise NativePluginError("output must be a JSON object")
        if response.get("error"):
            raise NativePluginError(str(response["error"]))
        result = response.get("result", {})
        if not isinstance(result, dict):
            raise NativePluginError("'result' must be a JSON object")
        return result


if __name__ == "__main__":  # make docs: the JSON Schema of plugin.json
    print(json.dumps(NativeManifest.model_json_schema(), indent=2, sort_keys=True))
