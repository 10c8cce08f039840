"""S3Proxy, the S3-compatible server the devstack starts for `s3://` storage, through obstore (the
client clipforge's storage uses): what the storage asks of an S3 store works against it.

S3Proxy's answers that differ from AWS are pinned down here, so an upgrade that changes them shows:
a multipart object's ETag is `"<md5 of the part md5s>-<parts>"` in the upload's answer but the
MD5 of the whole content in HEAD and GET; a key cannot also be a "folder" of other keys (the
filesystem backend keeps objects as files).
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import obstore
import pytest
from obstore.exceptions import GenericError, PermissionDeniedError
from obstore.store import S3Store

from clipforge_devstack.s3proxy import LocalS3

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


def s3_store(server: LocalS3, *, secret: str | None = None, retries: int = 10) -> S3Store:
    return S3Store(
        server.bucket,
        endpoint=server.endpoint,
        access_key_id=server.access_key,
        secret_access_key=secret or server.secret_key,
        region=server.region,
        virtual_hosted_style_request=False,  # http://127.0.0.1:port/bucket/key
        client_options={"allow_http": True},  # S3Proxy speaks plain HTTP
        retry_config={"max_retries": retries},
    )


@pytest.fixture
def store(s3_server: LocalS3) -> S3Store:
    return s3_store(s3_server)


@pytest.fixture
def prefix() -> str:
    """Every test writes under a prefix of its own: the bucket lives for the whole session."""
    return f"t-{uuid.uuid4().hex[:12]}"


def quoted_md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def test_a_multi_mb_file_goes_up_in_parts_and_byte_ranges_read_back_exactly(
    store: S3Store, prefix: str, tmp_path: Path
) -> None:
    data = os.urandom(12 * MiB)
    source = tmp_path / "clip.mp4"
    source.write_bytes(data)
    key = f"{prefix}/uploads/clip.mp4"

    put = obstore.put(store, key, source)  # larger than chunk_size (5 MiB): a 3-part upload
    assert put["e_tag"] is not None
    assert re.fullmatch(r'"[0-9a-f]{32}-3"', put["e_tag"]), put["e_tag"]

    meta = obstore.head(store, key)
    assert meta["path"] == key
    assert meta["size"] == len(data)
    assert meta["e_tag"] == quoted_md5(data)  # S3Proxy: the whole content's MD5 (AWS: the put's)
    assert obstore.head(store, key)["e_tag"] == meta["e_tag"]

    start, end = 5 * MiB - 100, 5 * MiB + 100  # across the first part's end
    assert bytes(obstore.get_range(store, key, start=start, end=end)) == data[start:end]
    assert bytes(obstore.get_range(store, key, start=7, length=1)) == data[7:8]
    ranged = obstore.get(store, key, options={"range": (1000, 3 * MiB)})
    assert ranged.range == (1000, 3 * MiB)
    assert ranged.meta["size"] == len(data)
    assert bytes(ranged.bytes()) == data[1000 : 3 * MiB]
    assert bytes(obstore.get(store, key, options={"range": {"suffix": 10}}).bytes()) == data[-10:]
    assert bytes(obstore.get(store, key, options={"range": {"offset": len(data) - 5}}).bytes()) == data[-5:]
    # A range past the end is cut at the end, as S3 does.
    assert bytes(obstore.get_range(store, key, start=len(data) - 3, end=len(data) + 100)) == data[-3:]

    assert bytes(obstore.get(store, key).bytes()) == data


def test_a_single_part_put_s_etag_is_the_md5_of_the_bytes(store: S3Store, prefix: str) -> None:
    data = os.urandom(3 * MiB)
    key = f"{prefix}/artifacts/one/thumb.jpg"
    put = obstore.put(store, key, data, use_multipart=False)
    assert put["e_tag"] == quoted_md5(data)
    meta = obstore.head(store, key)
    assert (meta["size"], meta["e_tag"]) == (len(data), quoted_md5(data))
    empty = f"{prefix}/empty"
    obstore.put(store, empty, b"")
    assert obstore.head(store, empty)["size"] == 0
    assert bytes(obstore.get(store, empty).bytes()) == b""


def test_a_list_under_a_prefix_sees_that_prefix_only(store: S3Store, prefix: str) -> None:
    keys = [f"{prefix}/a/1.bin", f"{prefix}/a/2.bin", f"{prefix}/a/deep/3.bin", f"{prefix}/b/4.bin"]
    for key in keys:
        obstore.put(store, key, key.encode())
    obstore.put(store, f"{prefix}-sibling/x.bin", b"not under the prefix")

    listed = obstore.list(store, f"{prefix}/a").collect()
    assert sorted(meta["path"] for meta in listed) == keys[:3]
    assert {meta["path"]: meta["size"] for meta in listed} == {key: len(key.encode()) for key in keys[:3]}
    assert sorted(meta["path"] for meta in obstore.list(store, prefix).collect()) == keys

    level = obstore.list_with_delimiter(store, f"{prefix}/a")
    assert [meta["path"] for meta in level["objects"]] == keys[:2]
    assert level["common_prefixes"] == [f"{prefix}/a/deep"]
    assert obstore.list(store, f"{prefix}/nothing").collect() == []


def test_a_deleted_object_is_gone_and_a_missing_key_raises_file_not_found(
    store: S3Store, prefix: str
) -> None:
    key = f"{prefix}/gone.bin"
    obstore.put(store, key, b"soon gone")
    obstore.delete(store, key)
    with pytest.raises(FileNotFoundError):
        obstore.get(store, key)
    with pytest.raises(FileNotFoundError):
        obstore.head(store, key)
    with pytest.raises(FileNotFoundError):
        obstore.get_range(store, key, start=0, end=1)
    obstore.delete(store, key)  # deleting what is gone is fine, as on S3
    assert obstore.list(store, prefix).collect() == []
    assert obstore.list_with_delimiter(store, prefix)["common_prefixes"] == []


def test_a_key_cannot_also_be_a_folder_of_keys(s3_server: LocalS3, prefix: str) -> None:
    """On AWS `a` and `a/b` can both exist; S3Proxy's folder backend refuses the second (500)."""
    store = s3_store(s3_server, retries=0)  # a 500 is retried otherwise, for seconds
    obstore.put(store, f"{prefix}/clip", b"a file")
    with pytest.raises(GenericError):
        obstore.put(store, f"{prefix}/clip/thumb.jpg", b"below a file")
    assert bytes(obstore.get(store, f"{prefix}/clip").bytes()) == b"a file"


def test_a_wrong_secret_is_refused(s3_server: LocalS3, prefix: str) -> None:
    with pytest.raises(PermissionDeniedError):
        obstore.put(s3_store(s3_server, secret="not-the-secret"), f"{prefix}/x", b"x")


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_async_stream_put_range_read_rename_and_bulk_delete(store: S3Store, prefix: str) -> None:
    """What clipforge's storage does: a streamed upload in 8 MiB parts, ranged streaming reads,
    a rename (copy + delete) and a delete of many keys at once (S3's DeleteObjects)."""
    data = os.urandom(11 * MiB)
    key = f"{prefix}/uploads/stream.mp4"
    put = await obstore.put_async(store, key, chunks(data, MiB), chunk_size=8 * MiB, max_concurrency=2)
    assert put["e_tag"] is not None
    assert put["e_tag"].endswith('-2"')

    meta = await obstore.head_async(store, key)
    assert (meta["size"], meta["e_tag"]) == (len(data), quoted_md5(data))
    start, end = 8 * MiB - 4096, 8 * MiB + 4096
    assert bytes(await obstore.get_range_async(store, key, start=start, end=end)) == data[start:end]
    result = await obstore.get_async(store, key, options={"range": (MiB, 9 * MiB)})
    streamed = b"".join([bytes(chunk) async for chunk in result.stream(min_chunk_size=256 * 1024)])
    assert streamed == data[MiB : 9 * MiB]

    moved = f"{prefix}/clips/stream.mp4"
    await obstore.rename_async(store, key, moved)
    with pytest.raises(FileNotFoundError):
        await obstore.head_async(store, key)
    assert bytes(await obstore.get_range_async(store, moved, start=0, length=64)) == data[:64]

    extra = [f"{prefix}/clips/{n}.jpg" for n in range(3)]
    for name in extra:
        await obstore.put_async(store, name, name.encode())
    listed = await obstore.list(store, prefix).collect_async()
    assert sorted(meta["path"] for meta in listed) == sorted([moved, *extra])
    await obstore.delete_async(store, [moved, *extra])
    assert await obstore.list(store, prefix).collect_async() == []
    with pytest.raises(FileNotFoundError):
        await obstore.get_async(store, moved)
