"""The runner's two small subscribers: `on_clip_processed` hooks when a clip is enriched, and
registry changes applied to the loaded plugins."""

from __future__ import annotations

import logging

from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from clipforge.dead_letters import DeadLetters
from clipforge.events import ClipEnriched, PluginChanged
from clipforge.logs import log_context
from clipforge_plugin_runner.host import PluginHost

log = logging.getLogger(__name__)


class HookHandlers:
    def __init__(self, host: PluginHost, dead_letters: DeadLetters) -> None:
        self.host = host
        self.dead_letters = dead_letters

    async def on_clip_enriched(self, msg: KafkaMessage) -> None:
        """The seed's "on_clip_processed when processing completes": each enabled plugin's hook
        with the merged record; failures are contained and logged."""
        for _, event in await self.dead_letters.decoded([msg.raw_message], ClipEnriched):
            # in the clip's trace already: FastStream's span of this record continues it
            with log_context(clip_id=event.clip_id, event_id=event.event_id):
                await self.host.run_processed(event.clip.model_dump(mode="json"))

    async def on_plugin_changed(self, msg: KafkaMessage) -> None:
        """Bring the plugin in line with its registry row. A malformed change is ignored: the
        registry is the truth, and the next change or a restart repairs what it missed."""
        try:
            change = PluginChanged.model_validate_json(msg.body)
        except ValidationError as exc:
            log.warning("ignoring malformed plugin.changed message: %s", exc)
            return
        log.info("plugin %s: %s", change.name, change.change)
        await self.host.refresh(change.name, reload_code=change.change in ("updated", "registered"))
