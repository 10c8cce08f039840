"""The API served in-process: httpx talks to the ASGI app directly, no socket."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from clipforge.settings import Settings
from clipforge_api.app import create_app


@contextlib.asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


@contextlib.asynccontextmanager
async def api_on(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An API instance of its own (lifespan included: engine, broker, relay) with these settings."""
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_of(app) as client:
        yield client
