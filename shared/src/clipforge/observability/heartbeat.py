"""Every process reports itself in `service_instances` every few seconds: whether it is ready,
and what an operator wants to see of it (its HTTP address, its consumers' lag, its plugins).

The API's status page reads these rows, so no service has to reach another to be described,
and a process that stopped reporting shows up as stale instead of vanishing. A graceful stop
deletes the process's row; a killed one's row goes stale, then out of the page after an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.db.models import ServiceInstance

log = logging.getLogger(__name__)

Report = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
"""What a process says of itself: ready or not, and its detail (JSON)."""


class Heartbeat:
    def __init__(
        self, engine: AsyncEngine, *, service: str, instance: str, interval: float, report: Report
    ) -> None:
        self.engine = engine
        self.service = service
        self.instance = instance
        self.interval = interval
        self.report = report
        self.started_at = datetime.now(UTC)
        self._task: asyncio.Task[None] | None = None

    async def beat(self) -> None:
        """Report once: upsert this process's row (its `seen_at` is the database's clock, the
        one the status page compares it with)."""
        ready, detail = await self.report()
        values = {"service": self.service, "ready": ready, "detail": detail, "started_at": self.started_at}
        upsert = (
            insert(ServiceInstance)
            .values(instance=self.instance, seen_at=func.now(), **values)
            .on_conflict_do_update(
                index_elements=[ServiceInstance.instance], set_={**values, "seen_at": func.now()}
            )
        )
        async with asyncio.timeout(self.interval), self.engine.begin() as conn:
            await conn.execute(upsert)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="heartbeat")

    async def _run(self) -> None:
        failing = False
        while True:
            try:
                await self.beat()
                failing = False
            except Exception as exc:  # the database away: the row goes stale, which is the truth
                if not failing:
                    log.warning(
                        "%s cannot report itself (%s); retrying every %gs", self.instance, exc, self.interval
                    )
                failing = True
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """Stop reporting and remove the row: a process that stopped on purpose is not stale."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2), self.engine.begin() as conn:
                await conn.execute(delete(ServiceInstance).where(ServiceInstance.instance == self.instance))
