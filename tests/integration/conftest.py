"""The API in-process (its lifespan included) against the session's real servers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from clipforge.settings import Settings
from clipforge_api.app import create_app
from tests.integration.inprocess import client_of


@pytest.fixture(scope="session")
async def api_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def api(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(api_app) as client:
        yield client
