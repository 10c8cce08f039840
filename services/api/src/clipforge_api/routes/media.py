"""A clip's file: uploaded into the media library, and streamed back with HTTP Range."""

from __future__ import annotations

import json
import mimetypes
import uuid
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import ValidationError

from clipforge.db.models import Clip
from clipforge_api.deps import Library, Session, UoW
from clipforge_api.handlers import uploads
from clipforge_api.responses import EVERY_OPERATION, responses
from clipforge_api.schemas import ClipCreate, ClipOut
from clipforge_api.unit_of_work import NotFound

router = APIRouter(prefix="/clips", tags=["media"], responses=EVERY_OPERATION)

UPLOAD_PATH = "/api/v1/clips/upload"
BINARY = {"schema": {"type": "string", "format": "binary"}}


def _clip_fields(file: UploadFile, form: dict[str, Any]) -> ClipCreate:
    """The form's clip fields, validated as the JSON body of `POST /clips` would be (a 422
    naming the field), before a byte of the file is stored."""
    fields = {k: v for k, v in form.items() if v is not None}
    if "metadata" in fields:
        try:
            fields["metadata"] = json.loads(fields["metadata"])
        except ValueError:
            raise RequestValidationError(
                [{"loc": ("body", "metadata"), "msg": "must be a JSON object", "type": "json_invalid"}]
            ) from None
    fields.setdefault("title", PurePosixPath(file.filename or "upload").stem or "upload")
    try:
        return ClipCreate.model_validate({**fields, "file_path": "/uploads/pending"})
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


@router.post(
    "/upload",
    status_code=status.HTTP_201_CREATED,
    response_model=ClipOut,
    responses={
        **responses(409, 411, 415, location=201),
        413: responses(413)[413],
    },
)
async def upload_clip(
    uow: UoW,
    library: Library,
    response: Response,
    file: Annotated[UploadFile, File(description="the video file")],
    title: Annotated[str | None, Form(description="default: the file's name")] = None,
    description: Annotated[str | None, Form()] = None,
    game_name: Annotated[str | None, Form()] = None,
    game_id: Annotated[str | None, Form()] = None,
    tags: Annotated[list[str] | None, Form(description="repeat the field for several tags")] = None,
    recorded_at: Annotated[str | None, Form(description="ISO-8601")] = None,
    metadata: Annotated[str | None, Form(description="a JSON object: your own keys")] = None,
) -> Clip:
    """Upload a video: it is stored in the media library (its SHA-256 computed on the way), checked
    to be a video a decoder can open, and becomes a clip whose plugins run on the file. The same
    file uploaded again is a 409 naming the clip it already is."""
    form = {
        "title": title,
        "description": description,
        "game_name": game_name,
        "game_id": game_id,
        "tags": tags,
        "recorded_at": recorded_at,
        "metadata": metadata,
    }
    body = _clip_fields(file, form)
    clip = await uploads.upload_clip(uow, library, file, body)
    response.headers["Location"] = f"/api/v1/clips/{clip.id}"
    return clip


@router.get(
    "/{clip_id:uuid}/media",
    response_class=FileResponse,
    responses={
        **responses(404),
        200: {"content": {"video/*": BINARY}, "description": "the file, whole"},
        206: {"content": {"video/*": BINARY}, "description": "the byte range asked for (HTTP Range)"},
    },
)
async def get_clip_media(clip_id: uuid.UUID, library: Library, session: Session) -> FileResponse:
    """The clip's original file, with HTTP Range (so a `<video>` element seeks) and an ETag."""
    clip = await session.get(Clip, clip_id)
    if clip is None:
        raise NotFound(f"clip {clip_id} not found")
    path = library.existing(clip.file_path)
    if path is None:
        raise NotFound(f"clip {clip_id} has no media file (yet) at {clip.file_path}")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type)
