"""Finding plugins: the repo's `plugins/` folder, CLIPFORGE_PLUGIN_DIRS, and installed
distributions' `clipforge.plugins` entry points.

Discovery imports plugin code (that is the only way to read a Python plugin's metadata), so it
never runs in the API, nor in the worker itself: the worker lists the `sources` (files, folders,
entry points: no plugin code runs for that) and a sandboxed process (`plugin_host discover`)
scans them (`scan_source`). A plugin that fails to import becomes a `Discovered` with `error`
set, so the registry can show the failure; it never stops the scan.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from clipforge.sdk import PluginBase, PluginMetadata
from clipforge.sdk.plugin import sdk_mismatch
from clipforge_plugin_runner.native import MANIFEST, NativePlugin, read_manifest

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "clipforge.plugins"
SKIPPED_FILES = {"setup.py", "conftest.py", "__init__.py"}

ModuleLoader = Callable[[bool], ModuleType]
"""Imports a plugin's module; with True it re-imports the code from disk (a reload)."""

Factory = Callable[[bool], PluginBase]
"""Makes a plugin instance; with True from code (or a manifest) re-read from disk."""


@dataclass
class Discovered:
    name: str
    found_in: str  # "folder" or "entry_point"
    entry_point: str  # a path inside its plugin folder, or "module:attribute"
    install_path: str
    metadata: PluginMetadata | None = None
    error: str | None = None
    factory: Factory | None = field(default=None, repr=False)
    code_mtimes: tuple[float, ...] = ()  # modification times of its code: a change means "reload"
    source: dict[str, str] = field(default_factory=dict)  # where it was found: see `sources`

    def __post_init__(self) -> None:
        # Made for another SDK: found and listed, never loaded; its load_error says why. Here, so
        # that the discovery process and the worker (reading its report) both check it.
        if self.error is None and self.metadata is not None:
            self.error = sdk_mismatch(self.metadata.sdk)

    def instantiate(self, reload: bool = False) -> PluginBase:
        if self.factory is None:
            raise RuntimeError(f"plugin {self.name} did not load: {self.error}")
        return self.factory(reload)

    def to_json(self) -> dict[str, Any]:
        """What a discovery process reports (everything but the factory)."""
        return {
            "name": self.name,
            "found_in": self.found_in,
            "entry_point": self.entry_point,
            "install_path": self.install_path,
            "metadata": self.metadata.model_dump(mode="json") if self.metadata else None,
            "error": self.error,
            "code_mtimes": list(self.code_mtimes),
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Discovered:
        """A discovery process's report, read by the worker (which checks it: plugin code ran
        in that process)."""
        metadata = data.get("metadata")
        return cls(
            name=str(data["name"]),
            found_in=str(data["found_in"]),
            entry_point=str(data["entry_point"]),
            install_path=str(data["install_path"]),
            metadata=PluginMetadata.model_validate(metadata) if metadata is not None else None,
            error=None if data.get("error") is None else str(data["error"]),
            code_mtimes=tuple(float(t) for t in data.get("code_mtimes", ())),
            source={str(k): str(v) for k, v in dict(data.get("source", {})).items()},
        )


def _python_factory(loader: ModuleLoader, module: ModuleType, class_name: str) -> Factory:
    current = [module]

    def make(reload: bool) -> PluginBase:
        if reload:
            current[0] = loader(True)
        cls: type[PluginBase] = getattr(current[0], class_name)
        return cls()

    return make


def _native_factory(folder: Path) -> Factory:
    def make(reload: bool) -> PluginBase:
        return NativePlugin(read_manifest(folder), folder)

    return make


def builtin_plugin_dir() -> Path | None:
    """The repo's own `plugins/` folder, when this worker runs from a checkout or image of it."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "plugins"
        if candidate.is_dir() and (parent / "services").is_dir():
            return candidate
    return None


def _safe_name(stem: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", stem.lower()).strip("_") or "plugin"
    return name if name[0].isalpha() else f"p_{name}"[:64]


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    return f"clipforge_plugins.{_safe_name(path.stem)}_{digest}"


def _import_file(path: Path) -> ModuleType:
    """Import (or re-import: the old module is dropped) a plugin file or package folder."""
    target = path / "__init__.py" if path.is_dir() else path
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(
        name, target, submodule_search_locations=[str(path)] if path.is_dir() else None
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {target}")
    module = importlib.util.module_from_spec(spec)
    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[loaded]
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def plugin_classes(module: ModuleType) -> list[type[PluginBase]]:
    """The concrete PluginBase subclasses a module defines (not the ones it imports)."""
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, PluginBase)
        and obj is not PluginBase
        and obj.__module__ == module.__name__
        and not inspect.isabstract(obj)
    ]


def _from_module(
    loader: ModuleLoader,
    found_in: str,
    entry_point: str,
    install_path: str,
    fallback_name: str,
    only: str | None = None,
) -> Iterator[Discovered]:
    try:
        module = loader(False)
        for cls in plugin_classes(module):
            if only is not None and cls.__qualname__ != only:
                continue
            meta = cls.describe(cls().metadata)
            yield Discovered(
                meta.name,
                found_in,
                entry_point,
                install_path,
                meta,
                factory=_python_factory(loader, module, cls.__qualname__),
            )
    except Exception as exc:
        log.warning("plugin %s failed to load: %s", entry_point, exc)
        yield Discovered(
            fallback_name,
            found_in,
            entry_point,
            install_path,
            error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}",
        )


def _candidates(folder: Path) -> Iterator[Path]:
    """Plugin files, packages, and native plugin folders (those with a manifest)."""
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if (
            entry.is_file()
            and entry.suffix == ".py"
            and entry.name not in SKIPPED_FILES
            and not entry.name.startswith("test_")
        ):
            yield entry
        elif entry.is_dir():
            if (entry / MANIFEST).exists() or (entry / "__init__.py").exists():
                yield entry
            else:  # a plugin project folder: its top-level modules
                yield from (
                    f
                    for f in sorted(entry.glob("*.py"))
                    if f.name not in SKIPPED_FILES and not f.name.startswith("test_")
                )


def sources(folders: list[Path]) -> list[dict[str, str]]:
    """Where plugins may be, in order of precedence: each folder's candidates, then the installed
    distributions' entry points. Runs no plugin code."""
    found = []
    for folder in folders:
        if not folder.is_dir():
            log.warning("plugin folder %s does not exist", folder)
            continue
        for path in _candidates(folder):
            kind = "native" if path.is_dir() and (path / MANIFEST).exists() else "file"
            found.append({"kind": kind, "path": str(path), "folder": str(folder)})
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.append({"kind": "entry_point", "name": ep.name, "value": ep.value})
    return found


def scan_source(source: dict[str, str]) -> list[Discovered]:
    """The plugins one source holds (imports its code: runs in a plugin process)."""
    if source["kind"] == "entry_point":
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == source["name"] and ep.value == source["value"]:
                return [replace(d, source=source) for d in _scan_entry_point(ep)]
        return []
    path, folder = Path(source["path"]), Path(source["folder"])
    code_mtimes = _code_mtimes(path)
    if source["kind"] == "native":
        found = [_from_manifest(path, folder)]
    else:
        found = list(
            _from_module(
                lambda _reload, p=path: _import_file(p),  # type: ignore[misc]
                "folder",
                str(path.relative_to(folder)),
                str(folder),
                _safe_name(path.stem),
            )
        )
    return [replace(d, code_mtimes=code_mtimes, source=source) for d in found]


def scan_folder(folder: Path) -> Iterator[Discovered]:
    """The plugins in one folder, imported in this process."""
    for source in sources([folder]):
        if source["kind"] != "entry_point":
            yield from scan_source(source)


def _from_manifest(path: Path, folder: Path) -> Discovered:
    entry_point = str((path / MANIFEST).relative_to(folder))
    try:
        plugin = NativePlugin(read_manifest(path), path)
        return Discovered(
            plugin.manifest.name,
            "folder",
            entry_point,
            str(folder),
            plugin.metadata,
            factory=_native_factory(path),
        )
    except Exception as exc:
        log.warning("native plugin %s failed to load: %s", path, exc)
        return Discovered(_safe_name(path.name), "folder", entry_point, str(folder), error=str(exc))


def _entry_point_loader(ep: importlib.metadata.EntryPoint) -> ModuleLoader:
    def load(reload: bool) -> ModuleType:
        module = importlib.import_module(ep.module)
        return importlib.reload(module) if reload else module

    return load


def _scan_entry_point(ep: importlib.metadata.EntryPoint) -> Iterator[Discovered]:
    dist = ep.dist.name if ep.dist else "unknown distribution"
    yield from _from_module(
        _entry_point_loader(ep), "entry_point", ep.value, dist, _safe_name(ep.name), only=ep.attr
    )


def _code_mtimes(path: Path) -> tuple[float, ...]:
    """Modification times of a plugin's code: the file, or a folder's sources, manifest and
    (for native plugins) executable."""
    if path.is_file():
        files = [path]
    else:
        files = sorted([*path.glob("*.py"), *path.glob("*/*.py"), *path.glob(MANIFEST)])
        if (path / MANIFEST).exists():
            with contextlib.suppress(Exception):
                files.append(path / read_manifest(path).executable)
    return tuple(f.stat().st_mtime for f in files if f.exists())


def folders_fingerprint(folders: list[Path]) -> tuple[tuple[str, tuple[float, ...]], ...]:
    """A cheap fingerprint of every plugin folder (a stat per file, no imports): rescan only
    when it changes."""
    return tuple(
        (str(path), _code_mtimes(path))
        for folder in folders
        if folder.is_dir()
        for path in _candidates(folder)
    )


def unscannable(source: dict[str, str], error: str) -> Discovered:
    """What a source that could not be scanned at all (its import crashed or hung the discovery
    process) is registered as."""
    if source["kind"] == "entry_point":
        return Discovered(
            _safe_name(source["name"]), "entry_point", source["value"], "", error=error, source=source
        )
    path, folder = Path(source["path"]), Path(source["folder"])
    entry_point = str((path / MANIFEST if source["kind"] == "native" else path).relative_to(folder))
    return Discovered(
        _safe_name(path.name if source["kind"] == "native" else path.stem),
        "folder",
        entry_point,
        str(folder),
        error=error,
        code_mtimes=_code_mtimes(path),
        source=source,
    )


def first_of_each_name(found: Iterable[Discovered]) -> dict[str, Discovered]:
    """Every plugin found, by name; the first place a name is found wins."""
    by_name: dict[str, Discovered] = {}
    for d in found:
        if d.name in by_name:
            if d.error is None and by_name[d.name].error is None:
                log.info(
                    "plugin %s found again at %s; keeping %s",
                    d.name,
                    d.entry_point,
                    by_name[d.name].entry_point,
                )
            continue
        by_name[d.name] = d
    return by_name


def discover(folders: list[Path]) -> dict[str, Discovered]:
    """Every plugin found, by name, imported in this process (the worker uses
    `plugin_host.discover_isolated` instead)."""
    return first_of_each_name(d for source in sources(folders) for d in scan_source(source))
