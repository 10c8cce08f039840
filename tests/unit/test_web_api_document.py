"""The web app's client is typed from a committed copy of the OpenAPI document: it must be the
API's current one (`make docs` regenerates it; `npm run gen:api` in web/ then the types)."""

from __future__ import annotations

import json
from pathlib import Path

from clipforge_api.app import create_app

COMMITTED = Path(__file__).parents[2] / "web" / "src" / "api" / "openapi.json"


def test_the_web_app_s_copy_of_the_openapi_document_is_current() -> None:
    assert json.loads(COMMITTED.read_text()) == create_app().openapi(), (
        "web/src/api/openapi.json is stale: run `make docs`, then `npm run gen:api` in web/"
    )
