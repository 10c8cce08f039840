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
        ("title", "   "),
        ("title", "a\ud800"),
        ("description", "\udfff"),
        ("game_name", "x\x00"),
        ("tags", ["ok", "\ud800"]),
        ("metadata", {"\ud800": 1}),
        ("metadata", {"k": ["a\x00"]}),
        ("metadata", {"k": float("nan")}),
        ("recorded_at", 0),
        ("recorded_at", "1700000000"),
        ("recorded_at", "0001-01-01T00:00:00+14:00"),
        ("recorded_at", "9999-12-31T23:59:59-14:00"),
        ("file_size", True),
        ("file_size", "5"),
        ("fps", "60"),
        ("unknown_field", 1),
    ],
)
def test_bad_fields_are_named(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as err:
        ClipCreate.model_validate({**SEED, field: value})
    assert field in {str(loc) for e in err.value.errors() for loc in e["loc"]}


def test_whole_floats_are_whole_numbers_and_times_are_stored_in_utc() -> None:
    clip = ClipCreate.model_validate({**SEED, "file_size": 5.0, "recorded_at": "2024-01-15T18:30:00+02:00"})
    assert clip.file_size == 5
    assert clip.recorded_at is not None
    assert clip.recorded_at.isoformat() == "2024-01-15T16:30:00+00:00"


def test_naive_recorded_at_is_taken_as_utc() -> None:
    clip = ClipCreate.model_validate({**SEED, "recorded_at": "2026-01-02T03:04:05"})
    assert clip.recorded_at is not None
    assert clip.recorded_at.utcoffset() is not None


def test_the_sdk_s_clip_data_spells_out_exactly_the_clip_record() -> None:
    from typing import get_type_hints

    from clipforge.events import ClipRecord
    from clipforge.sdk import ClipData

    assert set(get_type_hints(ClipData)) == {*ClipRecord.model_fields, "media_path", "artifacts_dir"}, (
        "the runner adds media_path and artifacts_dir"
    )
    record = ClipRecord.model_validate(
        {"id": "6f1c4b9e-3e0a-4a51-9a7e-6a0c1f5e2b10", "title": "t", "file_path": "/t"}
    )
    assert {*record.model_dump(mode="json"), "media_path", "artifacts_dir"} == set(
        get_type_hints(ClipData)
    ), "what hooks get"
