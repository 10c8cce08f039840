"""pytest fixtures for plugin tests, registered by clipforge's `pytest11` entry point (so any
pytest run where clipforge is installed has them; `-p no:clipforge` turns them off)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clipforge.sdk.plugin import ClipData
from clipforge.sdk.testing.clips import make_video, sample_clip


@pytest.fixture
def clip_data() -> ClipData:
    """A fresh sample clip, as a hook gets it (`sample_clip()`)."""
    return sample_clip()


@pytest.fixture(scope="session")
def sample_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-second 320x240 H.264/AAC MP4 (`make_video`), made once per test session."""
    return make_video(tmp_path_factory.mktemp("clipforge-video") / "sample.mp4")
