"""The seed document's usage examples (../shared/seed/), as the tests send them: one copy, so
every test checks the same promise."""

from __future__ import annotations

from typing import Any

# "Creating a Clip"
SEED_CLIP: dict[str, Any] = {
    "title": "Epic Victory",
    "file_path": "/clips/epic_victory.mp4",
    "game_name": "Counter-Strike 2",
    "duration": 45,
    "resolution": "1920x1080",
    "fps": 60,
}

# "Creating a Plugin", with only its import line changed.
SEED_PLUGIN = """
from clipforge.sdk import PluginBase, PluginMetadata

class MyPlugin(PluginBase):
    @property
    def metadata(self) -> PluginMetadata:
        return PluginMetadata(
            name="my_plugin",
            display_name="My Awesome Plugin",
            version="1.0.0",
            author="Your Name",
            plugin_type="python"
        )

    def on_clip_captured(self, clip_data):
        # Process clip data
        clip_data["metadata"]["processed_by"] = "my_plugin"
        return clip_data
"""


def seed_plugin(name: str) -> str:
    """The seed plugin registered under another name (its result keeps the seed's value)."""
    return SEED_PLUGIN.replace('name="my_plugin"', f'name="{name}"')
