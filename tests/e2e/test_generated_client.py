"""The OpenAPI document is good enough to build on: a Python client generated from the running
API's document (openapi-python-client, no warnings) creates, reads and lists through its typed
functions, and its models carry our field names."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.auth import ADMIN_KEY, bearer
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

PACKAGE = "clipforge_generated_client"


@pytest.fixture
def generated(tmp_path: Path, stack: RunningStack) -> Iterator[Path]:
    document = httpx.get(f"{stack.api_url}/api/openapi.json", headers=bearer())
    (tmp_path / "openapi.json").write_bytes(document.content)
    yield tmp_path
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


async def generate(folder: Path) -> str:
    venv_bin = Path(sys.executable).parent
    process = await asyncio.create_subprocess_exec(
        str(venv_bin / "openapi-python-client"),
        "generate",
        "--path",
        "openapi.json",
        "--output-path",
        PACKAGE,
        "--meta",
        "none",
        "--config",
        str(Path(__file__).with_name("openapi-python-client.yaml")),
        cwd=folder,
        env={**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


async def test_a_generated_python_client_works_against_the_api(generated: Path, stack: RunningStack) -> None:
    report = await generate(generated)
    assert "Warning" not in report, report
    sys.path.insert(0, str(generated))
    try:
        client_module = module("client")
        create_clip = module("api.clips.create_clip")
        get_clip = module("api.clips.get_clip")
        list_plugins = module("api.plugins.list_plugins")
        models = module("models")
    finally:
        sys.path.remove(str(generated))

    client: Any = client_module.AuthenticatedClient(base_url=stack.api_url, token=ADMIN_KEY)
    anonymous: Any = client_module.Client(base_url=stack.api_url)
    refused = await list_plugins.asyncio_detailed(client=anonymous)
    assert refused.status_code == 401, "the API's security scheme is the client's too"
    body = models.ClipCreate.from_dict(
        {"title": "From a generated client", "file_path": "/clips/gen.mp4", "fps": 60}
    )
    created = await create_clip.asyncio_detailed(client=client, body=body)
    assert created.status_code == 201
    assert created.headers["location"].startswith("/api/v1/clips/")
    clip = created.parsed
    assert isinstance(clip, models.ClipOut)
    assert (clip.title, clip.fps) == ("From a generated client", 60)
    again = await get_clip.asyncio(client=client, clip_id=clip.id)
    assert isinstance(again, models.ClipOut)
    assert again.id == clip.id
    plugins = await list_plugins.asyncio(client=client)
    assert "highlight_detector" in {p.name for p in plugins.items}
    missing = await get_clip.asyncio_detailed(client=client, clip_id=uuid.UUID(int=0))
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.Problem), "errors are typed too"
