"""Request and response bodies. Every field is bounded, so bad input is a 422 naming the field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

RESERVED_METADATA_KEYS = frozenset({"plugins"})


def _no_nul(v: str) -> str:
    if "\x00" in v:
        raise ValueError("must not contain NUL characters")
    return v


def _aware(v: datetime | None) -> datetime | None:
    """Naive timestamps are taken as UTC, so every stored time is unambiguous."""
    if v is not None and v.tzinfo is None:
        return v.replace(tzinfo=UTC)
    return v


def _user_metadata(v: dict[str, Any]) -> dict[str, Any]:
    reserved = RESERVED_METADATA_KEYS & v.keys()
    if reserved:
        raise ValueError(f"key(s) {sorted(reserved)} are reserved for plugin results")
    return v


Text = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_no_nul)]
Title = Annotated[Text, StringConstraints(min_length=1, max_length=200)]
FilePath = Annotated[Text, StringConstraints(min_length=1, max_length=1024)]
Resolution = Annotated[str, StringConstraints(pattern=r"^[1-9]\d{0,4}x[1-9]\d{0,4}$")]
Codec = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,32}$")]
Tag = Annotated[Text, StringConstraints(min_length=1, max_length=50)]
Timestamp = Annotated[datetime, AfterValidator(_aware)]
UserMetadata = Annotated[dict[str, Any], AfterValidator(_user_metadata)]


class ClipFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Annotated[Text, StringConstraints(max_length=5000)] | None = None
    resolution: Resolution | None = Field(None, description="WIDTHxHEIGHT, e.g. 1920x1080")
    fps: float | None = Field(None, gt=0, le=1000)
    codec: Codec | None = None
    duration: float | None = Field(None, ge=0, le=86_400, description="seconds")
    file_size: int | None = Field(None, ge=0, le=2**53, description="bytes")
    game_name: Annotated[Text, StringConstraints(max_length=200)] | None = None
    game_id: Annotated[Text, StringConstraints(max_length=100)] | None = None
    recorded_at: Timestamp | None = None


class ClipCreate(ClipFields):
    title: Title
    file_path: FilePath
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    metadata: UserMetadata = Field(default_factory=dict)


class ClipOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None
    file_path: str
    resolution: str | None
    fps: float | None
    codec: str | None
    duration: float | None
    file_size: int | None
    game_name: str | None
    game_id: str | None
    status: str
    tags: list[str]
    metadata: dict[str, Any] = Field(validation_alias="clip_metadata")
    recorded_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
