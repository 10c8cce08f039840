"""The API served in-process: httpx talks to the ASGI app directly, no socket."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from clipforge.settings import Settings
from clipforge_api.app import create_app
from tests.auth import bearer


@contextlib.asynccontextmanager
async def client_of(app: FastAPI, key: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app, with its admin key (CLIPFORGE_ADMIN_KEY), or `key`."""
    transport = httpx.ASGITransport(app=app)
    settings: Settings = app.state.settings
    headers = bearer(key or settings.admin_key.get_secret_value())
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as client:
        yield client


@contextlib.asynccontextmanager
async def api_on(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An API instance of its own (lifespan included: engine, broker, relay) with these settings."""
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_of(app) as client:
        yield client
