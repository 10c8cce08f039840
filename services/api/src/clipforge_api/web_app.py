"""The web app: its built files served at `/`, and `index.html` for every other path outside the
API, so that `/clips/<id>` opened from a bookmark reaches the app, whose router shows the page.

Hashed assets (`/assets/*`) never change under their name and are cached for a year; `index.html`
is revalidated every time, so a new build is picked up on the next load.
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
NOT_BUILT = PlainTextResponse("The web app is not built: run `make web` (make dev and make test do).", 404)


OPERATIONS_PATHS = frozenset({"/health", "/livez", "/readyz", "/metrics"})


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/") or path in OPERATIONS_PATHS


class WebApp:
    """In front of the API: a GET or HEAD outside `/api` and the health and metrics paths is
    the app's, anything else goes to the API untouched (so its 404s, 405s and `Allow` stay its
    own)."""

    def __init__(self, api: ASGIApp, directory: Path) -> None:
        self.api = api
        self.files = _AppFiles(directory)
        self.index = directory / "index.html"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or is_api(scope["path"]):
            await self.api(scope, receive, send)
        elif not self.index.is_file():  # looked at each time: a build made while the API runs counts
            await NOT_BUILT(scope, receive, send)
        else:
            await self.files(scope, receive, send)


class _AppFiles(StaticFiles):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.index = directory / "index.html"

    async def get_response(self, path: str, scope: Scope) -> Response:
        if not self.index.is_file():  # looked at each time: a build made while the API runs counts
            return PlainTextResponse(
                "The web app is not built: run `make web` (make dev and make test do).", 404
            )
        asset = scope["path"].startswith("/assets/")
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404:
                raise
            if asset:  # an old build's script asked for: a 404, not the page in its place
                return PlainTextResponse("no such asset (the app was rebuilt: reload the page)", 404)
            response = await super().get_response("index.html", scope)
        response.headers["Cache-Control"] = IMMUTABLE if asset else "no-cache"
        return response
