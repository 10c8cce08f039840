"""`clipforge`: the command line (installed with the clipforge package).

- `clipforge plugin new NAME [--native rust|cpp] [--dir PATH]`: a plugin project, with its tests
  (`clipforge.cli.scaffold`).
- `clipforge plugin run PATH [--clip clip.json] [--media f.mp4] [--config K=V ...] [--timeout S]`:
  one run of the plugin at PATH in the runner's sandboxed host process; prints what a clip would
  store for it, `_run` included.
- `clipforge plugin check PATH`: what would keep the plugin at PATH from loading, or from being
  configured, each problem with its file and field.
- `clipforge admin ...`: the operator's commands (`python -m clipforge.admin`).

`run` and `check` are the plugin runner's own code (`clipforge_plugin_runner.kit`), imported
when called: services depend on this package, never the other way round.

Exit codes: 0 done, 1 the plugin has problems (or its run failed), 2 the command is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from clipforge.cli.scaffold import BUILD, LANGUAGES, ScaffoldError, new_plugin

PATH_HELP = "a plugin: its .py file, its project or package folder, or a native plugin's folder"
NEEDS_RUNNER = (
    "clipforge plugin {command} runs the plugin runner's code: install clipforge-plugin-runner "
    "beside clipforge (in this repo, `make deps`)"
)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["admin"]:  # its own parser, whole
        from clipforge.admin import main as admin

        return admin(argv[1:])
    args = _parser().parse_args(argv)
    return int(args.action(args))


def _new(args: argparse.Namespace) -> int:
    try:
        folder = new_plugin(args.name, args.dir, args.native)
    except ScaffoldError as exc:
        print(f"clipforge: {exc}", file=sys.stderr)
        return 2
    print(f"made {folder}")
    build = f"{BUILD[args.native]}; " if args.native else ""
    print(f"next: cd {folder}; {build}pytest; clipforge plugin run .; clipforge plugin check .")
    return 0


def _run(args: argparse.Namespace) -> int:
    try:
        from clipforge_plugin_runner.kit.run import run_command
    except ModuleNotFoundError as exc:
        return _no_runner(exc, "run")
    config = dict(args.config or [])
    return run_command(
        args.path,
        clip=args.clip,
        media=args.media,
        config=config,
        timeout=args.timeout,
        artifacts=args.artifacts,
    )


def _check(args: argparse.Namespace) -> int:
    try:
        from clipforge_plugin_runner.kit.check import check_command
    except ModuleNotFoundError as exc:
        return _no_runner(exc, "check")
    return check_command(args.path)


def _no_runner(exc: ModuleNotFoundError, command: str) -> int:
    if not (exc.name or "").startswith("clipforge_plugin_runner"):
        raise exc
    print(f"clipforge: {NEEDS_RUNNER.format(command=command)}", file=sys.stderr)
    return 2


def config_pair(text: str) -> tuple[str, Any]:
    """`KEY=VALUE`, the value read as JSON when it is JSON (`5`, `true`, `[1]`), else as text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=VALUE")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clipforge", description="clipforge's command line")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{plugin,admin}")
    commands.add_parser("admin", help="the operator's commands: clipforge admin --help")
    plugin = commands.add_parser("plugin", help="make, run and check plugins").add_subparsers(
        dest="plugin_command", required=True
    )

    new = plugin.add_parser("new", help="make a plugin project, tests included")
    new.add_argument("name", help="the plugin's name: snake_case, 2-64 characters")
    new.add_argument("--native", choices=sorted(LANGUAGES), help="a native plugin in this language")
    new.add_argument("--dir", type=Path, default=Path(), help="where its folder goes (default: here)")
    new.set_defaults(action=_new)

    run = plugin.add_parser("run", help="run a plugin once, as a runner would; print its stored result")
    run.add_argument("path", type=Path, help=PATH_HELP)
    run.add_argument("--clip", type=Path, help="a clip as JSON, as the API shows one")
    run.add_argument("--media", type=Path, help="the clip's video file (the hook's clip_data['media_path'])")
    run.add_argument("--config", type=config_pair, nargs="+", action="extend", metavar="KEY=VALUE")
    run.add_argument("--timeout", type=float, help="its time limit in seconds (default: as a runner's)")
    run.add_argument("--artifacts", type=Path, help="keep the files it writes (writes_artifacts) here")
    run.set_defaults(action=_run)

    check = plugin.add_parser("check", help="check a plugin's code or plugin.json, metadata and settings")
    check.add_argument("path", type=Path, help=PATH_HELP)
    check.set_defaults(action=_check)
    return parser
