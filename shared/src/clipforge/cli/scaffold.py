"""`clipforge plugin new`: a plugin project made from the templates in `templates/` (package
data: they ship in the wheel).

A template's file name says where it goes: `NAME` becomes the plugin's name, a leading `dot-`
a dot, and `.tmpl` goes (every template ends so, so that no tool mistakes one for source: ruff,
mypy, pytest and cargo never look inside). Its text is a `string.Template`: `$$` for a dollar.
`python/` makes a Python plugin; `native/` and then `rust/` or `cpp/` a native one.
"""

from __future__ import annotations

import keyword
import os
import re
import string
import sys
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from packaging.version import Version

import clipforge
from clipforge.sdk.plugin import NAME_PATTERN

LANGUAGES = {"rust": "Rust", "cpp": "C++"}
BUILD = {"rust": "cargo build --release", "cpp": "cmake -S . -B build && cmake --build build"}
EXECUTABLE = {"rust": "target/release/{name}", "cpp": "build/{name}"}
# fmt: off
RUST_KEYWORDS = frozenset({
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv",
    "try", "typeof", "unsized", "virtual", "yield",
})
# fmt: on


class ScaffoldError(Exception):
    """The plugin cannot be made as asked; the message says why."""


def name_problem(name: str, native: str | None) -> str | None:
    """Why `name` cannot be a new plugin's name, or None. The registry's rule (snake_case, 2-64
    characters), and whatever the name becomes: a Python module, or a Rust crate."""
    if not re.fullmatch(NAME_PATTERN, name):
        return "a plugin name is snake_case: a lowercase letter, then 1-63 lowercase letters, digits or _"
    if native is None:
        if keyword.iskeyword(name):
            return f"{name!r} is a Python keyword, and the plugin's module is named after it"
        if name in sys.stdlib_module_names:
            return f"{name!r} is a module of Python's standard library, which the plugin's module would hide"
    elif native == "rust" and name in RUST_KEYWORDS:
        return f"{name!r} is a Rust keyword, and the crate is named after it"
    return None


def sdk_range(version: str = clipforge.__version__) -> str:
    """The SDK versions a new plugin declares: from this one to the next major version."""
    release = (*Version(version).release, 0)
    return f">={release[0]}.{release[1]},<{release[0] + 1}"


def new_plugin(name: str, parent: Path, native: str | None = None) -> Path:
    """Make the project `parent/name` for a plugin named `name` (Python, or native in the
    language `native`); returns its folder."""
    if problem := name_problem(name, native):
        raise ScaffoldError(problem)
    target = parent / name
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(f"{target} exists and is not an empty folder")
    values = {
        "name": name,
        "class_name": "".join(part.capitalize() for part in name.split("_")),
        "display_name": name.replace("_", " ").title(),
        "dist_name": name.replace("_", "-"),
        "sdk": sdk_range(),
    }
    root = files("clipforge.cli") / "templates"
    if native is None:
        kinds = ["python"]
    else:
        executable = EXECUTABLE[native].format(name=name)
        values |= {
            "plugin_type": native,
            "language": LANGUAGES[native],
            "build": BUILD[native],
            "executable": executable,
            "schema_line": _schema_line(target),
        }
        kinds = ["native", native]
    target.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        _render(root / kind, target, values)
    return target


def _render(folder: Traversable, target: Path, values: dict[str, str]) -> None:
    for entry in folder.iterdir():
        if entry.is_dir():
            _render(entry, target / entry.name, values)
            continue
        if not entry.name.endswith(".tmpl"):
            continue
        name = entry.name.removesuffix(".tmpl").replace("NAME", values["name"])
        if name.startswith("dot-"):
            name = "." + name.removeprefix("dot-")
        target.mkdir(parents=True, exist_ok=True)
        (target / name).write_text(string.Template(entry.read_text()).substitute(values))


def _schema_line(target: Path) -> str:
    """plugin.json's `$schema` line: where clipforge's `docs/plugin.schema.json` is, relative to
    the new plugin inside a clipforge checkout, else as a file URI; nothing when clipforge is
    installed without its docs (its README says where the schema is)."""
    for folder in Path(clipforge.__file__).resolve().parents:
        schema = folder / "docs" / "plugin.schema.json"
        if schema.is_file():
            inside = target.resolve().is_relative_to(folder)
            where = os.path.relpath(schema, target.resolve()) if inside else schema.as_uri()
            return f'  "$schema": "{where}",\n'
    return ""
