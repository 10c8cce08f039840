"""API keys: made, listed and deleted by admins. A key's secret is answered once, when it is made."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func, select

from clipforge.db.models import ApiKey
from clipforge.keys import Role, add_key
from clipforge.storable import NonBlank
from clipforge_api.auth import Admin, Caller
from clipforge_api.deps import Session
from clipforge_api.responses import EVERY_OPERATION, responses
from clipforge_api.unit_of_work import Conflict, NotFound

router = APIRouter(prefix="/keys", tags=["keys"], responses=EVERY_OPERATION, dependencies=[Admin])


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "obs-uploader", "role": "uploader"}]}
    )

    name: Annotated[NonBlank, StringConstraints(min_length=1, max_length=100)] = Field(
        description="what the key is for: shown in lists"
    )
    role: Role = Field(description="viewer (reads), uploader (and adds clips), admin (everything)")


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    role: Role
    prefix: str = Field(description="the secret's first characters, to tell keys apart")
    created_at: datetime


class KeyCreated(KeyOut):
    key: str = Field(
        description="the secret: `Authorization: Bearer <key>`. Shown this once; only its hash is kept"
    )


class KeyPage(BaseModel):
    items: list[KeyOut]
    total: int


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=KeyCreated, responses=responses(location=201)
)
async def create_key(body: KeyCreate, session: Session, response: Response) -> dict[str, Any]:
    """A new key with a role. Its secret is in this answer and nowhere else."""
    async with session.begin():
        key, secret = await add_key(session, body.name, body.role)
    response.headers["Location"] = f"/api/v1/keys/{key.id}"
    return {**KeyOut.model_validate(key).model_dump(), "key": secret}


@router.get("", response_model=KeyPage)
async def list_keys(session: Session) -> dict[str, Any]:
    """Every key, newest first; never a secret."""
    keys = (await session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc()))).all()
    total = await session.scalar(select(func.count()).select_from(ApiKey))
    return {"items": keys, "total": total or 0}


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404, 409))
async def delete_key(key_id: uuid.UUID, session: Session, caller: Annotated[Caller, Admin]) -> Response:
    """Revoke the key: within a second, no API replica accepts it. Not the key making the
    request (a 409): an admin does not lock themselves out by mistake."""
    if key_id == caller.key_id:
        raise Conflict("this is the key making the request: delete it with another admin key")
    async with session.begin():
        key = await session.get(ApiKey, key_id)
        if key is None:
            raise NotFound(f"key {key_id} not found")
        await session.delete(key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
