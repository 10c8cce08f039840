"""What browsers are told: security headers on every answer, CORS only for the origins named in
`CLIPFORGE_CORS_ORIGINS`, and the API's documentation behind a key unless `CLIPFORGE_PUBLIC_DOCS`."""

from __future__ import annotations

import json

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clipforge_api.auth import KeyStore, TooManyFailures, Unauthenticated
from clipforge_api.web_app import is_api

API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The web app: its own scripts and styles only; media and pictures from the API (same origin).
APP_CSP = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The documentation pages load Swagger UI, ReDoc and the AsyncAPI viewer from their CDNs.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com "
    "https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com; "
    "worker-src blob:; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset(
    {
        "/api/docs",
        "/api/docs/oauth2-redirect",
        "/api/redoc",
        "/api/openapi.json",
        "/api/asyncapi",
        "/api/asyncapi.json",
    }
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        csp = DOCS_CSP if path in DOCS_PATHS else API_CSP if is_api(path) else APP_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", csp)
                headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class DocsGuard:
    """The OpenAPI document, Swagger UI, ReDoc and the AsyncAPI page need a key (any role) unless
    the documentation is public; FastAPI serves them outside the routes' dependencies."""

    def __init__(self, app: ASGIApp, public: bool = False) -> None:
        self.app = app
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.public or scope["type"] != "http" or scope["path"] not in DOCS_PATHS:
            await self.app(scope, receive, send)
            return
        keys: KeyStore = scope["app"].state.keys
        authorization = Headers(scope=scope).get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        client = scope["client"][0] if scope.get("client") else "unknown"
        try:
            await keys.authenticate(client, token.strip() if scheme.lower() == "bearer" else None)
        except (Unauthenticated, TooManyFailures) as exc:
            status = 429 if isinstance(exc, TooManyFailures) else 401
            body = json.dumps({"detail": f"{exc} (or set CLIPFORGE_PUBLIC_DOCS=true)"}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            headers.append((b"www-authenticate", b"Bearer"))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
