"""The event contract for subscribers: every topic in the AsyncAPI document, with real payloads,
and the committed copy in docs/ current."""

from __future__ import annotations

from pathlib import Path

from clipforge import __version__
from clipforge.events import Topics
from clipforge.events.asyncapi import CHANNELS, asyncapi_document, asyncapi_json

COMMITTED = Path(__file__).parents[2] / "docs" / "asyncapi.json"


def test_the_committed_document_is_current() -> None:
    assert COMMITTED.read_text() == asyncapi_json(__version__), "docs/asyncapi.json is stale: run `make docs`"


def test_every_topic_is_a_send_operation_with_its_contract_as_payload() -> None:
    document = asyncapi_document(__version__)
    sent = {name for name, op in document["operations"].items() if op["action"] == "send"}
    assert sent == set(Topics.all())
    messages = document["components"]["messages"]
    schemas = document["components"]["schemas"]
    for channel in CHANNELS:
        message = messages[f"{channel.topic}:Message"]
        name = message["payload"]["$ref"].rsplit("/", 1)[1]
        assert name == channel.payload.__name__
        assert "EmptyPayload" not in name
        assert schemas[name]["properties"], f"{channel.topic} has a real payload schema"
        (example,) = message["examples"]
        channel.payload.model_validate(example["payload"])  # the example is a valid event


def test_clipforge_s_own_consumers_are_receive_operations() -> None:
    operations = asyncapi_document(__version__)["operations"]
    received = {name for name, op in operations.items() if op["action"] == "receive"}
    assert received == {
        "clip.captured:plugin-runner",
        "clip.processed:metadata",
        "clip.enriched:plugin-runner",
        "plugin.changed:plugin-runner",
    }
