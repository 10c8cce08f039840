"""The plugin SDK: subclass `PluginBase`, describe it with `PluginMetadata`.

    from clipforge.sdk import PluginBase, PluginMetadata

    class MyPlugin(PluginBase):
        @property
        def metadata(self) -> PluginMetadata:
            return PluginMetadata(name="my_plugin", display_name="My Plugin", version="1.0.0")

        def on_clip_captured(self, clip_data):
            clip_data["metadata"]["processed_by"] = "my_plugin"
            return clip_data

Whatever the hook adds or changes in `clip_data["metadata"]` becomes the plugin's result, shown
under `metadata.plugins.my_plugin` of the clip.
"""

from clipforge.sdk.plugin import ClipData, PluginBase, PluginContext, PluginMetadata, SkipClip

__all__ = ["ClipData", "PluginBase", "PluginContext", "PluginMetadata", "SkipClip"]
