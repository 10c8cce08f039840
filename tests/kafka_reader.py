"""An outside subscriber, as any user of the public topics would write one: a plain aiokafka
consumer with no group, reading whole topics from the start."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer


class KafkaReader:
    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._consumers: list[AIOKafkaConsumer] = []

    async def wait_for(
        self, topic: str, match: Callable[[dict[str, Any]], bool], *, count: int = 1, timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """Read `topic` from the beginning until `count` JSON events satisfy `match`."""
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=self._bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self._consumers.append(consumer)
        await consumer.start()
        found: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while len(found) < count:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for record in records:
                        event = json.loads(record.value)
                        event["_key"] = record.key.decode() if record.key else None
                        if match(event):
                            found.append(event)
        return found

    async def close(self) -> None:
        for consumer in self._consumers:
            await consumer.stop()
