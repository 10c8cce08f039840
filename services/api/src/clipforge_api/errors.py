"""Error bodies: every 4xx names the field and the reason, and never fails to render."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

MAX_ECHO_CHARS = 200


def _echo(value: Any) -> Any:
    """The offending input, when it is small and plain JSON (NaN, Infinity and huge or deep
    documents are not echoed back)."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return value if len(text) <= MAX_ECHO_CHARS else None


def _entry(error: Any) -> dict[str, Any]:
    entry = {
        "loc": list(error.get("loc", ())),
        "msg": str(error.get("msg", "")),
        "type": str(error.get("type", "")),
    }
    if "input" in error and (echo := _echo(error["input"])) is not None:
        entry["input"] = echo
    return entry


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"detail": [_entry(e) for e in exc.errors()]}, status.HTTP_422_UNPROCESSABLE_CONTENT
        )

    @app.exception_handler(IntegrityError)
    async def conflict(request: Request, exc: IntegrityError) -> JSONResponse:
        """A unique key taken by a concurrent request between our check and our insert."""
        return JSONResponse({"detail": "conflicts with an existing record"}, status.HTTP_409_CONFLICT)
