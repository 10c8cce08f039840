"""S3Proxy: the S3 API over a local folder, from Maven Central jars, for storage on `s3://`.

`s3proxy-pom.xml` names the artifact; Maven copies it and its runtime dependencies once into the
cache (`.cache/s3proxy-<version>/`), and every later start reuses them. The `filesystem-nio2`
backend keeps each bucket as a folder under `home/blobs/` and each object as a plain file (its
MD5, the ETag, in an extended attribute where the filesystem has them).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from clipforge_devstack.maven import fetch_jars, pom_version
from clipforge_devstack.paths import cache_dir, port_open
from clipforge_devstack.proc import pid_alive, stop_pid

POM = Path(__file__).with_name("s3proxy-pom.xml")

MAIN = "org.gaul.s3proxy.Main"

# S3's rule: a folder named otherwise is not a bucket to S3Proxy (requests get NoSuchBucket).
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

# The s3proxy jar ships no logback.xml, and logback's default is DEBUG on the console (every jclouds
# and Jetty step of every request): keep warnings, and the (shaded) Jetty line that names the port.
LOGBACK = """\
<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %.-1p %m [%c{0}]%n</pattern></encoder>
  </appender>
  <logger name="org.gaul.shaded.org.eclipse.jetty.server.AbstractConnector" level="INFO"/>
  <root level="WARN"><appender-ref ref="STDOUT"/></root>
</configuration>
"""


def s3proxy_version() -> str:
    return pom_version(POM, "s3proxy.version")


def libs_dir() -> Path:
    return cache_dir() / f"s3proxy-{s3proxy_version()}"


def fetch() -> Path:
    """Download the jars with Maven once; later calls return the cached folder."""
    return fetch_jars(POM, libs_dir().name, "S3Proxy")


@dataclass
class LocalS3:
    """One S3Proxy: `home` holds `blobs/` (a folder per bucket), `s3proxy.properties`,
    `logback.xml`, `s3proxy.log` and `s3proxy.pid`. It checks AWS signatures (v2 or v4) made
    with the one key pair below; `bucket` exists from the first start on."""

    home: Path
    port: int = 9000
    bucket: str = "clipforge"
    access_key: str = "clipforge"
    secret_key: str = "clipforge-secret"
    region: str = "us-east-1"
    heap: str = "256m"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def blobs(self) -> Path:
        return self.home / "blobs"

    @property
    def pidfile(self) -> Path:
        return self.home / "s3proxy.pid"

    @property
    def logfile(self) -> Path:
        return self.home / "s3proxy.log"

    def _properties(self) -> str:
        return "\n".join(
            [
                f"s3proxy.endpoint={self.endpoint}",
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.ignore-unknown-headers=true",
                f"s3proxy.identity={self.access_key}",
                f"s3proxy.credential={self.secret_key}",
                # `filesystem` (jclouds' own) is deprecated in 2.6; nio2 is S3Proxy's replacement.
                "jclouds.provider=filesystem-nio2",
                # Only the cloud backends use these, but S3Proxy refuses to start without them.
                "jclouds.identity=local",
                "jclouds.credential=local",
                f"jclouds.filesystem.basedir={self.blobs}",
                "",
            ]
        )

    def _java(self) -> list[str]:
        return [
            "java",
            f"-Xmx{self.heap}",
            "-Xms32m",
            "-XX:+UseSerialGC",  # one small heap, one client: no GC threads per core
            "-XX:TieredStopAtLevel=1",  # C1 only: starts sooner and ~25 MB smaller, fast enough here
            f"-Dlogback.configurationFile={self.home / 'logback.xml'}",
            "-cp",
            f"{fetch()}/*",
            MAIN,
            "--properties",
            str(self.home / "s3proxy.properties"),
        ]

    def init(self) -> None:
        self.create_bucket(self.bucket)
        (self.home / "s3proxy.properties").write_text(self._properties())
        (self.home / "logback.xml").write_text(LOGBACK)

    def env(self) -> dict[str, str]:
        """Settings that point clipforge's storage (`CLIPFORGE_STORAGE_URL=s3://...`) here."""
        return {
            "CLIPFORGE_S3_ENDPOINT": self.endpoint,
            "CLIPFORGE_S3_REGION": self.region,
            "CLIPFORGE_S3_ACCESS_KEY_ID": self.access_key,
            "CLIPFORGE_S3_SECRET_ACCESS_KEY": self.secret_key,
        }

    def create_bucket(self, name: str) -> None:
        """A bucket is a folder of `blobs/`: made here, it exists for a running server too."""
        if not BUCKET_NAME.fullmatch(name) or ".." in name:
            raise ValueError(f"{name!r} is not an S3 bucket name (3-63 of a-z 0-9 . -)")
        (self.blobs / name).mkdir(parents=True, exist_ok=True)

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def running(self) -> bool:
        return self.pid() is not None

    def answers(self) -> bool:
        """Whether S3Proxy answers HTTP (an unsigned request gets 403, which is an answer)."""
        try:
            with urllib.request.urlopen(self.endpoint + "/", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def start(self, timeout: float = 60) -> None:
        self.init()
        if self.running():
            return
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken by another program; set S3_PORT")
        with open(self.logfile, "ab") as log:  # the JVM keeps its own copy of the descriptor
            proc = subprocess.Popen(
                self._java(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the terminal reaches our supervisor, not the JVM
            )
        self.pidfile.write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while not self.answers():
            if proc.poll() is not None:
                self.pidfile.unlink(missing_ok=True)
                raise RuntimeError(f"S3Proxy exited with {proc.returncode}; see {self.logfile}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"S3Proxy did not answer on {self.port} in {timeout}s; see {self.logfile}")
            time.sleep(0.1)

    def stop(self, timeout: float = 15) -> None:
        stop_pid(self.pid(), self.pidfile, timeout=timeout, poll_s=0.1)

    def reset(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
