"""What the OpenAPI document says an operation can answer: every error status with its body, and
the `Location` of what a 201 or 202 created, so generated clients know every outcome."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

RETRY_AFTER_S = 5


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="where: `body`, `query` or `path`, then the field")
    msg: str = Field(description="why it was refused")
    type: str
    input: Any = Field(None, description="the offending input, when it is small")


class Problem(BaseModel):
    """Every error answer."""

    detail: str | list[FieldError]


_DESCRIPTIONS = {
    400: "The body is not JSON, or a header is malformed",
    401: "No API key, or not a valid one (`Authorization: Bearer <key>`)",
    403: "The API key's role is too weak for this operation",
    404: "No such resource",
    409: "Conflicts with an existing record",
    411: "An upload must declare its Content-Length",
    413: "The request body is too large",
    415: "The upload is not a video a decoder can open",
    422: "A field is invalid: `detail` names it and says why",
    429: "Too many failed attempts from this client: retry after `Retry-After` seconds",
    503: "The database is unreachable for a moment: retry after `Retry-After` seconds",
}


def responses(*codes: int, location: int | None = None) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entries for these error statuses."""
    documented: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": Problem, "description": _DESCRIPTIONS[code]}
        if code in (429, 503):
            entry["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
        documented[code] = entry
    if location is not None:
        documented[location] = {
            "headers": {
                "Location": {"schema": {"type": "string"}, "description": "the URL of what was created"}
            }
        }
    return documented


EVERY_OPERATION = responses(400, 401, 403, 413, 422, 429, 503)
"""What any operation can answer: bad JSON, no or a wrong key, too weak a role, too large a body,
an invalid field, too many failed attempts, a database away."""
