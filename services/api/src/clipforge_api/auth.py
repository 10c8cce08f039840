"""Who is calling: an API key (`Authorization: Bearer <key>`) and its role, on every route.

Each route declares the role it needs with one dependency (`Viewer`, `Uploader`, `Admin`); the
OpenAPI document carries it as `x-required-role` and as the bearer security scheme, so `/api/docs`
can "Authorize" and a test can check every route against its rule. A key is looked up by the
SHA-256 of its secret; what was found is remembered for a second, so a deleted key stops working
within a second on every replica. Failed attempts are counted per client: past the limit, a
client gets 429 for the rest of the minute (a request without any key is no guess, and is a plain
401).

A browser cannot put a header on `<video src>` or `<img src>`, so the media routes also take a
short-lived *media token* in the `access` query parameter (`POST /api/v1/media-token` makes one):
it names the key it was made with, an expiry and an HMAC keyed by that key's stored hash, so it
reads media only, for an hour at most, and dies with its key.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import hmac
import logging
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import ColumnElement, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import ApiKey
from clipforge.keys import Role, digest, ensure_admin_key

log = logging.getLogger(__name__)

CACHE_S = 1.0  # how long a lookup is trusted: a deleted key works at most this long after
WINDOW_S = 60.0
MEDIA_TOKEN_TTL_S = 3600

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key: `Authorization: Bearer <key>` (POST /api/v1/keys makes one).",
)


class Unauthenticated(Exception):
    """No key, or not a key we know (a 401)."""


class Forbidden(Exception):
    """A key whose role is too weak for the route (a 403)."""


class TooManyFailures(Exception):
    """Too many failed attempts from this client (a 429 with Retry-After)."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed attempts; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Caller:
    key_id: uuid.UUID
    name: str
    role: Role
    signing_key: bytes = field(repr=False, default=b"")  # the key's stored hash: signs media tokens


current_role: contextvars.ContextVar[Role | None] = contextvars.ContextVar("current_role", default=None)
"""The role of the request being answered (response models hide admin-only fields by it)."""


def is_admin() -> bool:
    return current_role.get() is Role.ADMIN


class FailureLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def check(self, client: str) -> None:
        window = self.failures.get(client)
        if not window:
            return
        now = time.monotonic()
        while window and window[0] <= now - WINDOW_S:
            window.popleft()
        if len(window) >= self.per_minute:
            raise TooManyFailures(max(1, int(window[0] + WINDOW_S - now) + 1))

    def failed(self, client: str) -> None:
        self.failures[client].append(time.monotonic())
        if len(self.failures) > 10_000:  # forget the quiet ones; memory stays bounded
            for quiet in [c for c, w in self.failures.items() if not w][:5_000]:
                del self.failures[quiet]


class KeyStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], failures_per_minute: int) -> None:
        self.sessions = sessions
        self.limiter = FailureLimiter(failures_per_minute)
        self.cache: dict[str, tuple[Caller | None, float]] = {}

    async def ensure_admin(self, secret: str) -> None:
        for _ in range(3):  # another replica starting at the same moment may insert it first
            try:
                async with self.sessions() as session, session.begin():
                    await ensure_admin_key(session, secret)
                return
            except sa_exc.IntegrityError:
                continue

    async def authenticate(self, client: str, token: str | None) -> Caller:
        if not token:  # not a guess: nothing to limit
            raise Unauthenticated("an API key is required: Authorization: Bearer <key>")
        self.limiter.check(client)  # past the limit, no key is even looked at: guessing stops
        hashed = digest(token)
        caller = await self._lookup(hashed, ApiKey.secret_sha256 == hashed)
        if caller is None:
            self.limiter.failed(client)
            raise Unauthenticated("not a valid API key")
        return caller

    async def authenticate_media(self, client: str, token: str) -> Caller:
        """The caller a media token (`access=`) was made for, if it is genuine and unexpired."""
        self.limiter.check(client)
        key_id, expires, mac = _parse_media_token(token)
        caller = None
        if key_id is not None and expires > time.time():
            caller = await self._lookup(key_id.hex, ApiKey.id == key_id)
        if caller is None or not hmac.compare_digest(
            mac, _media_mac(caller.signing_key, caller.key_id, expires)
        ):
            self.limiter.failed(client)
            raise Unauthenticated("not a valid or current media token")
        return caller

    async def _lookup(self, cache_key: str, condition: ColumnElement[bool]) -> Caller | None:
        """The key `condition` finds (by hash, or by id for a media token), remembered under
        `cache_key` for CACHE_S."""
        now = time.monotonic()
        cached = self.cache.get(cache_key)
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self.sessions() as session:
            key = await session.scalar(select(ApiKey).where(condition))
        caller = (
            None
            if key is None
            else Caller(key.id, key.name, Role(key.role), bytes.fromhex(key.secret_sha256))
        )
        if len(self.cache) > 10_000:
            self.cache.clear()
        self.cache[cache_key] = (caller, now + CACHE_S)
        return caller


def _media_mac(signing_key: bytes, key_id: uuid.UUID, expires: int) -> str:
    mac = hmac.new(signing_key, f"media:{key_id.hex}:{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def media_token(caller: Caller, now: float | None = None) -> tuple[str, int]:
    """A token that reads media as `caller` until the returned expiry (Unix seconds)."""
    expires = int(now if now is not None else time.time()) + MEDIA_TOKEN_TTL_S
    return f"{caller.key_id.hex}.{expires}.{_media_mac(caller.signing_key, caller.key_id, expires)}", expires


def _parse_media_token(token: str) -> tuple[uuid.UUID | None, int, str]:
    key_hex, _, rest = token.partition(".")
    expires, _, mac = rest.partition(".")
    try:
        return uuid.UUID(hex=key_hex), int(expires), mac
    except ValueError:
        return None, 0, ""


def requires(role: Role) -> Callable[..., Awaitable[Caller]]:
    async def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> Caller:
        keys: KeyStore = request.app.state.keys
        client = request.client.host if request.client else "unknown"
        caller = await keys.authenticate(client, credentials.credentials if credentials else None)
        if not caller.role.covers(role):
            raise Forbidden(
                f"this needs the {role.value} role; the key {caller.name!r} is {caller.role.value}"
            )
        current_role.set(caller.role)
        request.state.caller = caller
        return caller

    check.required_role = role  # type: ignore[attr-defined]
    return check


def requires_media_viewer() -> Callable[..., Awaitable[Caller]]:
    """Viewer, by a bearer key or (for reads: `<video>`, `<img>`) a media token in `access`."""
    by_key = requires(Role.VIEWER)

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        access: Annotated[
            str | None,
            Query(max_length=200, description="a media token (POST /api/v1/media-token), for `<video src>`"),
        ] = None,
    ) -> Caller:
        if credentials is not None or access is None or request.method not in ("GET", "HEAD"):
            return await by_key(request, credentials)
        keys: KeyStore = request.app.state.keys
        client = request.client.host if request.client else "unknown"
        caller = await keys.authenticate_media(client, access)
        current_role.set(Role.VIEWER)  # a media token reads, whatever its key could do
        request.state.caller = caller
        return caller

    check.required_role = Role.VIEWER  # type: ignore[attr-defined]
    return check


Viewer = Depends(requires(Role.VIEWER))
MediaViewer = Depends(requires_media_viewer())
Uploader = Depends(requires(Role.UPLOADER))
Admin = Depends(requires(Role.ADMIN))

PUBLIC = "public"


def _strongest(dependant: Any) -> Role | None:
    """The strongest role a route's dependencies (its routers' included) require."""
    needed: list[Role] = []

    def walk(node: Any) -> None:
        role = getattr(node.call, "required_role", None)
        if role is not None:
            needed.append(role)
        for sub in node.dependencies:
            walk(sub)

    walk(dependant)
    return max(needed, key=lambda r: r.rank) if needed else None


def route_roles(app: FastAPI, public: set[str]) -> dict[tuple[str, str], str]:
    """(path, METHOD) -> the role it needs, or "public". Raises for a route that declares none
    and is not public: no route is open by omission."""
    roles = {}
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        role = _strongest(route.dependant)
        if role is None and route.path_format not in public:
            raise RuntimeError(f"route {route.path_format} declares no role (auth.Viewer/Uploader/Admin)")
        for method in route.methods or ():
            roles[str(route.path_format), method] = role.value if role else PUBLIC
    return roles


def document_roles(openapi: dict[str, Any], roles: dict[tuple[str, str], str]) -> None:
    """Write each operation's role into the OpenAPI document, as `x-required-role`."""
    for path, operations in openapi.get("paths", {}).items():
        for method, operation in operations.items():
            if (role := roles.get((path, method.upper()))) is not None:
                operation["x-required-role"] = role
