"""What Postgres can store: one check for every value that ends up in a text or JSONB column.

Postgres refuses a NUL character in text and in JSONB strings, JSONB refuses NaN and Infinity,
and a lone surrogate (a UTF-16 half that Python's json accepts from `"\\ud800"`) cannot even be
encoded to UTF-8. Any one of them fails the whole statement, and with it every other row in the
same batch. So the API checks what clients send, the plugin-runner checks what plugins return,
and the metadata service checks what it reads from Kafka, all with these functions, and each
says what was wrong and where (`result.text: NUL character`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

MAX_DEPTH = 32

# Characters no stored string may hold. The same class documents the rule in the OpenAPI schema.
FORBIDDEN_CHARACTERS = r"\x00\ud800-\udfff"
_FORBIDDEN = re.compile(f"[{FORBIDDEN_CHARACTERS}]")


class Unstorable(ValueError):
    """A value Postgres cannot store; the message names where and why."""


def text_problem(text: str) -> str | None:
    """Why Postgres cannot store this string, or None."""
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    return "NUL character" if found.group() == "\x00" else "lone surrogate (invalid Unicode)"


def scrub_text(text: str) -> str:
    """The text with every character Postgres cannot store replaced by U+FFFD: for text we
    only report (an exception's message, a key), never for what a user or a plugin gave."""
    return _FORBIDDEN.sub("\ufffd", text)


def check_text(text: str) -> str:
    """The string itself, or `Unstorable` with the reason (for pydantic validators)."""
    problem = text_problem(text)
    if problem:
        raise Unstorable(f"must not contain a {problem}")
    return text


def _non_blank(text: str) -> str:
    check_text(text)
    if not text.strip():
        raise Unstorable("must not be blank")
    return text


# The text rules as field types, with patterns so that JSON Schemas (the OpenAPI document, the
# plugin.json schema) state them. `check_text` also refuses lone surrogates, which no schema
# regex can name (Rust's and ECMAScript's Unicode modes have no such characters), so the
# validators enforce the rules and the patterns document them.
TEXT_PATTERN = r"^[^\x00]*$"
NON_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
Text = Annotated[str, AfterValidator(check_text), Field(json_schema_extra={"pattern": TEXT_PATTERN})]
NonBlank = Annotated[str, AfterValidator(_non_blank), Field(json_schema_extra={"pattern": NON_BLANK_PATTERN})]


def value_problem(value: Any, where: str = "value", *, max_depth: int = MAX_DEPTH) -> str | None:
    """The first reason this decoded JSON value cannot go into JSONB, as `where.path: reason`."""
    return _walk(value, where, 0, max_depth)


def _walk(value: Any, where: str, depth: int, max_depth: int) -> str | None:
    if value is None or isinstance(value, bool | int):
        return None
    if isinstance(value, str):
        problem = text_problem(value)
        return f"{where}: {problem}" if problem else None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where}: {value} is not a JSON number"
    if depth >= max_depth:
        return f"{where}: nested deeper than {max_depth} levels"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where}: key {key!r} is not a string"
            problem = text_problem(key)
            if problem:
                return f"{where}: key {key!r} has a {problem}"
            found = _walk(item, f"{where}.{key}", depth + 1, max_depth)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _walk(item, f"{where}[{i}]", depth + 1, max_depth)
            if found:
                return found
        return None
    return f"{where}: {type(value).__name__} is not a JSON type"


def check_value(value: Any, where: str = "value", *, max_depth: int = MAX_DEPTH) -> Any:
    """The value itself, or `Unstorable` naming the first problem."""
    problem = value_problem(value, where, max_depth=max_depth)
    if problem:
        raise Unstorable(problem)
    return value


def encoded_size(value: Any) -> int:
    """Bytes of the value as compact UTF-8 JSON (what travels on Kafka and is stored)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
