"""schemathesis against the served OpenAPI document, every check (all are on unless
tests/e2e/schemathesis.toml turns one off for one operation, with the reason) in every phase: no request,
however malformed, gets a 5xx; every status is documented; every answer matches its schema;
schema-valid requests are accepted and schema-violating ones refused; `Allow` is exact.

The API under fuzz has a database of its own: the fuzzer's stateful phase enables, disables and
deletes plugins, which must not reach the other tests' registry.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from clipforge_devstack.paths import free_port
from clipforge_devstack.stack import python_service
from clipforge_devstack.supervisor import Supervisor
from tests.auth import ADMIN_KEY
from tests.e2e.conftest import wait_healthy
from tests.servers import Servers, fresh_database

pytestmark = pytest.mark.e2e


async def test_no_generated_request_gets_a_server_error(servers: Servers, tmp_path: Path) -> None:
    port = free_port()
    env = {
        "CLIPFORGE_MEDIA_DIR": str(tmp_path / "media"),
        "CLIPFORGE_ADMIN_KEY": ADMIN_KEY,
        "CLIPFORGE_AUTH_FAILURES_PER_MINUTE": "100000",  # the fuzzer sends wrong keys on purpose
        "DATABASE_URL": await fresh_database(servers.database_url),
        **servers.kafka_env("api"),
        "API_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    supervisor = Supervisor([python_service("api", "clipforge_api", env)], restart=False)
    await supervisor.start()
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_healthy(url)
        fuzzer = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{url}/api/openapi.json",
            "--header",
            f"Authorization: Bearer {ADMIN_KEY}",
            "--max-examples",
            "30",
            "--seed",
            "20261125",
            "--request-timeout",
            "10",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
        )
        output, _ = await fuzzer.communicate()
    finally:
        await supervisor.stop()
    report = output.decode(errors="replace")
    assert fuzzer.returncode == 0, report[-6000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated, report[-3000:]
    assert int(generated[1]) > 500
    assert generated[1] == generated[2], "every generated case passed"
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅\s+{phase}", report), f"the {phase} phase ran and passed:\n{report[-3000:]}"
