"""Where clips' files live: one object store, addressed by library keys.

The default store is a local folder (`CLIPFORGE_MEDIA_DIR`); `CLIPFORGE_STORAGE_URL=s3://bucket/prefix`
puts the same keys in any S3-compatible store, for deployments whose runners live on other machines.
obstore (the Rust `object_store` crate) does the talking for both, so every caller has one way to
read, write, range-read and delete whatever the backend.

Keys are the library's (see `library.py`): a clip's `file_path` without its leading slash,
`uploads/<sha[:2]>/<sha>.<ext>` for uploads, `artifacts/<clip>/<plugin>/<file>` for what plugins
derive. A local folder is also checked for symlinks that resolve outside it (obstore would follow
them), so no key ever reads a file outside the library.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import obstore
from obstore.exceptions import InvalidPathError
from obstore.store import LocalStore, S3Store

from clipforge.media.library import MediaLibrary, OutsideLibrary, key_of

if TYPE_CHECKING:
    from obstore import ReadableFile
    from obstore.store import ObjectStore

    from clipforge.settings import Settings

CHUNK = 1024 * 1024
PART = 8 * 1024 * 1024  # multipart upload part: the most an upload holds in memory at once, per part


@dataclass(frozen=True)
class Stat:
    size: int
    etag: str
    modified: datetime


class MediaStorage:
    def __init__(self, store: ObjectStore, *, library: MediaLibrary | None = None) -> None:
        self.store = store
        self.library = library
        """Set when the store is a local folder: files are then read in place, never copied."""

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaStorage:
        url = settings.storage_url.strip()
        if not url:
            settings.media_dir.mkdir(parents=True, exist_ok=True)
            library = MediaLibrary(settings.media_dir)
            return cls(LocalStore(library.root), library=library)
        if not url.startswith("s3://"):
            raise ValueError(f"CLIPFORGE_STORAGE_URL must be empty (a local folder) or s3://..., not {url!r}")
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        endpoint = settings.s3_endpoint or None
        config: dict[str, Any] = {"region": settings.s3_region, "virtual_hosted_style_request": False}
        if endpoint:
            config["endpoint"] = endpoint
        if settings.s3_access_key_id:
            config["access_key_id"] = settings.s3_access_key_id
            config["secret_access_key"] = settings.s3_secret_access_key.get_secret_value()
        store = S3Store(
            bucket,
            prefix=prefix.strip("/") or None,
            client_options={"allow_http": bool(endpoint and endpoint.startswith("http://"))},
            **config,
        )
        return cls(store)

    @property
    def is_local(self) -> bool:
        return self.library is not None

    def key(self, file_path: str) -> str:
        """The store key of `file_path`; raises `OutsideLibrary` for what is not in the library
        (`..`, NUL, and, in a local folder, a symlink out)."""
        key = key_of(file_path)
        if self.library is not None:
            self.library.path_of(key)
        return key

    async def stat(self, file_path: str) -> Stat | None:
        """Size, ETag and time of the file, or None when it does not exist (or is not in the library)."""
        try:
            key = self.key(file_path)
            meta = await obstore.head_async(self.store, key)
        except (OutsideLibrary, FileNotFoundError, NotADirectoryError, IsADirectoryError, ValueError):
            return None
        except InvalidPathError:  # a name the store cannot hold
            return None
        except OSError:  # a name the filesystem cannot hold
            return None
        etag = (meta["e_tag"] or f"{meta['size']:x}-{meta['last_modified'].timestamp():.0f}").strip('"')
        return Stat(meta["size"], etag, meta["last_modified"])

    async def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """The bytes [start, end) of an object, streamed."""
        result = await obstore.get_async(self.store, key, options={"range": (start, end)})
        async for chunk in result.stream(min_chunk_size=256 * 1024):
            yield bytes(chunk)

    async def read_all(self, key: str) -> bytes:
        result = await obstore.get_async(self.store, key)
        return bytes(await result.bytes_async())

    async def put_stream(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        """Write an object from a stream, a part at a time (never the whole file in memory)."""
        await obstore.put_async(self.store, key, chunks, chunk_size=PART, max_concurrency=2)

    async def put_file(self, key: str, path: Path) -> None:
        await obstore.put_async(self.store, key, path, chunk_size=PART, max_concurrency=2)

    async def move(self, source: str, target: str) -> None:
        await obstore.rename_async(self.store, source, target)

    async def delete(self, key: str) -> None:
        """Delete one object; one already gone is fine (deletes are retried)."""
        with contextlib.suppress(FileNotFoundError):
            await obstore.delete_async(self.store, key)

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix/`; returns how many there were."""
        keys = [
            meta["path"]
            async for batch in obstore.list(self.store, prefix.rstrip("/") + "/")
            for meta in batch
        ]
        if keys:
            await obstore.delete_async(self.store, keys)
        return len(keys)

    @contextlib.contextmanager
    def reader(self, key: str) -> Iterator[BinaryIO]:
        """A seekable file over the object (for the decoder: it reads headers, not the whole file)."""
        if self.library is not None:
            with self.library.path_of(key).open("rb") as file:
                yield file
            return
        remote = _Remote(obstore.open_reader(self.store, key, buffer_size=CHUNK))
        try:
            yield cast(BinaryIO, remote)
        finally:
            remote.close()

    @contextlib.asynccontextmanager
    async def local_file(self, file_path: str, scratch: Path) -> AsyncIterator[Path | None]:
        """The file as a local path plugins can open: in place in a local library, a download
        (deleted afterwards) from S3. None when there is no such file (yet)."""
        if self.library is not None:
            yield self.library.existing(file_path)
            return
        copy = scratch / f"{uuid.uuid4().hex}{Path(file_path).suffix[:8]}"
        try:
            try:  # one request: a missing object is the answer, not a HEAD first
                await asyncio.to_thread(self._download, self.key(file_path), copy)
            except (OutsideLibrary, FileNotFoundError, InvalidPathError):
                copy.unlink(missing_ok=True)
                yield None
                return
            yield copy
        finally:
            copy.unlink(missing_ok=True)

    def _download(self, key: str, copy: Path) -> None:
        copy.parent.mkdir(parents=True, exist_ok=True)
        with copy.open("wb") as out:
            for chunk in obstore.get(self.store, key).stream(min_chunk_size=CHUNK):
                out.write(chunk)


class _Remote(io.RawIOBase):
    """obstore's reader as a plain binary file (it returns its own buffer type; PyAV wants bytes)."""

    def __init__(self, file: ReadableFile) -> None:
        self.file = file

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return bytes(self.file.read(size if size >= 0 else None))

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        return self.file.tell()

    def close(self) -> None:
        self.file.close()
        super().close()


@contextlib.contextmanager
def scratch_dir(root: Path, name: str) -> Iterator[Path]:
    """A private folder for one piece of work, removed afterwards. Not made here: whoever needs it
    makes it (a download, a plugin's artifacts), since most work needs none and making a folder
    costs a disk's metadata write (about half a millisecond here: the runner's ceiling was its
    mkdirs)."""
    folder = root / f"{name}-{uuid.uuid4().hex[:12]}"
    try:
        yield folder
    finally:
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
