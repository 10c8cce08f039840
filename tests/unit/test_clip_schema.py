"""Input validation of clips: a 422 naming the field for anything out of bounds."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from clipforge_api.schemas import ClipCreate
from tests.seed import SEED_CLIP as SEED


def test_seed_body_is_valid() -> None:
    clip = ClipCreate.model_validate(SEED)
    assert clip.fps == 60
    assert clip.tags == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "x" * 201),
        ("resolution", "1920*1080"),
        ("resolution", "0x0"),
        ("fps", 0),
        ("fps", -1),
        ("duration", -1),
        ("file_size", -5),
        ("tags", ["x" * 51]),
        ("metadata", {"plugins": {}}),
        ("file_path", "a\x00b"),
        ("unknown_field", 1),
    ],
)
def test_bad_fields_are_named(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as err:
        ClipCreate.model_validate({**SEED, field: value})
    assert field in {str(loc) for e in err.value.errors() for loc in e["loc"]}


def test_naive_recorded_at_is_taken_as_utc() -> None:
    clip = ClipCreate.model_validate({**SEED, "recorded_at": "2026-01-02T03:04:05"})
    assert clip.recorded_at is not None
    assert clip.recorded_at.utcoffset() is not None
