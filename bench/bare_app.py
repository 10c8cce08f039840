"""The ingest baseline: a minimal FastAPI + asyncpg app doing one INSERT per request, on the same
Postgres and served the same way (uvicorn, uvloop, no access log) as clipforge's API."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

DSN = os.environ["BARE_DSN"]


class ClipIn(BaseModel):
    title: str
    file_path: str
    game_name: str | None = None
    duration: float | None = None
    resolution: str | None = None
    fps: float | None = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(DSN, min_size=10, max_size=10)
    await app.state.pool.execute(
        "CREATE TABLE IF NOT EXISTS bare_clips (id uuid PRIMARY KEY, title text, file_path text,"
        " game_name text, duration float8, resolution text, fps float8, created_at timestamptz DEFAULT now())"
    )
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/clips", status_code=201)
async def create(clip: ClipIn) -> dict[str, str]:
    clip_id = uuid.uuid4()
    await app.state.pool.execute(
        "INSERT INTO bare_clips (id, title, file_path, game_name, duration, resolution, fps)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        clip_id,
        clip.title,
        clip.file_path,
        clip.game_name,
        clip.duration,
        clip.resolution,
        clip.fps,
    )
    return {"id": str(clip_id)}


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["BARE_PORT"]),
        log_config=None,
        access_log=False,
        loop="uvloop",
    )
