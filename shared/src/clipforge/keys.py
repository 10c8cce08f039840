"""API keys: roles, secrets, and how they are stored (the SHA-256 of the secret, never the secret).

A key's secret is 32 random bytes (`cf_` + URL-safe base64), so a plain SHA-256 is as strong as a
slow password hash would be, and lets a request be checked by one indexed lookup. The secret is
shown once, when the key is made.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clipforge.db.models import ApiKey

PREFIX = "cf_"
MIN_GIVEN_KEY_CHARS = 32  # a key given by an operator (CLIPFORGE_ADMIN_KEY) is at least this long


class Role(StrEnum):
    VIEWER = "viewer"  # reads clips, plugins, media
    UPLOADER = "uploader"  # and creates, changes and uploads clips
    ADMIN = "admin"  # everything: plugins, configuration, backfill, reprocess, delete, keys

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def covers(self, needed: Role) -> bool:
        return self.rank >= needed.rank


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def add_key(
    session: AsyncSession, name: str, role: Role, secret: str | None = None
) -> tuple[ApiKey, str]:
    """A new key (in the caller's transaction) and its secret, which is not stored."""
    secret = secret or new_secret()
    key = ApiKey(name=name, role=role.value, prefix=secret[:10], secret_sha256=digest(secret))
    session.add(key)
    await session.flush()
    return key, secret


async def ensure_admin_key(session: AsyncSession, secret: str, name: str = "CLIPFORGE_ADMIN_KEY") -> ApiKey:
    """Make sure `secret` is an admin key (the operator's bootstrap key); idempotent."""
    if len(secret) < MIN_GIVEN_KEY_CHARS:
        raise ValueError(f"CLIPFORGE_ADMIN_KEY must be at least {MIN_GIVEN_KEY_CHARS} characters")
    found = await session.scalar(select(ApiKey).where(ApiKey.secret_sha256 == digest(secret)))
    if found is not None:
        found.role = Role.ADMIN.value
        return found
    key, _ = await add_key(session, name, Role.ADMIN, secret)
    return key
