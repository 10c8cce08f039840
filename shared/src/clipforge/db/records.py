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
    record = ClipRecord.model_validate(clip)
    metadata, omitted = within_budget(record.metadata)
    return record.model_copy(update={"metadata": metadata, "omitted_results": omitted}) if omitted else record


def within_budget(metadata: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The metadata with the largest plugin results left out until the rest fits the budget."""
    results = metadata.get(RESULTS_KEY)
    if not isinstance(results, dict) or encoded_size(results) <= RESULTS_BUDGET_BYTES:
        return metadata, []  # the common case: one encoding, not one per result
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
