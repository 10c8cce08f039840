"""`python -m clipforge_devstack COMMAND`: the local stack without Docker.

dev      start Postgres and Kafka, migrate, create topics, run the services in the foreground
up       start Postgres and Kafka in the background
down     stop them
status   show what runs where
reset    stop them and delete their data
fetch    download the Kafka broker jars into the cache
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys

from clipforge_devstack import kafka
from clipforge_devstack.stack import Stack, services
from clipforge_devstack.supervisor import Supervisor


def log(msg: str) -> None:
    print(f"devstack | {msg}", flush=True)


def up(stack: Stack) -> list[str]:
    """Start whichever local servers the environment does not point elsewhere; return their names."""
    started = []
    if "DATABASE_URL" not in os.environ and not stack.postgres.running():
        log(f"starting Postgres on 127.0.0.1:{stack.postgres.port} ({stack.postgres.home})")
        stack.postgres.start()
        started.append("postgres")
    if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ and not stack.kafka.running():
        if not (kafka.libs_dir() / ".complete").exists():
            log(f"fetching Kafka {kafka.kafka_version()} from Maven Central (once)")
        log(f"starting Kafka on 127.0.0.1:{stack.kafka.port} ({stack.kafka.home})")
        stack.kafka.start()
        started.append("kafka")
    return started


def down(stack: Stack, which: list[str] | None = None) -> None:
    if which is None or "kafka" in which:
        log("stopping Kafka")
        stack.kafka.stop()
    if which is None or "postgres" in which:
        log("stopping Postgres")
        stack.postgres.stop()


def prepare(env: dict[str, str]) -> None:
    """Schema migrations and topics: idempotent, so every start runs them."""
    subprocess.run([sys.executable, "-m", "clipforge.admin", "init"], env={**os.environ, **env}, check=True)


async def dev(stack: Stack, runners: int) -> int:
    started = up(stack)
    try:
        env = stack.env()
        prepare(env)
        supervisor = Supervisor(services(env, runners))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        await supervisor.start()
        api_port = os.environ.get("API_PORT", "8000")
        log(
            f"clipforge is up: API http://localhost:{api_port}  docs http://localhost:{api_port}/api/docs"
            "  (Ctrl-C stops everything)"
        )
        await stop.wait()
        log("stopping services")
        await supervisor.stop()
    finally:
        if started:
            down(stack, started)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="clipforge-devstack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["dev", "up", "down", "status", "reset", "fetch"])
    parser.add_argument(
        "--runners",
        type=int,
        default=int(os.environ.get("RUNNERS", "1")),
        help="plugin-runner replicas for `dev` (default 1, or $RUNNERS)",
    )
    args = parser.parse_args(argv)
    stack = Stack.dev()
    if args.command == "dev":
        return asyncio.run(dev(stack, args.runners))
    if args.command == "up":
        up(stack)
        prepare(stack.env())
        log(f"Postgres: {stack.postgres.url}")
        log(f"Kafka: {stack.kafka.bootstrap}")
    elif args.command == "down":
        down(stack)
    elif args.command == "status":
        pg, kf = stack.postgres, stack.kafka
        print(f"postgres  {'running' if pg.running() else 'stopped'}  127.0.0.1:{pg.port}  {pg.home}")
        print(f"kafka     {'running' if kf.running() else 'stopped'}  127.0.0.1:{kf.port}  {kf.home}")
    elif args.command == "reset":
        stack.kafka.reset()
        stack.postgres.reset()
        log("data deleted")
    elif args.command == "fetch":
        print(kafka.fetch())
    return 0


if __name__ == "__main__":
    sys.exit(main())
