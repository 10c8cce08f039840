"""Request body size limit, enforced before the body reaches parsing (or much memory)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class BodySizeLimit:
    """Reads the body up to the limit before the app sees it, so both a declared and a
    chunked (undeclared) oversize body get a clean 413."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES, streamed: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed = streamed or {}
        """Paths whose bodies (uploads) stream through unbuffered, with a limit of their own.
        They must declare their length (411 otherwise), which the server then holds them to."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and not declared.isdigit():
            await _reject(send, 400, "Content-Length must be a whole number")
            return
        if (limit := self.streamed.get(scope["path"])) is not None:
            if declared is None:
                await _reject(send, 411, "an upload must declare its Content-Length")
            elif int(declared) > limit:
                await _reject(send, 413, f"upload over {limit} bytes")
            else:
                await self.app(scope, receive, send)
            return
        if declared is not None and int(declared) > self.max_bytes:
            await _reject(send, 413, f"request body over {self.max_bytes} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _reject(send, 413, f"request body over {self.max_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reject(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
