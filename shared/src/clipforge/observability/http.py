"""A worker's own small HTTP server: `/metrics` for Prometheus, `/livez` and `/readyz` for what
runs it (compose's health checks, an orchestrator's probes).

It is served by uvicorn inside the worker's event loop, so `/livez` answering means that loop
is not stuck. Several replicas on one machine cannot share a port: a worker takes the first free
one from its setting upwards and says which (in its log, and in its status report).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

PORTS_TRIED = 100

Readiness = tuple[bool, dict[str, Any]]
"""Whether the process can do its job, and what each check found (`{"database": "ok", ...}`)."""
Probe = Callable[[], Awaitable[Readiness]]


def operations_app(registry: CollectorRegistry, probe: Probe) -> Starlette:
    async def livez(request: Request) -> JSONResponse:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> JSONResponse:
        ready, checks = await probe()
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
        )

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/livez", livez), Route("/readyz", readyz), Route("/metrics", metrics)])


def listen_on_first_free(host: str, port: int, tries: int = PORTS_TRIED) -> socket.socket:
    """A listening socket on `port`, or the next free port above it (port 0: any free one).
    Listening at once, not only bound, so two replicas starting together cannot both take it."""
    family, kind, proto, _, _ = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    for candidate in range(port, port + tries) if port else [0]:
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart reuses its port
        try:
            sock.bind((host, candidate))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        sock.setblocking(False)
        return sock
    raise OSError(errno.EADDRINUSE, f"no free port on {host} from {port} to {port + tries - 1}")


class _InLoopServer(uvicorn.Server):
    """uvicorn without its signal handlers: the worker (FastStream) owns SIGTERM and SIGINT,
    and stops this server on its way down."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class OperationsServer:
    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.address = ""  # host:port, once started
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> str:
        """Listen (on the first free port from `port`) and serve in the background; the address."""
        sock = listen_on_first_free(self.host, self.port)
        host, port = sock.getsockname()[:2]
        self.address = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
        config = uvicorn.Config(
            self.app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = _InLoopServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="operations-http")
        return self.address

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), 5)
        if not self._task.done():
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
