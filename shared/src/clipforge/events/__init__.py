"""The public event contracts: what travels on clipforge's Kafka topics.

Every event is a JSON object with an envelope (`event_id`, `event_type`, `schema_version`,
`occurred_at`, and `clip_id` for clip events) followed by its payload. Messages are keyed by
clip id, so one clip's events stay in order within a partition. Adding an optional field keeps
`schema_version`; anything a subscriber could trip over bumps it.
"""

from clipforge.events.contracts import (
    ClipCaptured,
    ClipDeleted,
    ClipEnriched,
    ClipProcessed,
    ClipRecord,
    ClipStatus,
    ClipUpdated,
    DeadLetter,
    Envelope,
    PluginChanged,
    PluginResult,
    PluginRunStatus,
    derived_event_id,
)
from clipforge.events.topics import Topics

__all__ = [
    "ClipCaptured",
    "ClipDeleted",
    "ClipEnriched",
    "ClipProcessed",
    "ClipRecord",
    "ClipStatus",
    "ClipUpdated",
    "DeadLetter",
    "Envelope",
    "PluginChanged",
    "PluginResult",
    "PluginRunStatus",
    "Topics",
    "derived_event_id",
]
