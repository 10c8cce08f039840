"""The event contract for subscribers: the AsyncAPI document, as JSON and as a readable page."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from faststream.specification import get_asyncapi_html

from clipforge import __version__
from clipforge.events.asyncapi import asyncapi_json

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class _Document:
    """What FastStream's page renderer reads of a specification."""

    text: str
    title: str = "clipforge events"

    def to_json(self) -> str:
        return self.text


@lru_cache
def _document(version: str) -> str:
    return asyncapi_json(version)


@router.get("/api/asyncapi.json")
async def asyncapi_document() -> Response:
    return Response(_document(__version__), media_type="application/json")


@router.get("/api/asyncapi", response_class=HTMLResponse)
async def asyncapi_page() -> str:
    return get_asyncapi_html(_Document(_document(__version__)), try_it_out_path=None)  # type: ignore[arg-type]
