"""The test session's API keys: the admin key every stack and in-process API is started with
(CLIPFORGE_ADMIN_KEY), and the header that carries a key."""

from __future__ import annotations

import secrets

ADMIN_KEY = f"cf_test-admin-{secrets.token_hex(16)}"


def bearer(key: str = ADMIN_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
