"""`Allow` that tells the truth (RFC 9110): OPTIONS on a resource answers 204 with every method
it supports, and so does a 405.

Starlette answers a wrong method with the `Allow` of the first route whose path matched, which
for `/api/v1/clips` (GET and POST are two routes) names only one of them.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


class AllowedMethods:
    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    def allowed(self, scope: Scope) -> list[str]:
        """Every method some route fully matches at this path (asked of the routes themselves,
        so included routers and their prefixes count as they do in dispatch)."""
        methods = [
            method
            for method in METHODS
            if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in self.routes)
        ]
        return sorted([*methods, "OPTIONS"]) if methods else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and (allowed := self.allowed(scope)):
            headers = [(b"allow", ", ".join(allowed).encode()), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                headers.append((b"allow", ", ".join(self.allowed(scope)).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_allow)
