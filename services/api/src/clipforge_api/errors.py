"""Error bodies: every error is JSON, every 4xx names the field and the reason, and a database
that is away is a 503 the client can retry, not a crash. (`responses` documents them.)"""

from __future__ import annotations

import json
import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from clipforge.faults import is_transient
from clipforge.storable import value_problem
from clipforge_api.auth import Forbidden, TooManyFailures, Unauthenticated
from clipforge_api.form_stream import BadForm, NotMultipart
from clipforge_api.handlers.uploads import AlreadyUploaded, NotAVideoUpload
from clipforge_api.responses import RETRY_AFTER_S
from clipforge_api.unit_of_work import Conflict, Invalid, NotFound

log = logging.getLogger(__name__)

MAX_ECHO_CHARS = 200


def _echo(value: Any) -> Any:
    """The offending input, when it is small and plain JSON (NaN, Infinity, lone surrogates and
    huge or deep documents are not echoed back)."""
    if value_problem(value) is not None:
        return None
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return value if len(text) <= MAX_ECHO_CHARS else None


def _printable(text: str) -> str:
    """A field name or message as UTF-8 can carry it (a lone surrogate becomes `\\ud800`)."""
    return text.encode("utf-8", "backslashreplace").decode()


def _entry(error: Any) -> dict[str, Any]:
    entry = {
        "loc": [_printable(part) if isinstance(part, str) else part for part in error.get("loc", ())],
        "msg": _printable(str(error.get("msg", ""))),
        "type": str(error.get("type", "")),
    }
    if "input" in error and (echo := _echo(error["input"])) is not None:
        entry["input"] = echo
    return entry


def database_unavailable() -> JSONResponse:
    return JSONResponse(
        {"detail": "the database is unavailable; retry shortly"},
        status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"detail": [_entry(e) for e in exc.errors()]}, status.HTTP_422_UNPROCESSABLE_CONTENT
        )

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_404_NOT_FOUND)

    @app.exception_handler(Conflict)
    async def conflicting(request: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_409_CONFLICT)

    @app.exception_handler(Invalid)
    async def invalid_against_state(request: Request, exc: Invalid) -> JSONResponse:
        return JSONResponse({"detail": exc.entries}, status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, exc: Unauthenticated) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 401, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 403)

    @app.exception_handler(TooManyFailures)
    async def too_many(request: Request, exc: TooManyFailures) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 429, headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(BadForm)
    async def bad_form(request: Request, exc: BadForm) -> JSONResponse:
        code = 415 if isinstance(exc, NotMultipart) else 400
        return JSONResponse({"detail": str(exc)}, code)

    @app.exception_handler(NotAVideoUpload)
    async def not_a_video(request: Request, exc: NotAVideoUpload) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)

    @app.exception_handler(AlreadyUploaded)
    async def already_uploaded(request: Request, exc: AlreadyUploaded) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc)}, status.HTTP_409_CONFLICT, headers={"Location": exc.location}
        )

    @app.exception_handler(sa_exc.IntegrityError)
    async def conflict(request: Request, exc: sa_exc.IntegrityError) -> JSONResponse:
        """A unique key taken by a concurrent request between our check and our insert."""
        return JSONResponse({"detail": "conflicts with an existing record"}, status.HTTP_409_CONFLICT)

    async def infrastructure(request: Request, exc: Exception) -> JSONResponse:
        """The database (or the network to it) failed: a 503 while it is away, else a JSON 500."""
        if is_transient(exc):
            log.warning("%s %s: database unavailable (%s)", request.method, request.url.path, exc)
            return database_unavailable()
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status.HTTP_500_INTERNAL_SERVER_ERROR)

    for kind in (
        OSError,
        sa_exc.DBAPIError,
        sa_exc.TimeoutError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    ):
        app.add_exception_handler(kind, infrastructure)
