"""`python -m clipforge.admin`: the operator's commands.

- `init` (also `migrate`, `topics`): migrate the database and create the topics. Idempotent, so
  `make dev`, docker compose's init job and the tests all run it on every start. With `--acls`,
  also each service's and the subscriber's Kafka ACLs (`clipforge.kafka_acls`; as a super user).
- `acls [--user ROLE=NAME ...] [--dry-run]`: only the ACLs (or print them).
- `keys create --name N [--role viewer|uploader|admin]`: a new API key; its secret is printed once.
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

from clipforge.db.engine import make_engine, make_sessionmaker
from clipforge.db.migrate import upgrade
from clipforge.kafka_acls import DEFAULT_USERS, clipforge_acls, ensure_acls
from clipforge.keys import Role, add_key
from clipforge.messaging import ensure_topics
from clipforge.redrive import Letter, dlq_topics, read_letters, replay
from clipforge.settings import get_settings


def _timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _user(text: str) -> tuple[str, str]:
    role, sep, name = text.partition("=")
    if not sep or role not in DEFAULT_USERS or not name:
        raise argparse.ArgumentTypeError(f"ROLE=NAME with a role of {', '.join(DEFAULT_USERS)}")
    return role, name


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m clipforge.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("init", "migrate the database and create the topics"),
        ("migrate", "migrate the database"),
        ("topics", "create the topics"),
        ("acls", "create the Kafka ACLs of the services' and the subscriber's users"),
    ):
        command = commands.add_parser(name, help=help_text)
        if name in ("init", "acls"):
            command.add_argument(
                "--user",
                type=_user,
                action="append",
                default=[],
                metavar="ROLE=NAME",
                help="a role's Kafka user, when not the default ("
                + ", ".join(f"{r}={u}" for r, u in DEFAULT_USERS.items())
                + ")",
            )
        if name == "init":
            command.add_argument("--acls", action="store_true", help="also create the ACLs (see acls)")
        if name == "acls":
            command.add_argument("--dry-run", action="store_true", help="print them, change nothing")
    keys = commands.add_parser("keys", help="API keys: make one (its secret is printed once)")
    keys.add_argument("action", choices=["create"])
    keys.add_argument("--name", required=True, help="what the key is for")
    keys.add_argument("--role", choices=[r.value for r in Role], default=Role.ADMIN.value)
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
    settings = get_settings()
    letters = await read_letters(settings, dlq_topics(args.topic), since=args.since)
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
    replayed, skipped = await replay(settings, letters)
    for item in replayed:
        print(f"replayed {_line(item)}")
    for item in skipped:
        print(f"not replayed (original not kept whole) {_line(item)}")
    print(f"{len(replayed)} replayed, {len(skipped)} not replayable", file=sys.stderr)
    return 0 if not skipped else 1


async def _create_key(database_url: str, name: str, role: Role) -> str:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            _, secret = await add_key(session, name, role)
        return secret
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    if args.command == "keys":
        secret = asyncio.run(_create_key(settings.database_url, args.name, Role(args.role)))
        print(secret)
        print(
            f"admin | made {args.role} key {args.name!r}: use it as 'Authorization: Bearer <key>'",
            file=sys.stderr,
        )
        return 0
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
        created = asyncio.run(ensure_topics(settings, settings.topic_partitions))
        print(f"admin | topics ready ({', '.join(created) or 'all existed'})", flush=True)
    if args.command == "acls" or (args.command == "init" and args.acls):
        acls = clipforge_acls({**DEFAULT_USERS, **dict(args.user)})
        if getattr(args, "dry_run", False):
            print("\n".join(str(acl) for acl in acls))
            return 0
        asyncio.run(ensure_acls(settings, acls))
        users = sorted({acl.user for acl in acls})
        print(f"admin | ACLs ready ({len(acls)} for {', '.join(users)})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
