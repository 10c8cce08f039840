"""`python -m clipforge.admin init`: migrate the database and create the topics.

Idempotent, so `make dev`, docker compose's init job and the tests all run it on every start.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from clipforge.db.migrate import upgrade
from clipforge.messaging import ensure_topics
from clipforge.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clipforge.admin")
    parser.add_argument("command", choices=["init", "migrate", "topics"])
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command in ("init", "migrate"):
        upgrade(settings.database_url)
        print("admin | database schema is current", flush=True)
    if args.command in ("init", "topics"):
        created = asyncio.run(ensure_topics(settings.kafka_bootstrap_servers, settings.topic_partitions))
        print(f"admin | topics ready ({', '.join(created) or 'all existed'})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
