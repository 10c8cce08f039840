"""A clip's files: the upload, the original streamed back with HTTP Range, and what the
`thumbnails` plugin derived from it (a poster, a storyboard)."""

from __future__ import annotations

import json
import mimetypes
import uuid
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from clipforge.db.models import Clip
from clipforge.media.library import artifact_key
from clipforge.media.storage import MediaStorage
from clipforge_api.auth import MediaViewer, Uploader, media_token
from clipforge_api.deps import Session, Storage, UoW
from clipforge_api.handlers import uploads
from clipforge_api.ranges import stored_response
from clipforge_api.responses import EVERY_OPERATION, responses
from clipforge_api.schemas import ClipOut
from clipforge_api.unit_of_work import NotFound

router = APIRouter(tags=["media"], responses=EVERY_OPERATION, dependencies=[MediaViewer])

UPLOAD_PATH = "/api/v1/clips/upload"
BINARY = {"schema": {"type": "string", "format": "binary"}}
THUMBNAILS = "thumbnails"  # the plugin whose artifacts the poster and storyboard routes serve
MEDIA_CACHE = "private, max-age=3600"
ARTIFACT_CACHE = "private, max-age=60"  # a reprocess may replace them

UPLOAD_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "the video file"},
        "title": {"type": "string", "description": "default: the file's name"},
        "description": {"type": "string"},
        "game_name": {"type": "string"},
        "game_id": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}, "description": "repeat the field per tag"},
        "recorded_at": {"type": "string", "format": "date-time", "description": "ISO-8601"},
        "metadata": {"type": "string", "description": "a JSON object: your own keys"},
    },
}


@router.post(
    "/clips/upload",
    dependencies=[Uploader],
    status_code=status.HTTP_201_CREATED,
    response_model=ClipOut,
    responses={
        **responses(409, 411, 415, location=201),
        413: responses(413)[413],
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": UPLOAD_FORM,
                    "encoding": {"file": {"contentType": "video/*, application/octet-stream"}},
                }
            },
        }
    },
)
async def upload_clip(uow: UoW, storage: Storage, request: Request, response: Response) -> Clip:
    """Upload a video (multipart: `file` and the clip's optional fields). The file streams into
    storage in one pass, its SHA-256 computed on the way, and is opened by a decoder before the
    clip is committed: what is not a video is a 415 and leaves nothing behind. The same file
    uploaded again is a 409 naming the clip it already is."""
    clip = await uploads.upload_clip(uow, storage, request)
    response.headers["Location"] = f"/api/v1/clips/{clip.id}"
    return clip


class MediaToken(BaseModel):
    access: str = Field(description="append as `?access=` to the media, thumbnail and storyboard URLs")
    expires_at: datetime


@router.post("/media-token", response_model=MediaToken)
async def create_media_token(request: Request) -> MediaToken:
    """A token that reads clips' media, posters and storyboards for an hour, as the `access`
    query parameter: for `<video src>` and `<img src>`, which cannot send the key's header."""
    token, expires = media_token(request.state.caller)
    return MediaToken(access=token, expires_at=datetime.fromtimestamp(expires, UTC))


async def _clip(session: Session, clip_id: uuid.UUID) -> Clip:
    clip = await session.get(Clip, clip_id)
    if clip is None:
        raise NotFound(f"clip {clip_id} not found")
    return clip


@router.get(
    "/clips/{clip_id:uuid}/media",
    response_class=Response,
    responses={
        **responses(404),
        200: {"content": {"video/*": BINARY}, "description": "the file, whole"},
        206: {"content": {"video/*": BINARY}, "description": "the byte range asked for (HTTP Range)"},
        304: {"description": "unchanged since the ETag given in If-None-Match"},
        416: {"description": "the range asked for is past the end of the file"},
    },
)
async def get_clip_media(
    clip_id: uuid.UUID, request: Request, storage: Storage, session: Session
) -> Response:
    """The clip's original file, with HTTP Range (so a `<video>` element seeks) and an ETag."""
    clip = await _clip(session, clip_id)
    stat = await storage.stat(clip.file_path)
    if stat is None:
        raise NotFound(f"clip {clip_id} has no media file (yet) at {clip.file_path}")
    media_type = mimetypes.guess_type(clip.file_path)[0] or "application/octet-stream"
    return stored_response(request, storage, storage.key(clip.file_path), stat, media_type, cache=MEDIA_CACHE)


def _thumbnails(clip: Clip) -> dict[str, Any]:
    result = ((clip.clip_metadata or {}).get("plugins") or {}).get(THUMBNAILS)
    return result if isinstance(result, dict) else {}


def _artifact_name(value: object) -> str | None:
    """A plugin's result names its files; only a plain file name is ever looked up."""
    if not isinstance(value, str) or not value or PurePosixPath(value).name != value or value in (".", ".."):
        return None
    return value


async def _artifact(
    request: Request, storage: MediaStorage, clip: Clip, name: str | None, what: str, cache: str
) -> Response:
    if name is None:
        raise NotFound(f"clip {clip.id} has no {what} (yet): the {THUMBNAILS} plugin makes it")
    key = artifact_key(clip.id, THUMBNAILS, name)
    stat = await storage.stat(key)
    if stat is None:
        raise NotFound(f"clip {clip.id} has no {what} (yet): the {THUMBNAILS} plugin makes it")
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name.endswith(".vtt"):
        media_type = "text/vtt"
    return stored_response(request, storage, key, stat, media_type, cache=cache)


IMAGE = {"content": {"image/*": BINARY}, "description": "the image"}


@router.get(
    "/clips/{clip_id:uuid}/thumbnail",
    response_class=Response,
    responses={**responses(404), 200: IMAGE, 304: {"description": "unchanged"}},
)
async def get_clip_thumbnail(
    clip_id: uuid.UUID, request: Request, storage: Storage, session: Session
) -> Response:
    """The clip's poster: a representative frame, about 640 px wide (made by `thumbnails`)."""
    clip = await _clip(session, clip_id)
    poster = _thumbnails(clip).get("poster") or {}
    name = _artifact_name(poster.get("file")) if isinstance(poster, dict) else None
    return await _artifact(request, storage, clip, name, "poster", ARTIFACT_CACHE)


@router.get("/clips/{clip_id:uuid}/storyboard", responses=responses(404))
async def get_clip_storyboard(clip_id: uuid.UUID, storage: Storage, session: Session) -> JSONResponse:
    """The storyboard's index: where each evenly spaced frame is in the sprite (`sprite`, a URL),
    for seek previews. `vtt` is the same as WebVTT thumbnails, which video players read."""
    clip = await _clip(session, clip_id)
    board = _thumbnails(clip).get("storyboard") or {}
    index = _artifact_name(board.get("index")) if isinstance(board, dict) else None
    if index is None or (stat := await storage.stat(artifact_key(clip.id, THUMBNAILS, index))) is None:
        raise NotFound(f"clip {clip.id} has no storyboard (yet): the {THUMBNAILS} plugin makes it")
    document = json.loads(await storage.read_all(artifact_key(clip.id, THUMBNAILS, index)))
    base = f"/api/v1/clips/{clip.id}/storyboard"
    document["sprite"] = f"{base}/{board.get('file')}"
    if vtt := _artifact_name(board.get("vtt")):
        document["vtt"] = f"{base}/{vtt}"
    return JSONResponse(document, headers={"ETag": f'"{stat.etag}"', "Cache-Control": ARTIFACT_CACHE})


@router.get(
    "/clips/{clip_id:uuid}/storyboard/{name}",
    response_class=Response,
    responses={**responses(404), 200: IMAGE, 304: {"description": "unchanged"}},
)
async def get_clip_storyboard_file(
    clip_id: uuid.UUID, name: str, request: Request, storage: Storage, session: Session
) -> Response:
    """One of the storyboard's files, by the name its index gives: the sprite, or the WebVTT."""
    clip = await _clip(session, clip_id)
    board = _thumbnails(clip).get("storyboard") or {}
    named = {board.get("file"), board.get("vtt")} if isinstance(board, dict) else set()
    found = _artifact_name(name) if name in named else None
    return await _artifact(request, storage, clip, found, f"storyboard file {name!r}", ARTIFACT_CACHE)
