"""A lean HTTP/1.1 keep-alive client for load: the load generator shares the machine's two
cores with the server, so it must cost as little as possible (httpx costs several times more)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

BENCH_KEY = f"cf_bench-admin-{secrets.token_hex(16)}"
"""The bench's admin key: the API under test is started with it (CLIPFORGE_ADMIN_KEY)."""


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def post_json(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {BENCH_KEY}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


async def closed_loop(
    host: str, port: int, path: str, body: bytes, *, concurrency: int, seconds: float, warmup: float = 1.0
) -> LoadResult:
    """`concurrency` clients, each sending its next request when the last one is answered."""
    result = LoadResult()
    connections = [await Connection.open(host, port) for _ in range(concurrency)]
    measuring_from = time.perf_counter() + warmup
    stop_at = measuring_from + seconds

    async def client(conn: Connection) -> None:
        while (now := time.perf_counter()) < stop_at:
            status, _ = await conn.post_json(path, body)
            if now >= measuring_from:
                if status >= 300:
                    result.errors += 1
                else:
                    result.latencies.append(time.perf_counter() - now)

    await asyncio.gather(*(client(c) for c in connections))
    result.elapsed = seconds
    for c in connections:
        c.close()
    return result


async def open_loop(
    host: str, port: int, path: str, make_body: Any, *, rate: float, seconds: float, connections: int = 64
) -> list[tuple[float, dict[str, Any]]]:
    """Requests sent on a fixed schedule (`rate` per second), whether or not earlier ones have
    been answered: the load a real fleet of clients makes. Returns (send time, response body)."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await Connection.open(host, port))
    sent: list[tuple[float, dict[str, Any]]] = []
    start = time.perf_counter()
    total = int(rate * seconds)

    async def one(i: int) -> None:
        at = time.time()  # its time on the schedule: waiting for a free connection is latency too
        conn = await pool.get()
        try:
            status, raw = await conn.post_json(path, make_body(i))
            if status < 300:
                sent.append((at, json.loads(raw)))
        finally:
            pool.put_nowait(conn)

    tasks = []
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().close()
    return sent


@dataclass
class Created:
    ids: list[str] = field(default_factory=list)
    errors: int = 0


async def closed_loop_count(
    host: str, port: int, path: str, body: bytes, *, concurrency: int, count: int
) -> Created:
    """Send `count` requests from `concurrency` clients as fast as answered; collect the ids made."""
    created = Created()
    connections = [await Connection.open(host, port) for _ in range(concurrency)]
    left = [count]

    async def client(conn: Connection) -> None:
        while left[0] > 0:
            left[0] -= 1
            status, raw = await conn.post_json(path, body)
            if status < 300:
                created.ids.append(str(json.loads(raw)["id"]))
            else:
                created.errors += 1

    await asyncio.gather(*(client(c) for c in connections))
    for c in connections:
        c.close()
    return created
