"""Serving a stored object over HTTP with Range (RFC 9110 §14), so a `<video>` element seeks.

One range per request (what browsers ask for); a request for several is answered with the whole
object, which the RFC allows. The ETag is the store's, so `If-None-Match` and `If-Range` work the
same on a local folder and on S3.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from clipforge.media.storage import MediaStorage, Stat

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    pass


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, end) asked for, None for the whole object; raises `Unsatisfiable`."""
    if not header:
        return None
    match = RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # several ranges or another unit: the whole object
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0:
            raise Unsatisfiable
        return max(0, size - length), size
    start = int(first)
    if start >= size:
        raise Unsatisfiable
    end = min(int(last) + 1, size) if last else size
    if end <= start:
        return None  # last < first: invalid, so ignored
    return start, end


def stored_response(
    request: Request, storage: MediaStorage, key: str, stat: Stat, media_type: str, *, cache: str
) -> Response:
    etag = f'"{stat.etag}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": cache,
        "Last-Modified": stat.modified.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }
    if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    if_range = request.headers.get("if-range")
    wanted = request.headers.get("range") if if_range is None or if_range == etag else None
    try:
        span = byte_range(wanted, stat.size)
    except Unsatisfiable:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{stat.size}"})
    start, end = span or (0, stat.size)
    headers["Content-Length"] = str(end - start)
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{stat.size}"
    body = storage.read(key, start, end) if end > start else _nothing()
    return StreamingResponse(
        body, status_code=206 if span is not None else 200, headers=headers, media_type=media_type
    )


async def _nothing() -> AsyncIterator[bytes]:  # an empty object: obstore cannot range-read it
    empty: tuple[bytes, ...] = ()
    for chunk in empty:
        yield chunk
