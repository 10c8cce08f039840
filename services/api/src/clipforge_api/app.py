"""The FastAPI application: routes, and the engine, broker and relay that live as long as it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter

from clipforge import __version__
from clipforge.db.engine import make_engine, make_sessionmaker
from clipforge.media.purge import sweep
from clipforge.media.storage import MediaStorage
from clipforge.messaging import make_broker
from clipforge.settings import Settings, get_settings
from clipforge_api.errors import install_error_handlers
from clipforge_api.importer import FolderImporter, watched_folders
from clipforge_api.limits import BodySizeLimit
from clipforge_api.methods import AllowedMethods
from clipforge_api.outbox import Relay
from clipforge_api.routes import clips, contracts, health, media, plugins, processing
from clipforge_api.schemas import JSON_VALUE_SCHEMA
from clipforge_api.unit_of_work import UnitOfWork


def operation_id(route: APIRoute) -> str:
    """`createClip`, `listPlugins`: the handler's name in camelCase, for readable generated clients."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def resources_v1() -> APIRouter:
    """Every resource of the API's version 1, under its one prefix."""
    v1 = APIRouter(prefix="/api/v1")
    for module in (media, clips, plugins, processing):
        v1.include_router(module.router)
    return v1


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
        broker = make_broker(settings.kafka_bootstrap_servers, client_id=f"api-{settings.instance}")
        app.state.engine = engine
        app.state.sessions = make_sessionmaker(engine)
        app.state.broker = broker
        app.state.relay = relay = Relay(app.state.sessions, broker)
        app.state.storage = MediaStorage.from_settings(settings)
        relay.start()  # connects to Kafka in the background: the API serves even while it is away
        background = [asyncio.create_task(sweep(app.state.sessions, app.state.storage), name="media-purge")]
        if folders := watched_folders(settings):
            importer = FolderImporter(
                lambda: UnitOfWork(app.state.sessions, relay), app.state.storage, folders
            )
            background.append(asyncio.create_task(importer.run(settings.watch_interval_s), name="import"))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await relay.stop()
            await broker.stop()
            await engine.dispose()

    app = FastAPI(
        title="clipforge",
        version=__version__,
        description="Gaming clips, enriched by plugins.",
        docs_url="/api/docs",
        redoc_url="/api/redoc",
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.include_router(health.router)
    app.include_router(contracts.router)
    app.include_router(resources_v1())
    app.add_middleware(BodySizeLimit, streamed={media.UPLOAD_PATH: settings.upload_max_bytes})
    app.add_middleware(AllowedMethods, routes=app.routes)

    install_error_handlers(app)
    _complete_openapi(app)
    return app


def _complete_openapi(app: FastAPI) -> None:
    """Put in the definitions pydantic cannot write (see `JSON_VALUE_SCHEMA`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generate()["components"]["schemas"]["JsonValue"] = JSON_VALUE_SCHEMA
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
