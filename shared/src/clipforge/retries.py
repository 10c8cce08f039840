"""Bounded retries for consumer work: wait out transient faults, give the rest a few attempts.

A consumer that retries a poisoned message forever blocks its partition; one that gives up on a
database restart loses work. `Retry.run` does both right: a transient fault (see
`clipforge.faults`) is retried with back-off for as long as it lasts, anything else is tried
`attempts` times and then raised as `GaveUp`, which the consumer turns into a dead letter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from clipforge.faults import is_transient

log = logging.getLogger(__name__)

T = TypeVar("T")


class GaveUp(Exception):
    """Work that kept failing with an error that is not transient."""

    def __init__(self, cause: BaseException, attempts: int) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause
        self.attempts = attempts


@dataclass(frozen=True)
class Retry:
    attempts: int = 3
    """Tries for an error that is not transient, before giving up."""
    first_backoff_s: float = 0.2
    max_backoff_s: float = 10.0

    async def run(self, work: Callable[[], Awaitable[T]], *, what: str) -> T:
        failures = 0
        backoff = self.first_backoff_s
        while True:
            try:
                return await work()
            except Exception as exc:  # CancelledError (shutdown) is a BaseException: it goes through
                transient = is_transient(exc)
                if not transient:
                    failures += 1
                    if failures >= self.attempts:
                        raise GaveUp(exc, failures) from exc
                log.warning(
                    "%s failed (%s%s: %s); retrying in %.1fs",
                    what,
                    "transient, " if transient else f"attempt {failures} of {self.attempts}, ",
                    type(exc).__name__,
                    str(exc).splitlines()[0] if str(exc) else "",
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
