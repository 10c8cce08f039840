"""`clipforge plugin run PATH`: one run of one plugin on one clip, made as a runner makes it.

The plugin is scanned in a discovery process and served by a host process of its own, started
as the worker starts them (`process`): an environment built from nothing, the plugin user when
this runs as root, the operator's limits (CLIPFORGE_PLUGIN_*) lowered by its configuration, and
its time limit from `--timeout`, its configuration, its metadata or CLIPFORGE_PLUGIN_TIMEOUT_S,
in that order (as `host.PluginHost` chooses it). Its answer is checked as the worker checks it.
What is printed is what a clip would store under `metadata.plugins.<name>`
(`PluginResult.stored`): its result and `_run`. Unlike the worker's, its configuration is first
checked against its schema, as the API checks a configuration before storing it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from clipforge.events import PluginResult, PluginRunStatus
from clipforge.sdk.plugin import ClipData
from clipforge.sdk.testing.clips import CLIP_KEYS, RUNNER_ADDED, sample_clip
from clipforge.settings import Settings
from clipforge_plugin_runner.discovery import Discovered
from clipforge_plugin_runner.kit import KitError, config_problems, sources_at
from clipforge_plugin_runner.process import HostedPlugin, LoadFailed, scan_isolated
from clipforge_plugin_runner.sandbox import Isolation, Limits

log = logging.getLogger("clipforge")


def run_command(
    path: Path,
    *,
    clip: Path | None,
    media: Path | None,
    config: dict[str, Any],
    timeout: float | None,
    artifacts: Path | None,
) -> int:
    """Print the stored result; exit code 0 when the run is ok or skipped, 1 otherwise."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    try:
        data = read_clip(clip, media)
        result = asyncio.run(run_once(path, data, config, timeout=timeout, keep=artifacts))
    except KitError as exc:
        print(f"clipforge: {exc}", file=sys.stderr)
        return exc.code
    print(json.dumps(result.stored(), indent=2, ensure_ascii=False))
    return 0 if result.status in (PluginRunStatus.OK, PluginRunStatus.SKIPPED) else 1


def read_clip(clip: Path | None, media: Path | None) -> ClipData:
    """The clip to run on: the fields of a clip JSON file (the API's answer for a clip will do;
    keys no clip has are left out, saying so), sample values for the others."""
    fields: dict[str, Any] = {}
    if clip is not None:
        try:
            given = json.loads(clip.read_text())
        except (OSError, ValueError) as exc:
            raise KitError(f"{clip}: cannot read a clip from it: {exc}", code=2) from None
        if not isinstance(given, dict):
            raise KitError(f"{clip}: a clip is a JSON object", code=2)
        if ignored := sorted((set(given) - CLIP_KEYS) | (set(given) & set(RUNNER_ADDED))):
            log.warning("%s: leaving out %s (not a stored clip's field)", clip, ", ".join(ignored))
        fields = {k: v for k, v in given.items() if k in CLIP_KEYS and k not in RUNNER_ADDED}
    if media is not None:
        if not media.is_file():
            raise KitError(f"{media}: no such file", code=2)
        fields["media_path"] = str(media.resolve())
        fields.setdefault("file_path", media.name)
    try:
        return sample_clip(**fields)
    except ValidationError as exc:
        raise KitError(f"{clip}: not a clip: {exc}", code=2) from None


async def run_once(
    path: Path, clip: ClipData, config: dict[str, Any], *, timeout: float | None, keep: Path | None = None
) -> PluginResult:
    """Scan the plugin at `path`, load it, run `on_clip_captured` on `clip`, stop it. The files
    a `writes_artifacts` plugin makes are copied to `keep` (else dropped with the scratch)."""
    settings = Settings()
    todo = sources_at(path)
    media = clip.get("media_path")
    with tempfile.TemporaryDirectory(prefix="clipforge-plugin-run-") as scratch:
        os.chmod(scratch, 0o711)  # the plugin user's HOME is made in it
        isolation = Isolation(
            limits=Limits.from_settings(settings),
            user_name=settings.plugin_user,
            reachable=[Path(media).parent] if media else [],
            scratch_root=Path(scratch),
            plugin_folders=sorted({Path(s["folder"]) for s in todo}),
        )
        found = _the_plugin(list((await scan_isolated(todo, isolation)).values()), path)
        metadata = found.metadata
        assert metadata is not None  # found without an error
        if problems := config_problems(metadata.config_schema, config):
            raise KitError(f"configuration refused (as the API would): {'; '.join(problems)}", code=2)
        limits, ignored = isolation.limits.lowered_by(config)
        for problem in ignored:
            log.warning("configuration %s; the operator's limit applies", problem)
        declared = metadata.timeout_s or settings.plugin_timeout_s
        plugin = HostedPlugin(
            found.name,
            metadata.version,
            found.source,
            config,
            timeout=timeout or float(config.get("timeout_s", declared)),
            limits=limits,
            isolation=isolation,
            max_result_bytes=settings.plugin_result_max_bytes,
            on_load_error=_nothing,
        )
        try:
            await plugin.start()
        except (LoadFailed, OSError) as exc:
            raise KitError(f"{found.name} did not load: {exc}") from None
        try:
            out = Path(scratch) / "out" / found.name if metadata.writes_artifacts else None
            if out is not None:
                out.mkdir(parents=True)
                isolation.give(out)
            data = {**clip, "artifacts_dir": str(out) if out else None}
            result = await plugin.call("on_clip_captured", data)
            if out is not None:
                isolation.take_back(out)
                _keep_artifacts(out, keep)
        finally:
            await plugin.stop()
    return result


def _the_plugin(found: list[Discovered], path: Path) -> Discovered:
    if not found:
        raise KitError(f"{path}: no plugin found there", code=2)
    if len(found) > 1:
        names = ", ".join(sorted(d.name for d in found))
        raise KitError(f"{path} holds several plugins ({names}): name one's file", code=2)
    if found[0].error:
        raise KitError(f"{found[0].name} would not load: {found[0].error}")
    return found[0]


def _keep_artifacts(folder: Path, keep: Path | None) -> None:
    """Copy the regular files the plugin wrote (never what a symlink points at) to `keep`."""
    files = sorted(f for f in folder.iterdir() if f.is_file() and not f.is_symlink())
    if keep is None:
        if files:
            log.info("it wrote %d file(s), not kept (--artifacts DIR keeps them)", len(files))
        return
    keep.mkdir(parents=True, exist_ok=True)
    for file in files:
        shutil.copyfile(file, keep / file.name)
        log.info("kept %s", keep / file.name)


async def _nothing(_error: str | None) -> None:
    """A load error goes to the registry in a worker; here, the command reports it."""
