"""Postgres 15 from Debian's server binaries, in a data folder the repo owns.

Postgres refuses to run as root, so when we are root every server command runs as the
`postgres` system user, and the data folder must be reachable by that user: a checkout under a
private folder (mode 700, as `mktemp -d` makes) is not, so then the data lives under /var/tmp
and a symlink in the repo points at it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from clipforge_devstack.paths import port_open
from clipforge_devstack.proc import chown_tree, is_root, run

PG_USER = "postgres"


def pg_bindir() -> Path:
    env = os.environ.get("PG_BINDIR")
    candidates = [Path(env)] if env else []
    candidates += [Path("/usr/lib/postgresql/15/bin")]
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).resolve().parent)
    for c in candidates:
        if (c / "pg_ctl").exists() and (c / "initdb").exists():
            return c
    raise RuntimeError(
        "Postgres server binaries not found: install Debian's postgresql-15 "
        "(make bootstrap does it) or set PG_BINDIR"
    )


def _reachable_by_postgres(path: Path) -> bool:
    probe = path
    while not probe.exists():
        probe = probe.parent
    return run(["test", "-x", str(probe)], user=PG_USER, check=False).returncode == 0


@dataclass
class LocalPostgres:
    """One Postgres cluster: `home` holds `data/` and `postgres.log`."""

    home: Path
    port: int = 5432
    user: str = "clipforge"
    password: str = "clipforge"
    database: str = "clipforge"
    durable: bool = True  # tests and bench turn fsync off: their data is thrown away

    def __post_init__(self) -> None:
        self.bindir = pg_bindir()

    @property
    def data(self) -> Path:
        return self._real_home() / "data"

    @property
    def logfile(self) -> Path:
        return self._real_home() / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def _real_home(self) -> Path:
        return self.home.resolve() if self.home.is_symlink() else self.home

    def _prepare_home(self) -> None:
        if self.home.exists():
            return
        if is_root() and not _reachable_by_postgres(self.home.parent):
            digest = hashlib.sha1(str(self.home).encode()).hexdigest()[:12]
            outside = Path("/var/tmp") / f"clipforge-pg-{digest}"
            outside.mkdir(parents=True, exist_ok=True)
            self.home.parent.mkdir(parents=True, exist_ok=True)
            self.home.symlink_to(outside)
        else:
            self.home.mkdir(parents=True)
        if is_root():
            chown_tree(self._real_home(), PG_USER)

    def _pg(self, tool: str, *args: str, check: bool = True) -> str:
        result = run([str(self.bindir / tool), *args], user=PG_USER, check=check)
        return result.stdout + result.stderr

    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialized():
            return
        self._prepare_home()
        with tempfile.NamedTemporaryFile("w", delete=False, suffix=".pw") as pw:
            pw.write(self.password + "\n")
        os.chmod(pw.name, 0o644)
        try:
            self._pg(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                self.user,
                f"--pwfile={pw.name}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-instructions",
            )
        finally:
            os.unlink(pw.name)
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": "''",
            "max_connections": "200",
            "shared_buffers": "'256MB'",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        with open(self.data / "postgresql.auto.conf", "a") as conf:
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())

    def running(self) -> bool:
        if not self.initialized():
            return False
        out = self._pg("pg_ctl", "-D", str(self.data), "status", check=False)
        return "server is running" in out

    def start(self) -> None:
        self.init()
        if self.running():
            return
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken by another program; set POSTGRES_PORT")
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port}",
            "start",
        )
        self._ensure_database()

    def _ensure_database(self) -> None:
        env = {"PGPASSWORD": self.password}
        psql = [
            str(self.bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            "postgres",
            "-tAc",
        ]
        deadline = time.monotonic() + 30
        while True:
            probe = run(
                [*psql, f"SELECT 1 FROM pg_database WHERE datname='{self.database}'"], env=env, check=False
            )
            if probe.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if probe.stdout.strip() != "1":
            run([*psql, f'CREATE DATABASE "{self.database}"'], env=env)

    def stop(self) -> None:
        if self.running():
            self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def reset(self) -> None:
        self.stop()
        real = self._real_home()
        if self.home.is_symlink():
            self.home.unlink()
        shutil.rmtree(real, ignore_errors=True)
