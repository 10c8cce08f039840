"""A multipart/form-data body read as it arrives, part by part.

Starlette's form parser spools every file to a temporary file before the route runs; an upload
then crosses the disk twice. Reading the parts off the request stream lets the file go straight
to storage (hashed on the way) in one pass, whatever its size. python-multipart does the parsing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from starlette.requests import Request


class BadForm(ValueError):
    """The body is not the multipart form it claims to be (a 400)."""


class NotMultipart(BadForm):
    """The body is not multipart/form-data at all (a 415)."""


@dataclass(frozen=True)
class Part:
    """A part begins: its data follows as `bytes` events, then `END`."""

    name: str
    filename: str | None
    content_type: str | None


END = None
Event = Part | bytes | None


def boundary_of(request: Request) -> bytes:
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise NotMultipart("the body must be multipart/form-data with a boundary")
    return options[b"boundary"]


async def form_events(request: Request) -> AsyncIterator[Event]:
    """Each part's start, its data in the chunks it came in, and its end, in body order."""
    pending: list[Event] = []
    header: dict[str, bytes] = {}
    field = bytearray()
    value = bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        value.extend(data[start:end])

    def on_header_end() -> None:
        header[field.decode("latin-1").lower()] = bytes(value)
        field.clear()
        value.clear()

    def on_headers_finished() -> None:
        _, options = parse_options_header(header.get("content-disposition", b""))
        name = options.get(b"name")
        if name is None:
            raise BadForm("a part has no name")
        filename = options.get(b"filename")
        content_type = header.get("content-type")
        pending.append(
            Part(
                name.decode("utf-8", "replace"),
                filename.decode("utf-8", "replace") if filename is not None else None,
                content_type.decode("latin-1") if content_type else None,
            )
        )
        header.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if end > start:
            pending.append(bytes(data[start:end]))

    def on_part_end() -> None:
        pending.append(END)

    parser = MultipartParser(
        boundary_of(request),
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            for event in pending:
                yield event
            pending.clear()
        parser.finalize()
    except BadForm:
        raise
    except Exception as exc:  # python-multipart's own errors: a malformed body
        raise BadForm(f"malformed multipart body: {type(exc).__name__}") from None
    for event in pending:
        yield event


async def part_data(events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    """The rest of the current part's data (the events go on after its end)."""
    async for event in events:
        if event is END:
            return
        if isinstance(event, Part):
            raise BadForm("a part began before the previous one ended")
        yield event
    raise BadForm("the body ended inside a part")
