"""`python -m clipforge_devstack COMMAND`: the local stack without Docker.

dev      start Postgres and Kafka, migrate, create topics, run the services in the foreground
up       start Postgres and Kafka in the background
down     stop them
status   show what runs where
reset    stop them and delete their data
fetch    download the Kafka broker and S3Proxy jars into the cache
s3       start S3Proxy (an S3 API over .data/s3) in the background; print its settings
admin    `python -m clipforge.admin ARGS` on the local stack, logged in to Kafka as its admin

With CLIPFORGE_STORAGE_URL=s3://bucket/prefix and no CLIPFORGE_S3_ENDPOINT, dev and up also start
S3Proxy (port $S3_PORT, default 9000), create the bucket and point the services at it. The default
storage, a local folder, needs no server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from clipforge_devstack import kafka, s3proxy
from clipforge_devstack.paths import data_dir
from clipforge_devstack.s3proxy import LocalS3
from clipforge_devstack.stack import Stack, services
from clipforge_devstack.supervisor import Supervisor


def log(msg: str) -> None:
    print(f"devstack | {msg}", flush=True)


def storage_bucket() -> str | None:
    """The bucket of CLIPFORGE_STORAGE_URL when it is `s3://...`."""
    url = os.environ.get("CLIPFORGE_STORAGE_URL", "").strip()
    if not url.startswith("s3://"):
        return None
    return url.removeprefix("s3://").partition("/")[0]


def s3_bucket() -> str | None:
    """The bucket the local S3Proxy must serve: storage is on `s3://` and names no endpoint."""
    return None if os.environ.get("CLIPFORGE_S3_ENDPOINT") else storage_bucket()


def local_s3(port: int | None = None) -> LocalS3:
    """The `make dev` S3Proxy: data in `.data/s3/`, the bucket of CLIPFORGE_STORAGE_URL."""
    return LocalS3(
        data_dir() / "s3",
        port=port or int(os.environ.get("S3_PORT", "9000")),
        bucket=storage_bucket() or "clipforge",
    )


def start_s3(s3: LocalS3) -> None:
    s3.init()  # the bucket too, also for an S3Proxy that already runs
    if s3.running():
        return
    if not (s3proxy.libs_dir() / ".complete").exists():
        log(f"fetching S3Proxy {s3proxy.s3proxy_version()} from Maven Central (once)")
    log(f"starting S3Proxy on {s3.endpoint} ({s3.home})")
    s3.start()


def admin_key() -> tuple[str, Path | None]:
    """The API's first admin key: CLIPFORGE_ADMIN_KEY when set, else one made on the first start
    and kept in `.data/admin-key` (mode 0600); and that file, when it is where the key is."""
    given = os.environ.get("CLIPFORGE_ADMIN_KEY")
    if given:
        return given, None
    path = data_dir() / "admin-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"cf_{secrets.token_urlsafe(32)}\n")  # the form of the API's own keys
        log(f"made an admin API key (once): {path}")
    return path.read_text().strip(), path


def service_env(stack: Stack) -> dict[str, str]:
    """What the services are told: the stack's servers, S3Proxy's when storage is on it, the
    admin key, and (its ports being on loopback) public API documentation unless told otherwise."""
    env = stack.env()
    if s3_bucket() is not None:
        env.update(local_s3().env())
    env["CLIPFORGE_ADMIN_KEY"] = admin_key()[0]
    env.setdefault("CLIPFORGE_PUBLIC_DOCS", os.environ.get("CLIPFORGE_PUBLIC_DOCS", "true"))
    return env


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
    s3 = local_s3()
    if s3_bucket() is not None:
        if not s3.running():
            started.append("s3")
        start_s3(s3)  # also makes the bucket in an S3Proxy that already runs
    return started


def down(stack: Stack, which: list[str] | None = None) -> None:
    if which is None or "s3" in which:
        s3 = local_s3()
        if which is not None or s3.running():
            log("stopping S3Proxy")
            s3.stop()
    if which is None or "kafka" in which:
        log("stopping Kafka")
        stack.kafka.stop()
    if which is None or "postgres" in which:
        log("stopping Postgres")
        stack.postgres.stop()


def prepare(stack: Stack) -> None:
    """Schema migrations, topics and (on the local broker) ACLs: idempotent, so every start runs
    them. As the Kafka super user; S3 settings are not needed."""
    acls = ["--acls"] if stack.kafka_users() else []
    subprocess.run(
        [sys.executable, "-m", "clipforge.admin", "init", *acls],
        env={**os.environ, **stack.admin_env()},
        check=True,
    )


def credentials_note(stack: Stack) -> str:
    path = stack.kafka.credentials_path
    return f"Kafka users and passwords (subscriber's too): {path}" if path.exists() else ""


async def dev(stack: Stack, runners: int) -> int:
    started = up(stack)
    try:
        env = service_env(stack)
        prepare(stack)
        supervisor = Supervisor(services(env, runners, stack.kafka_users()))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        await supervisor.start()
        api_port = os.environ.get("API_PORT", "8000")
        log(
            f"clipforge is up: web app http://localhost:{api_port}  API http://localhost:{api_port}/api/v1"
            f"  docs http://localhost:{api_port}/api/docs  (Ctrl-C stops everything)"
        )
        runner_port = os.environ.get("RUNNER_HTTP_PORT", "8001")
        log(
            f"metrics: http://localhost:{api_port}/metrics, the workers' from http://localhost:{runner_port}/metrics"
            " (each logs where it serves)"
        )
        if stack.kafka_users():
            log(credentials_note(stack))
        _, key_file = admin_key()
        where = f"$(cat {key_file})" if key_file else "$CLIPFORGE_ADMIN_KEY"
        log(
            f'admin API key: export CLIPFORGE_KEY={where}; curl -H "Authorization: Bearer $CLIPFORGE_KEY" ...'
            " (the web app signs in with it too)"
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
    parser.add_argument("command", choices=["dev", "up", "down", "status", "reset", "fetch", "s3", "admin"])
    parser.add_argument(
        "--runners",
        type=int,
        default=int(os.environ.get("RUNNERS", "1")),
        help="plugin-runner replicas for `dev` (default 1, or $RUNNERS)",
    )
    parser.add_argument(
        "--port", type=int, default=None, help="S3Proxy's port for `s3` (default $S3_PORT or 9000)"
    )
    parser.add_argument("args", nargs=argparse.REMAINDER, help="admin: clipforge.admin's arguments")
    args = parser.parse_args(argv)
    stack = Stack.dev()
    if args.command == "admin":
        command = [sys.executable, "-m", "clipforge.admin", *args.args]
        return subprocess.run(command, env={**os.environ, **stack.admin_env()}, check=False).returncode
    if args.command == "dev":
        return asyncio.run(dev(stack, args.runners))
    if args.command == "up":
        up(stack)
        prepare(stack)
        log(f"Postgres: {stack.postgres.url}")
        log(f"Kafka: {stack.kafka.bootstrap}")
        if stack.kafka_users():
            log(credentials_note(stack))
        if s3_bucket() is not None:
            log(f"S3: {local_s3().endpoint}")
    elif args.command == "down":
        down(stack)
    elif args.command == "status":
        pg, kf, s3 = stack.postgres, stack.kafka, local_s3()
        print(f"postgres  {'running' if pg.running() else 'stopped'}  127.0.0.1:{pg.port}  {pg.home}")
        print(f"kafka     {'running' if kf.running() else 'stopped'}  127.0.0.1:{kf.port}  {kf.home}")
        if kf.credentials_path.exists():
            print(f"          SASL/SCRAM users and passwords: {kf.credentials_path}")
        if s3.running() or s3_bucket() is not None:
            print(f"s3        {'running' if s3.running() else 'stopped'}  127.0.0.1:{s3.port}  {s3.home}")
    elif args.command == "reset":
        local_s3().reset()
        stack.kafka.reset()
        stack.postgres.reset()
        log("data deleted")
    elif args.command == "fetch":
        print(kafka.fetch())
        print(s3proxy.fetch())
    elif args.command == "s3":
        s3 = local_s3(args.port)
        start_s3(s3)
        log(f"S3Proxy: {s3.endpoint}  bucket {s3.bucket}  (stop it with: make down)")
        for name, value in s3.env().items():
            print(f"export {name}={value}")
        if storage_bucket() is None:
            print(f"export CLIPFORGE_STORAGE_URL=s3://{s3.bucket}/media")
    return 0


if __name__ == "__main__":
    sys.exit(main())
