"""The one way tests wait for another process (a broker, a database, a service) to get somewhere:
no timing assertion, only a bound that turns a hang into a failure."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 30, every: float = 0.3) -> Any:
    """Repeat an async check until it returns something truthy; that value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        await asyncio.sleep(every)
