"""The FastAPI application: routes, and the engine, broker and relay that live as long as it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from clipforge.db.engine import make_engine, make_sessionmaker
from clipforge.messaging import make_broker
from clipforge.settings import Settings, get_settings
from clipforge_api.errors import install_error_handlers
from clipforge_api.limits import BodySizeLimit
from clipforge_api.methods import AllowedMethods
from clipforge_api.outbox import Relay
from clipforge_api.routes import clips, health, plugins, processing


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
        relay.start()  # connects to Kafka in the background: the API serves even while it is away
        try:
            yield
        finally:
            await relay.stop()
            await broker.stop()
            await engine.dispose()

    app = FastAPI(
        title="clipforge",
        version="0.1.0",
        description="Gaming clips, enriched by plugins.",
        docs_url="/api/docs",
        redoc_url="/api/redoc",
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    app.include_router(clips.router)
    app.include_router(plugins.router)
    app.include_router(processing.router)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(AllowedMethods, routes=app.routes)

    install_error_handlers(app)
    return app
