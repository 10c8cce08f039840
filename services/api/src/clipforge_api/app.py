"""The FastAPI application: routes, and the engine, broker and relay that live as long as it."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute, APIRouter

from clipforge import __version__
from clipforge.db.engine import make_engine, make_sessionmaker
from clipforge.media.purge import sweep
from clipforge.media.storage import MediaStorage
from clipforge.messaging import make_broker
from clipforge.observability import metrics, tracing
from clipforge.settings import Settings, get_settings
from clipforge_api.auth import KeyStore, document_roles, route_roles
from clipforge_api.browser import DocsGuard, SecurityHeaders
from clipforge_api.errors import install_error_handlers
from clipforge_api.importer import FolderImporter, watched_folders
from clipforge_api.limits import BodySizeLimit
from clipforge_api.methods import AllowedMethods
from clipforge_api.operations import ApiOperations, instrument
from clipforge_api.outbox import Relay
from clipforge_api.routes import clips, contracts, health, keys, media, plugins, processing, status
from clipforge_api.schemas import JSON_VALUE_SCHEMA
from clipforge_api.unit_of_work import UnitOfWork
from clipforge_api.web_app import WebApp

log = logging.getLogger(__name__)


def operation_id(route: APIRoute) -> str:
    """`createClip`, `listPlugins`: the handler's name in camelCase, for readable generated clients."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def resources_v1() -> APIRouter:
    """Every resource of the API's version 1, under its one prefix."""
    v1 = APIRouter(prefix="/api/v1")
    for module in (media, clips, plugins, processing, keys, status):
        v1.include_router(module.router)
    return v1


PUBLIC_PATHS = {"/health", "/livez", "/readyz", "/metrics", "/api/asyncapi", "/api/asyncapi.json"}
"""Routes without a role: health, liveness, readiness and metrics (for probes and Prometheus; keep
the port off the internet), and the event contract's pages (which `DocsGuard` keeps behind a key
unless the documentation is public)."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
        broker = make_broker(
            settings, client_id=f"api-{settings.instance}", middlewares=(metrics.kafka_middleware("api"),)
        )
        app.state.engine = engine
        app.state.sessions = make_sessionmaker(engine)
        app.state.broker = broker
        app.state.relay = relay = Relay(app.state.sessions, broker)
        app.state.storage = MediaStorage.from_settings(settings)
        app.state.keys = KeyStore(app.state.sessions, settings.auth_failures_per_minute)

        relay.start()  # connects to Kafka in the background: the API serves even while it is away
        app.state.operations = operations = ApiOperations(engine, relay, broker, settings)
        operations.start()  # the pipeline's gauges, and this process's heartbeat
        background = [asyncio.create_task(sweep(app.state.sessions, app.state.storage), name="media-purge")]
        if admin_key := settings.admin_key.get_secret_value():
            ensure = functools.partial(app.state.keys.ensure_admin, admin_key)
            try:  # before serving, so the key works from the first request...
                await asyncio.wait_for(ensure(), timeout=5)
            except Exception:  # ...unless the database is away: then as soon as it is back
                log.warning("the admin key is not ensured yet (database away?); retrying in the background")
                background.append(
                    asyncio.create_task(settings.retry().run(ensure, what="ensuring the admin key"))
                )
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
            await operations.stop()
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
    app.state.settings = settings
    app.include_router(health.router)
    app.include_router(contracts.router)
    app.include_router(resources_v1())
    app.add_middleware(BodySizeLimit, streamed={media.UPLOAD_PATH: settings.upload_max_bytes})
    app.add_middleware(AllowedMethods, routes=app.routes)
    app.add_middleware(DocsGuard, public=settings.public_docs)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,  # none by default: browsers on other origins get no access
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Range", "If-None-Match", "If-Range"],
        expose_headers=["Location", "Content-Range", "Accept-Ranges", "ETag", "Retry-After"],
        max_age=600,
    )
    app.add_middleware(WebApp, directory=settings.web_dir)
    app.add_middleware(SecurityHeaders)
    instrument(app)  # outermost: every answer is counted, the middlewares' own included
    roles = route_roles(app, public=PUBLIC_PATHS)

    install_error_handlers(app)
    _complete_openapi(app, roles)
    if tracing.enabled():
        _trace_requests(app)
    return app


def _trace_requests(app: FastAPI) -> None:
    """A server span per request, continuing the `traceparent` the client sent (a new trace
    without one); its context is what the outbox stores with the events the request emits.
    Probes and scrapes are left out (they would be most of the spans), and so are the per-chunk
    send/receive spans (an upload would make thousands)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracing.provider(),
        excluded_urls="/health$,/livez$,/readyz$,/metrics$",
        exclude_spans=["receive", "send"],
    )


def _complete_openapi(app: FastAPI, roles: dict[tuple[str, str], str]) -> None:
    """Put in the definitions pydantic cannot write (see `JSON_VALUE_SCHEMA`), and each
    operation's role."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document["components"]["schemas"]["JsonValue"] = JSON_VALUE_SCHEMA
            document_roles(document, roles)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
