"""The benchmark's no-op plugin: measures what the worker costs around a plugin that costs nothing."""

from __future__ import annotations

from typing import Any

from clipforge.sdk import PluginBase, PluginMetadata


class BenchNoop(PluginBase):
    @property
    def metadata(self) -> PluginMetadata:
        return PluginMetadata(
            name="bench_noop",
            display_name="Benchmark no-op",
            description="Returns an empty result at once (used by `make bench`).",
            version="1.0.0",
            author="clipforge",
            plugin_type="python",
            enabled_by_default=False,
        )

    def on_clip_captured(self, clip_data: Any) -> Any:
        return {}
