"""Native plugins: any executable (Rust, C++, ...) described by a `plugin.json` manifest.

The process protocol: the runner starts the executable once per hook call, writes one JSON
request to its stdin and reads one JSON response from its stdout.

    request:  {"protocol": 1, "hook": "on_clip_captured", "clip": {...}, "config": {...}}
    response: {"result": {...}}  or  {"error": "what went wrong"}

A non-zero exit, output that is not such a JSON object, or output over 1 MiB is an error. The
process shares no memory with the worker, and when the plugin's time limit passes the runner
kills it (its whole process group) and records a time-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clipforge.sdk import ClipData, PluginBase, PluginMetadata
from clipforge.sdk.plugin import NAME_PATTERN, VERSION_PATTERN

MANIFEST = "plugin.json"
PROTOCOL = 1
MAX_OUTPUT_BYTES = 1024 * 1024
SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"


Hook = Literal["on_clip_captured", "on_clip_processed"]


class NativeManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    display_name: str = Field(min_length=1, max_length=200)
    description: str = ""
    version: str = Field(pattern=VERSION_PATTERN)
    author: str = ""
    plugin_type: str = Field(pattern=r"^[a-z][a-z0-9_+-]{0,31}$")
    executable: str = Field(pattern=rf"^{SEGMENT}(/{SEGMENT})*$", description="path inside the plugin folder")
    args: list[str] = Field(default_factory=list)
    config_schema: dict[str, Any] | None = None
    enabled_by_default: bool = False
    hooks: list[Hook] = Field(default_factory=lambda: list[Hook](["on_clip_captured"]))
    """The hooks the executable answers; the runner calls no other."""


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

    @property
    def metadata(self) -> PluginMetadata:
        m = self.manifest
        return PluginMetadata(
            name=m.name,
            display_name=m.display_name,
            description=m.description,
            version=m.version,
            author=m.author,
            plugin_type=m.plugin_type,
            config_schema=m.config_schema,
            enabled_by_default=m.enabled_by_default,
        )

    def handles(self, hook: str) -> bool:
        return hook in self.manifest.hooks

    async def on_clip_captured(self, clip_data: ClipData) -> Any:
        return await self.call("on_clip_captured", clip_data)

    async def on_clip_processed(self, clip_data: ClipData) -> Any:
        return await self.call("on_clip_processed", clip_data)

    async def call(self, hook: str, clip: ClipData) -> dict[str, Any]:
        request = json.dumps(
            {"protocol": PROTOCOL, "hook": hook, "clip": clip, "config": self.config}
        ).encode()
        proc = await asyncio.create_subprocess_exec(
            str(self.folder / self.manifest.executable),
            *self.manifest.args,
            cwd=self.folder,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, so a kill reaches its children too
        )
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
