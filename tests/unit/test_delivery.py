"""Delivery without blocking: which faults are waited out, how many tries the rest get, dead
letters that always fit, and events that always fit one Kafka message."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from aiokafka.structs import ConsumerRecord
from sqlalchemy import exc as sa_exc

from clipforge.db.records import RESULTS_BUDGET_BYTES, within_budget
from clipforge.dead_letters import letter_for
from clipforge.events import PluginResult, PluginRunStatus
from clipforge.faults import is_transient
from clipforge.retries import GaveUp, Retry
from clipforge_plugin_runner.captured import _groups_that_fit

LIMIT = 1_000_000


def record(value: bytes, key: bytes | None = b"k") -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="clip.processed",
        partition=3,
        offset=17,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(value),
        headers=(),
    )


def test_a_letter_keeps_text_whole_when_it_fits() -> None:
    key, value = letter_for(
        record(b'{"not": "an event"}'), error="bad", service="metadata", attempts=2, max_bytes=LIMIT
    )
    letter = json.loads(value)
    assert key == "k"
    assert letter["original"] == '{"not": "an event"}'
    assert (letter["truncated"], letter["attempts"], letter["offset"]) == (False, 2, 17)


def test_binary_is_kept_as_base64_with_its_hash() -> None:
    garbage = bytes(range(256)) * 1000
    _, value = letter_for(record(garbage), error="bad", service="metadata", attempts=1, max_bytes=LIMIT)
    letter = json.loads(value)
    assert letter["original"] is None
    assert base64.b64decode(letter["original_base64"]) == garbage
    assert letter["original_sha256"] == hashlib.sha256(garbage).hexdigest()


def test_a_letter_that_would_not_fit_is_cut_to_fit_with_size_and_hash() -> None:
    escapes = b"\x01" * 990_000  # six bytes each as escaped JSON: about 6 MB whole
    _, value = letter_for(
        record(escapes), error="e" * 20_000, service="metadata", attempts=1, max_bytes=LIMIT
    )
    letter = json.loads(value)
    assert len(value) <= LIMIT
    assert letter["truncated"] is True
    assert (letter["original_size"], letter["original_sha256"]) == (
        990_000,
        hashlib.sha256(escapes).hexdigest(),
    )
    assert escapes.decode().startswith(letter["original"])
    assert len(letter["error"]) == 8000


def test_a_record_without_a_key_gets_one_that_says_where_it_was() -> None:
    key, _ = letter_for(record(b"x", key=None), error="bad", service="metadata", attempts=1, max_bytes=LIMIT)
    assert key == "clip.processed-3-17"


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (asyncpg.CannotConnectNowError("starting up"), True),
        (sa_exc.InterfaceError("stmt", {}, Exception("closed"), connection_invalidated=True), True),
        (KafkaConnectionError(), True),
        (MessageSizeTooLargeError(), False),
        (sa_exc.DataError("stmt", {}, Exception("value too long")), False),
        (ValueError("bug"), False),
    ],
)
def test_which_faults_pass_by_themselves(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = error
    assert is_transient(wrapped) is transient, "the cause counts"


async def test_transient_faults_are_retried_until_they_pass() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 6:
            raise ConnectionRefusedError(111, "refused")
        return "done"

    assert await Retry(attempts=2, first_backoff_s=0.001, max_backoff_s=0.002).run(flaky, what="x") == "done"
    assert calls == 6, "more tries than `attempts`: transient faults do not count"


async def test_other_errors_get_their_attempts_and_then_give_up() -> None:
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("always")

    with pytest.raises(GaveUp) as gave_up:
        await Retry(attempts=3, first_backoff_s=0.001).run(broken, what="x")
    assert (calls, gave_up.value.attempts, str(gave_up.value)) == (3, 3, "ValueError: always")


def result(plugin: str, size: int) -> PluginResult:
    return PluginResult(plugin=plugin, version="1", status=PluginRunStatus.OK, result={"blob": "x" * size})


def test_results_are_packed_into_messages_that_fit_in_order() -> None:
    results = [result(f"p{i}", 300_000) for i in range(5)]
    groups = _groups_that_fit(results, 700_000)
    assert [[r.plugin for r in g] for g in groups] == [["p0", "p1"], ["p2", "p3"], ["p4"]]
    assert all(r.status is PluginRunStatus.OK for g in groups for r in g)


def test_a_result_too_large_for_any_message_becomes_an_error() -> None:
    (group,) = _groups_that_fit([result("huge", 800_000)], 700_000)
    assert group[0].status is PluginRunStatus.ERROR
    assert group[0].result == {}
    assert "does not fit one Kafka message" in (group[0].error or "")


def test_events_leave_out_the_largest_results_beyond_the_budget() -> None:
    metadata: dict[str, Any] = {
        "mine": 1,
        "plugins": {"big": {"b": "x" * 300_000}, "bigger": {"b": "x" * 400_000}, "small": {"n": 1}},
    }
    kept, omitted = within_budget(metadata)
    assert omitted == ["bigger"]
    assert set(kept["plugins"]) == {"big", "small"}
    assert kept["mine"] == 1
    assert within_budget({"plugins": {"small": {"n": 1}}}) == ({"plugins": {"small": {"n": 1}}}, [])
    assert RESULTS_BUDGET_BYTES < LIMIT


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OSError(None, "Multiple exceptions: [Errno 111] Connect call failed ('::1', 5432)"), True),
        (OSError(101, "Network is unreachable"), True),
        (OSError(28, "No space left on device"), False),
        (OSError(36, "File name too long"), False),
    ],
)
def test_only_network_os_errors_pass_by_themselves(error: OSError, transient: bool) -> None:
    assert is_transient(error) is transient
