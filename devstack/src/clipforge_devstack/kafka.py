"""Apache Kafka in KRaft mode (one node, broker and controller) from Maven Central jars.

`kafka-pom.xml` names the broker artifact and a logging backend; Maven copies them once into
the cache (`.cache/kafka-<version>/`), and every later start reuses them.

The broker is secured as a production one would be: clients log in with SASL/SCRAM (no
anonymous access), and the StandardAuthorizer lets each user do only what its ACLs allow
(`clipforge.admin init --acls` creates them; `clipforge.kafka_acls` lists them). The users and
their random passwords are made once per data folder and kept in `kafka-credentials.env` beside
it (mode 0600): `admin` (a super user: topics, ACLs, the tests' and operators' tools), one user
per service, and `subscriber`, read-only on the public topics.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from clipforge_devstack.maven import fetch_jars, pom_version
from clipforge_devstack.paths import cache_dir, port_open
from clipforge_devstack.proc import pid_alive, stop_pid

POM = Path(__file__).with_name("kafka-pom.xml")

LOG4J2 = """\
Configuration:
  Appenders:
    Console:
      name: STDOUT
      target: SYSTEM_OUT
      PatternLayout:
        pattern: "%d{HH:mm:ss.SSS} %p %m (%c{1})%n"
  Loggers:
    Logger:
      - name: kafka
        level: WARN
      - name: org.apache.kafka
        level: WARN
      - name: kafka.server.KafkaRaftServer
        level: INFO
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
"""


def kafka_version() -> str:
    return pom_version(POM, "kafka.version")


def libs_dir() -> Path:
    return cache_dir() / f"kafka-{kafka_version()}"


def fetch() -> Path:
    """Download the jars with Maven once; later calls return the cached folder."""
    return fetch_jars(POM, libs_dir().name, "the Kafka broker")


ADMIN = "admin"
SUBSCRIBER = "subscriber"
USERS = (ADMIN, "api", "runner", "metadata", SUBSCRIBER)
"""The broker's SASL users: the super user, one per service, the public topics' reader."""
SERVICE_USERS = {"api": "api", "plugin-runner": "runner", "metadata": "metadata"}
"""Each service's own user (the devstack's service names on the left)."""
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
SECURED = "users-created"
"""A file in the broker's home: its data was formatted with the users (not by an open broker)."""

CREDENTIALS_HEADER = """\
# Kafka users of the local stack (clipforge_devstack): one per service, an admin (super user) and
# a read-only subscriber for the public topics. Made once with this data folder; make reset
# deletes them. A subscriber logs in with KAFKA_SECURITY_PROTOCOL and KAFKA_SASL_MECHANISM below,
# KAFKA_SUBSCRIBER_USERNAME / KAFKA_SUBSCRIBER_PASSWORD, and a consumer group named subscriber-*.
"""


@dataclass(frozen=True)
class KafkaCredentials:
    """The SASL/SCRAM users of a local broker and how a client logs in as one of them."""

    passwords: Mapping[str, str]
    mechanism: str = "SCRAM-SHA-256"
    protocol: str = "SASL_PLAINTEXT"

    @classmethod
    def generate(cls) -> KafkaCredentials:
        return cls({user: secrets.token_urlsafe(24) for user in USERS})

    @classmethod
    def read(cls, path: Path) -> KafkaCredentials:
        values = {}
        for line in path.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not line.startswith("#"):
                values[name.strip()] = value.strip()
        try:
            passwords = {user: values[f"KAFKA_{user.upper()}_PASSWORD"] for user in USERS}
        except KeyError as exc:
            raise RuntimeError(f"{path} has no {exc}: delete it together with the Kafka data") from exc
        return cls(passwords, mechanism=values.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256"))

    def write(self, path: Path) -> None:
        """As an env file, readable by its owner only (it is created so, never widened)."""
        lines = [
            f"KAFKA_SECURITY_PROTOCOL={self.protocol}",
            f"KAFKA_SASL_MECHANISM={self.mechanism}",
        ]
        for user in (SUBSCRIBER, *(u for u in USERS if u != SUBSCRIBER)):
            lines += [
                f"KAFKA_{user.upper()}_USERNAME={user}",
                f"KAFKA_{user.upper()}_PASSWORD={self.passwords[user]}",
            ]
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(CREDENTIALS_HEADER + "\n".join(lines) + "\n")
        partial.rename(path)

    def env_for(self, user: str) -> dict[str, str]:
        """The settings a clipforge process (or any client) logs in as `user` with."""
        return {
            "KAFKA_SECURITY_PROTOCOL": self.protocol,
            "KAFKA_SASL_MECHANISM": self.mechanism,
            "KAFKA_USERNAME": user,
            "KAFKA_PASSWORD": self.passwords[user],
        }

    def scram_arguments(self) -> list[str]:
        """`kafka-storage format` arguments that store every user's SCRAM credentials."""
        return [
            f"--add-scram={mechanism}=[name={user},password={password}]"
            for user, password in self.passwords.items()
            for mechanism in MECHANISMS
        ]


def _jaas(module: str, user: str, password: str, *extra: str) -> str:
    return " ".join([module, "required", f'username="{user}"', f'password="{password}"', *extra]) + ";"


@dataclass
class LocalKafka:
    """One KRaft node: `home` holds `data/`, `server.properties`, `kafka.log` and `kafka.pid`;
    the users' credentials are in `credentials_file` (by default `kafka-credentials.env` beside
    `home`). `secure=False` makes an open broker of old: PLAINTEXT, no users, no ACLs."""

    home: Path
    port: int = 9092
    controller_port: int = 9093
    partitions: int = 6
    heap: str = "768m"
    secure: bool = True
    credentials_file: Path | None = None

    def __post_init__(self) -> None:
        if self.credentials_file is None:
            self.credentials_file = self.home.parent / "kafka-credentials.env"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def credentials_path(self) -> Path:
        assert self.credentials_file is not None
        return self.credentials_file

    @property
    def credentials(self) -> KafkaCredentials | None:
        """The users (None for an open broker); made on the first `init` of a new broker."""
        if not self.secure:
            return None
        path = self.credentials_path
        if self.formatted() and not (self.home / SECURED).exists():
            raise RuntimeError(
                f"Kafka's data in {self.home} is from an open broker (no users, no ACLs): delete it to"
                f" start over with a secured one (rm -r {self.home}, or make reset for all data)"
            )
        if path.exists():
            return KafkaCredentials.read(path)
        if self.formatted():
            raise RuntimeError(
                f"Kafka's data in {self.home} has users, but {path} that held their passwords is gone:"
                f" delete the data to start over (rm -r {self.home}, or make reset for all data)"
            )
        credentials = KafkaCredentials.generate()
        credentials.write(path)
        return credentials

    @property
    def pidfile(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def logfile(self) -> Path:
        return self.home / "kafka.log"

    def _listeners(self, credentials: KafkaCredentials | None) -> list[str]:
        if credentials is None:
            return [
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
            ]
        admin = credentials.passwords[ADMIN]
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
        plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
        controller_jaas = _jaas(plain, ADMIN, admin, f'user_{ADMIN}="{admin}"')
        return [
            # Clients (and the broker itself) log in with SCRAM; the users live in the metadata log.
            f"listeners=CLIENTS://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=CLIENTS://127.0.0.1:{self.port}",
            "listener.security.protocol.map=CLIENTS:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
            "inter.broker.listener.name=CLIENTS",
            f"sasl.enabled.mechanisms={','.join(MECHANISMS)}",
            f"sasl.mechanism.inter.broker.protocol={MECHANISMS[0]}",
            *(
                f"listener.name.clients.{m.lower()}.sasl.jaas.config={_jaas(scram, ADMIN, admin)}"
                for m in MECHANISMS
            ),
            # The controller cannot read SCRAM users (they are in the log it serves): it takes
            # PLAIN with the admin's password from this file, so it is no anonymous door either.
            "sasl.mechanism.controller.protocol=PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
            f"listener.name.controller.plain.sasl.jaas.config={controller_jaas}",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found=false",
            f"super.users=User:{ADMIN}",
        ]

    def _properties(self, credentials: KafkaCredentials | None) -> str:
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                "controller.listener.names=CONTROLLER",
                *self._listeners(credentials),
                f"log.dirs={self.home / 'data'}",
                f"num.partitions={self.partitions}",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=6",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "",
            ]
        )

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            "java",
            f"-Xmx{self.heap}",
            "-Xms128m",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.yaml'}",
            "-cp",
            f"{fetch()}/*",
            main,
            *args,
        ]

    def formatted(self) -> bool:
        return (self.home / "data" / "meta.properties").exists()

    def init(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        credentials = self.credentials
        properties = self.home / "server.properties"  # it holds the admin's password: owner only
        properties.touch(mode=0o600)
        properties.chmod(0o600)
        properties.write_text(self._properties(credentials))
        (self.home / "log4j2.yaml").write_text(LOG4J2)
        if self.formatted():
            return
        cluster_id = "-"
        while cluster_id.startswith("-"):  # as Kafka's own ids: a leading "-" confuses command lines
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",
                "-c",
                str(properties),
                *(credentials.scram_arguments() if credentials else []),
            ),
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        if credentials is not None:
            (self.home / SECURED).touch()

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def running(self) -> bool:
        return self.pid() is not None

    def start(self, timeout: float = 90) -> None:
        self.init()
        if self.running():
            return
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken by another program; set KAFKA_PORT")
        with open(self.logfile, "ab") as log:  # the JVM keeps its own copy of the descriptor
            proc = subprocess.Popen(
                self._java("kafka.Kafka", str(self.home / "server.properties")),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the terminal reaches our supervisor, not the JVM
            )
        self.pidfile.write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if proc.poll() is not None:
                raise RuntimeError(f"Kafka exited with {proc.returncode}; see {self.logfile}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Kafka did not listen on {self.port} in {timeout}s; see {self.logfile}")
            time.sleep(0.2)

    def stop(self, timeout: float = 30) -> None:
        stop_pid(self.pid(), self.pidfile, timeout=timeout, poll_s=0.2)

    def reset(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        if self.secure:
            self.credentials_path.unlink(missing_ok=True)
