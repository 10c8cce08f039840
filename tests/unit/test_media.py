"""The media library (nothing outside it is ever named) and the probe (what the file says)."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from clipforge.media.library import MediaLibrary, OutsideLibrary, is_upload, key_of, upload_key
from clipforge.media.probe import NotAVideo, probe
from tests.media import make_clip


@pytest.fixture
def library(tmp_path: Path) -> MediaLibrary:
    (tmp_path / "library" / "clips").mkdir(parents=True)
    return MediaLibrary(tmp_path / "library")


def test_a_file_path_is_a_path_inside_the_library(library: MediaLibrary) -> None:
    target = library.root / "clips" / "epic.mp4"
    target.write_bytes(b"x")
    assert library.path_of("/clips/epic.mp4") == target
    assert library.path_of("clips/epic.mp4") == target
    assert library.existing("/clips/epic.mp4") == target
    assert library.existing("/clips/missing.mp4") is None


@pytest.mark.parametrize("file_path", ["../secret", "/clips/../../etc/passwd", "a/..", "x\x00y"])
def test_dot_dot_and_nul_are_refused_before_the_disk(library: MediaLibrary, file_path: str) -> None:
    with pytest.raises(OutsideLibrary):
        library.path_of(file_path)
    assert library.existing(file_path) is None


def test_a_symlink_out_of_the_library_is_never_followed(library: MediaLibrary, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    (library.root / "clips" / "sneaky.mp4").symlink_to(secret)
    (library.root / "escape").symlink_to(tmp_path)
    for file_path in ("/clips/sneaky.mp4", "/escape/secret.txt"):
        with pytest.raises(OutsideLibrary, match="resolves outside"):
            library.path_of(file_path)
        assert library.existing(file_path) is None


def test_uploads_are_stored_by_content() -> None:
    key = upload_key("ab" + "0" * 62, ".mp4")
    assert key == f"uploads/ab/ab{'0' * 62}.mp4"
    assert is_upload("/" + key)
    assert not is_upload("/clips/epic.mp4")


@pytest.mark.parametrize("file_path", ["/", "", "/.", "../x", "a/../b", "a\x00"])
def test_keys_name_a_file_in_the_library(file_path: str) -> None:
    with pytest.raises(OutsideLibrary):
        key_of(file_path.replace("\\x00", "\x00"))


def test_a_file_path_is_its_key_without_the_slash() -> None:
    assert key_of("/clips/epic_victory.mp4") == "clips/epic_victory.mp4"
    assert key_of("clips//a.mp4") == "clips/a.mp4"


def test_the_probe_reads_what_the_file_is(tmp_path: Path) -> None:
    info = probe(make_clip(tmp_path / "c.mp4", seconds=2, width=640, height=360, fps=60))
    assert info["duration"] == pytest.approx(2.0, abs=0.05)
    assert info["video"]["resolution"] == "640x360"
    assert info["video"]["codec"] == "h264"
    assert info["video"]["average_fps"] == 60
    assert info["audio"] == {"codec": "aac", "channels": 1, "sample_rate": 48000}
    assert probe(make_clip(tmp_path / "silent.mp4", audio=False))["audio"] is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "no decoder can open it"), (b"just text, named .mp4", "no decoder can open it")],
)
def test_what_is_not_a_video_is_named(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "fake.mp4"
    path.write_bytes(content)
    with pytest.raises(NotAVideo, match=reason) as refused:
        probe(path)
    assert str(tmp_path) not in str(refused.value), "the reason does not show server paths"


def test_audio_alone_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(NotAVideo, match="no video stream"):
        probe(make_clip(tmp_path / "a.m4a", video=False))


def test_a_name_the_filesystem_cannot_hold_is_simply_not_there(library: MediaLibrary) -> None:
    assert library.existing("/clips/" + "x" * 300 + ".mp4") is None


@pytest.mark.parametrize("clockwise", [90, 180, 270])
def test_the_probe_reads_a_phone_video_s_rotation(tmp_path: Path, clockwise: int) -> None:
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(-clockwise)  # the display matrix counts counter-clockwise
        for i in range(3):
            frame = av.VideoFrame(64, 32, "yuv420p")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    assert probe(path)["video"]["rotation"] == clockwise
    assert probe(make_clip(tmp_path / "flat.mp4"))["video"]["rotation"] == 0
