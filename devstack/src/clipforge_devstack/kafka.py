"""Apache Kafka in KRaft mode (one node, broker and controller) from Maven Central jars.

`kafka-pom.xml` names the broker artifact and a logging backend; Maven copies them once into
the cache (`.cache/kafka-<version>/`), and every later start reuses them.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from clipforge_devstack.paths import cache_dir, port_open
from clipforge_devstack.proc import pid_alive

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
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    assert match, "kafka.version missing from kafka-pom.xml"
    return match.group(1)


def libs_dir() -> Path:
    return cache_dir() / f"kafka-{kafka_version()}"


def fetch() -> Path:
    """Download the broker jars with Maven once; later calls return the cached folder."""
    target = libs_dir()
    if (target / ".complete").exists():
        return target
    if shutil.which("mvn") is None:
        raise RuntimeError("Maven (mvn) is needed to fetch the Kafka broker: run make bootstrap")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.run(
        [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    (staging / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


@dataclass
class LocalKafka:
    """One KRaft node: `home` holds `data/`, `server.properties`, `kafka.log` and `kafka.pid`."""

    home: Path
    port: int = 9092
    controller_port: int = 9093
    partitions: int = 6
    heap: str = "768m"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pidfile(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def logfile(self) -> Path:
        return self.home / "kafka.log"

    def _properties(self) -> str:
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
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
        (self.home / "server.properties").write_text(self._properties())
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
                str(self.home / "server.properties"),
            ),
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )

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
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.2)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        _reap(pid)
        self.pidfile.unlink(missing_ok=True)

    def reset(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def _reap(pid: int) -> None:
    """Collect the JVM's exit status when it is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
