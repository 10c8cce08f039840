"""`python -m clipforge.admin`: the operator's commands.

- `init` (also `migrate`, `topics`): migrate the database and create the topics. Idempotent, so
  `make dev`, docker compose's init job and the tests all run it on every start.
- `dlq list [--topic T] [--since TIME] [--json]`: the dead letters, one line each.
- `dlq replay [--topic T] [--since TIME] [--offset N ...] [--dry-run]`: send them back to the
  topic they came from (after a fix); see `clipforge.redrive`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime

from clipforge.db.migrate import upgrade
from clipforge.messaging import ensure_topics
from clipforge.redrive import Letter, dlq_topics, read_letters, replay
from clipforge.settings import get_settings


def _timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m clipforge.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("init", "migrate the database and create the topics"),
        ("migrate", "migrate the database"),
        ("topics", "create the topics"),
    ):
        commands.add_parser(name, help=help_text)
    dlq = commands.add_parser("dlq", help="dead letters: list them, or replay them to their topic")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("--topic", help="only this topic's letters (clip.captured or clip.captured.dlq)")
    dlq.add_argument("--since", type=_timestamp, help="only letters given up at or after this ISO-8601 time")
    dlq.add_argument(
        "--offset", type=int, action="append", help="only the letter at this .dlq offset (repeatable)"
    )
    dlq.add_argument("--json", action="store_true", help="list: one JSON object per letter")
    dlq.add_argument("--dry-run", action="store_true", help="replay: say what would be sent, send nothing")
    return parser


def _line(item: Letter) -> str:
    letter = item.letter
    if letter is None:
        return f"{item.where}  (not a dead letter)"
    error = (letter.error.splitlines() or [""])[0][:100]
    whole = "truncated" if letter.truncated else "whole"
    return (
        f"{item.where}  {letter.occurred_at:%Y-%m-%d %H:%M:%S}  from {letter.topic}[{letter.partition}]"
        f"@{letter.offset}  {letter.service}  x{letter.attempts}  {letter.original_size} B {whole}  {error}"
    )


async def _dlq(args: argparse.Namespace) -> int:
    bootstrap = get_settings().kafka_bootstrap_servers
    letters = await read_letters(bootstrap, dlq_topics(args.topic), since=args.since)
    if args.offset:
        letters = [x for x in letters if x.offset in set(args.offset)]
    if args.action == "list":
        for item in letters:
            if args.json:
                body = item.letter.model_dump(mode="json") if item.letter else None
                print(json.dumps({"dlq": item.where, "letter": body}))
            else:
                print(_line(item))
        if not args.json:
            print(f"{len(letters)} dead letter(s)", file=sys.stderr)
        return 0
    if args.dry_run:
        for item in letters:
            print(("would replay " if item.original is not None else "cannot replay ") + _line(item))
        return 0
    replayed, skipped = await replay(bootstrap, letters)
    for item in replayed:
        print(f"replayed {_line(item)}")
    for item in skipped:
        print(f"not replayed (original not kept whole) {_line(item)}")
    print(f"{len(replayed)} replayed, {len(skipped)} not replayable", file=sys.stderr)
    return 0 if not skipped else 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    if args.command == "dlq":
        try:
            return asyncio.run(_dlq(args))
        except ValueError as exc:
            print(f"admin | {exc}", file=sys.stderr)
            return 2
    if args.command in ("init", "migrate"):
        upgrade(settings.database_url)
        print("admin | database schema is current", flush=True)
    if args.command in ("init", "topics"):
        created = asyncio.run(ensure_topics(settings.kafka_bootstrap_servers, settings.topic_partitions))
        print(f"admin | topics ready ({', '.join(created) or 'all existed'})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
