"""The media library: one folder every clip's `file_path` is inside, and nothing outside it.

A `file_path` is a path *in* the library: the seed's `/clips/epic_victory.mp4` means
`<library>/clips/epic_victory.mp4`. `..` segments and NUL are refused before anything touches
the disk, and a path that resolves outside the library through a symlink is never opened, so no
request can make clipforge read or serve a file elsewhere.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

UPLOADS = "uploads"  # the part of the library clipforge writes itself (and deletes with the clip)
INCOMING = f"{UPLOADS}/.incoming"  # uploads being received, before they are checked and named
ARTIFACTS = "artifacts"  # what plugins derive from a clip (posters, storyboards), deleted with it


NAME_MAX = 255  # bytes of one file or folder name, on every common filesystem and in S3 keys


class OutsideLibrary(ValueError):
    """The path names something outside the media library."""


def library_path_problem(file_path: str) -> str | None:
    """Why `file_path` cannot name a file in the library, or None (checked without the disk)."""
    if "\x00" in file_path:
        return "must not contain a NUL character"
    if ".." in PurePosixPath(file_path).parts:
        return "must not contain '..' segments: paths are inside the media library"
    return None


def key_of(file_path: str) -> str:
    """The storage key of a `file_path` (the path without its leading slash); raises
    `OutsideLibrary` for a path that names nothing in the library."""
    if problem := library_path_problem(file_path):
        raise OutsideLibrary(f"{file_path!r}: {problem}")
    key = PurePosixPath(file_path.lstrip("/")).as_posix()
    if key in ("", "."):
        raise OutsideLibrary(f"{file_path!r} names no file")
    if any(len(part.encode()) > NAME_MAX for part in key.split("/")):
        raise OutsideLibrary(f"a name in {file_path!r} is longer than {NAME_MAX} bytes")
    return key


def upload_key(sha256: str, suffix: str) -> str:
    """Uploads are stored by content: the same file uploaded twice has one key."""
    return f"{UPLOADS}/{sha256[:2]}/{sha256}{suffix}"


def artifacts_prefix(clip_id: object) -> str:
    return f"{ARTIFACTS}/{clip_id}"


def artifact_key(clip_id: object, plugin: str, name: str) -> str:
    return f"{artifacts_prefix(clip_id)}/{plugin}/{name}"


def is_upload(file_path: str) -> bool:
    parts = PurePosixPath(file_path.lstrip("/")).parts
    return bool(parts) and parts[0] == UPLOADS


class MediaLibrary:
    """A local folder as the library: every path resolved (symlinks included) stays inside it."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def path_of(self, file_path: str) -> Path:
        """The file `file_path` names, resolved (symlinks included) and still inside the library."""
        if problem := library_path_problem(file_path):
            raise OutsideLibrary(f"{file_path!r}: {problem}")
        path = (self.root / file_path.lstrip("/")).resolve()
        if not path.is_relative_to(self.root):
            raise OutsideLibrary(f"{file_path!r} resolves outside the media library")
        return path

    def existing(self, file_path: str) -> Path | None:
        """The file, if it is in the library and exists as a regular file."""
        try:
            path = self.path_of(file_path)
            return path if path.is_file() else None
        except (OutsideLibrary, OSError):  # OSError: a name the filesystem cannot hold (too long)
            return None
