"""The AsyncAPI 3 document of clipforge's topics, generated from the event contracts.

Every topic is declared here once: its payload model, what it means, which service publishes it
and which consumer groups read it. The declarations are FastStream publishers (`schema=` the
contract) and typed subscribers on a broker that is never started, so FastStream writes the
document: channels, send and receive operations, message payloads as the pydantic contracts'
JSON Schemas. Each message carries an example built from the contracts themselves.

The API serves it (`/api/asyncapi.json`, readable at `/api/asyncapi`); `docs/asyncapi.json` is
the committed copy (`make docs` rewrites it; a test fails while it is stale).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel

from clipforge.events.contracts import (
    ClipCaptured,
    ClipDeleted,
    ClipEnriched,
    ClipProcessed,
    ClipRecord,
    ClipStatus,
    ClipUpdated,
    DeadLetter,
    PluginChanged,
    PluginResult,
    PluginRunStatus,
)
from clipforge.events.topics import Topics
from clipforge.plugin_scope import GameSelector

DESCRIPTION = """Events of clipforge, a gaming-clip platform whose clips are enriched by plugins.

Every event is JSON with an envelope (`event_id`, `event_type`, `schema_version`, `occurred_at`,
and `clip_id` for clip events) and is keyed by clip id, so one clip's events keep their order
within a partition. Delivery is at-least-once: deduplicate by `event_id`. Adding an optional
field keeps `schema_version`; anything a subscriber could trip over bumps it."""


@dataclass(frozen=True)
class Channel:
    topic: str
    payload: type[BaseModel]
    description: str
    publisher: str
    """The service that sends it."""
    readers: tuple[tuple[str, str | None], ...] = ()
    """clipforge's own consumers: (service, consumer group; None: every replica reads all)."""


CLIP_ID = uuid.UUID("6f1c4b9e-3e0a-4a51-9a7e-6a0c1f5e2b10")
RUN_ID = uuid.UUID("0b4f1f0e-9c55-4d8e-8b3b-6b2f5d7c9a01")
AT = datetime(2026, 1, 15, 18, 30, tzinfo=UTC)
_CLIP = ClipRecord(
    id=CLIP_ID,
    title="Epic Victory",
    file_path="/clips/epic_victory.mp4",
    resolution="1920x1080",
    fps=60,
    duration=45,
    game_name="Counter-Strike 2",
    tags=["ace"],
    recorded_at=AT,
    created_at=AT,
    updated_at=AT,
)
_RESULT = PluginResult(
    plugin="highlight_detector",
    version="0.1.0",
    status=PluginRunStatus.OK,
    result={"highlight_count": 1, "highlights": [{"timestamp": 11.25, "confidence": 0.874}]},
    duration_ms=0.4,
)
_ENVELOPE: dict[str, Any] = {"event_id": RUN_ID, "occurred_at": AT}

CHANNELS = [
    Channel(
        Topics.CLIP_CAPTURED,
        ClipCaptured,
        "A clip was stored, or asked to be processed again (`plugins` names which): run the plugins.",
        "api",
        (("plugin-runner", "plugin-runner"),),
    ),
    Channel(
        Topics.CLIP_PROCESSED,
        ClipProcessed,
        "Plugin results of one run on a clip, possibly in several pieces; the run is complete once"
        " every plugin in `due` has reported.",
        "plugin-runner",
        (("metadata", "metadata"),),
    ),
    Channel(
        Topics.CLIP_ENRICHED,
        ClipEnriched,
        "Every plugin due in a run has reported: the clip's merged record, results under"
        " `metadata.plugins.<plugin>`.",
        "metadata",
        (("plugin-runner", "plugin-runner-hooks"),),
    ),
    Channel(Topics.CLIP_UPDATED, ClipUpdated, "A user changed a clip's fields (`changed`).", "api"),
    Channel(Topics.CLIP_DELETED, ClipDeleted, "A clip was deleted.", "api"),
    Channel(
        Topics.PLUGIN_CHANGED,
        PluginChanged,
        "The plugin registry changed: every runner replica loads, unloads or reloads the plugin.",
        "api",
        (("plugin-runner", None),),
    ),
    *(
        Channel(
            Topics.dlq(topic),
            DeadLetter,
            f"Messages of `{topic}` a consumer gave up on, with the reason; see `clipforge.admin dlq`.",
            service,
        )
        for topic, service in (
            (Topics.CLIP_CAPTURED, "plugin-runner"),
            (Topics.CLIP_PROCESSED, "metadata"),
            (Topics.CLIP_ENRICHED, "plugin-runner"),
            (Topics.PLUGIN_CHANGED, "plugin-runner"),
        )
    ),
]

EXAMPLES: dict[str, BaseModel] = {
    Topics.CLIP_CAPTURED: ClipCaptured(clip_id=CLIP_ID, clip=_CLIP, **_ENVELOPE),
    Topics.CLIP_PROCESSED: ClipProcessed(
        clip_id=CLIP_ID,
        source_event_id=RUN_ID,
        runner="plugin-runner-1",
        due=["highlight_detector"],
        results=[_RESULT],
        event_id=uuid.UUID("a3d0c2f4-5b6e-4f70-8a91-b2c3d4e5f601"),
        occurred_at=AT,
    ),
    Topics.CLIP_ENRICHED: ClipEnriched(
        clip_id=CLIP_ID,
        source_event_id=RUN_ID,
        clip=_CLIP.model_copy(
            update={
                "status": ClipStatus.COMPLETED,
                "metadata": {"plugins": {"highlight_detector": _RESULT.result}},
            }
        ),
        event_id=uuid.UUID("c5e2a4b6-7d8f-4a01-9b23-d4e5f6a7b802"),
        occurred_at=AT,
    ),
    Topics.CLIP_UPDATED: ClipUpdated(clip_id=CLIP_ID, changed=["title"], clip=_CLIP, **_ENVELOPE),
    Topics.CLIP_DELETED: ClipDeleted(clip_id=CLIP_ID, **_ENVELOPE),
    Topics.PLUGIN_CHANGED: PluginChanged(
        plugin_id=1,
        name="highlight_detector",
        change="config",
        enabled=True,
        config={"max_highlights": 5},
        games=[GameSelector(game_name="Valorant"), GameSelector(game_id="21779")],
        game_config={"Valorant": {"max_highlights": 8}},
        **_ENVELOPE,
    ),
}
_LETTER = DeadLetter(
    service="plugin-runner",
    error="1 validation error for ClipCaptured\nclip_id\n  Field required",
    topic=Topics.CLIP_CAPTURED,
    partition=3,
    offset=1042,
    key="not-a-clip",
    original='{"event_type": "clip.captured"}',
    original_size=31,
    original_sha256="5d5f1c1e0e0f3e6f0f1b6c4a9a5e2d3c7b8a9f0e1d2c3b4a5968778695a4b3c2",
    occurred_at=AT,
)


def _declared() -> KafkaBroker:
    broker = KafkaBroker("localhost:9092", description="The Kafka cluster clipforge runs on")
    for channel in CHANNELS:
        broker.publisher(
            channel.topic,
            schema=channel.payload,
            title=channel.topic,
            description=f"{channel.description} Published by {channel.publisher}.",
        )
        for service, group in channel.readers:
            broker.subscriber(
                channel.topic,
                group_id=group,
                title=f"{channel.topic}:{service}",
                description=f"{service} reads {channel.topic}"
                + (f" in consumer group `{group}`." if group else ", every replica all of it."),
            )(_reader_of(channel.payload))
    return broker


def _reader_of(payload: type[BaseModel]) -> Any:
    async def read(event: Any) -> None:
        """Declared, never run: FastStream takes the message schema from the annotation."""

    read.__annotations__ = {"event": payload, "return": None}
    return read


def asyncapi_json(version: str) -> str:
    """The document as committed and served: stable key order, so a diff shows real changes."""
    return json.dumps(asyncapi_document(version), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def asyncapi_document(version: str) -> dict[str, Any]:
    document: dict[str, Any] = (
        AsyncAPI(_declared(), title="clipforge events", version=version, description=DESCRIPTION)
        .to_specification()
        .to_jsonable()
    )
    for name, message in document["components"]["messages"].items():
        topic = name.split(":", 1)[0]
        example = EXAMPLES.get(topic, _LETTER if topic.endswith(".dlq") else None)
        if example is not None:
            message["examples"] = [{"name": "example", "payload": example.model_dump(mode="json")}]
    return document


if __name__ == "__main__":  # make docs
    from clipforge import __version__

    print(asyncapi_json(__version__), end="")
