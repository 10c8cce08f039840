"""Rows as event payloads: the one mapping from a `clips` row to the public `ClipRecord`.

An event must fit one Kafka message, and a clip's plugin results may not (each is capped at
CLIPFORGE_RESULT_MAX_BYTES, but a clip can have many): past `RESULTS_BUDGET_BYTES`, the largest
results are left out of the event and named in `omitted_results`, so the event always goes out.
"""

from __future__ import annotations

from typing import Any

from clipforge.db.models import Clip
from clipforge.events import ClipRecord
from clipforge.storable import encoded_size

RESULTS_BUDGET_BYTES = 512 * 1024
RESULTS_KEY = "plugins"


def clip_record(clip: Clip) -> ClipRecord:
    metadata, omitted = within_budget(dict(clip.clip_metadata or {}))
    return ClipRecord(
        id=clip.id,
        title=clip.title,
        description=clip.description,
        file_path=clip.file_path,
        resolution=clip.resolution,
        fps=clip.fps,
        codec=clip.codec,
        duration=clip.duration,
        file_size=clip.file_size,
        game_name=clip.game_name,
        game_id=clip.game_id,
        status=clip.status,
        tags=list(clip.tags or []),
        metadata=metadata,
        recorded_at=clip.recorded_at,
        created_at=clip.created_at,
        updated_at=clip.updated_at,
        omitted_results=omitted,
    )


def within_budget(metadata: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The metadata with the largest plugin results left out until the rest fits the budget."""
    results = metadata.get(RESULTS_KEY)
    if not isinstance(results, dict) or not results:
        return metadata, []
    sizes = {name: encoded_size(result) for name, result in results.items()}
    total = sum(sizes.values())
    omitted = []
    for name in sorted(sizes, key=lambda n: (-sizes[n], n)):
        if total <= RESULTS_BUDGET_BYTES:
            break
        omitted.append(name)
        total -= sizes[name]
    if not omitted:
        return metadata, []
    kept = {name: result for name, result in results.items() if name not in omitted}
    return {**metadata, RESULTS_KEY: kept}, sorted(omitted)
