"""media_probe: what the clip's file really is, read from its headers and packets (nothing is
decoded): container, duration, bitrate, the video stream (codec, profile, size, average and real
fps, rotation, keyframe interval) and the audio stream (codec, channels, sample rate).

The clip's own fields the client left empty are filled from the file (`clip_fields`: duration,
fps, resolution, codec, file_size); where a field the client gave disagrees with the file,
`disagreements` says so, field by field, without changing either. A clip without a file (yet) is
`skipped`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clipforge.media.probe import NotAVideo, probe
from clipforge.sdk import PluginBase, PluginMetadata, SkipClip
from clipforge.sdk.plugin import CLIP_FIELDS

TOLERANCE = {"duration": 0.5, "fps": 0.5}


class MediaProbe(PluginBase):
    @property
    def metadata(self) -> PluginMetadata:
        return PluginMetadata(
            name="media_probe",
            display_name="Media Probe",
            description="Reads what the clip's file really is: container, streams, fps, bitrate, keyframes.",
            version="0.2.0",
            author="clipforge",
            plugin_type="python",
            enabled_by_default=True,
            timeout_s=30,  # a long recording takes longer
        )

    def on_clip_captured(self, clip_data: Any) -> dict[str, Any]:
        media_path = clip_data.get("media_path")
        if not media_path:
            raise SkipClip("no media file")
        try:
            info = probe(Path(media_path))
        except NotAVideo as exc:
            raise ValueError(f"the clip's file cannot be read: {exc}") from None
        read = {
            "duration": info["duration"],
            "fps": info["video"]["average_fps"],
            "resolution": info["video"]["resolution"],
            "codec": info["video"]["codec"],
            "file_size": Path(media_path).stat().st_size,
        }
        return {
            **info,
            CLIP_FIELDS: {k: v for k, v in read.items() if v is not None},
            "disagreements": disagreements(clip_data, read),
        }


def disagreements(clip: dict[str, Any], read: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The clip's fields the file contradicts: {field: {"clip": given, "file": read}}."""
    found = {}
    for field, from_file in read.items():
        given = clip.get(field)
        if given is None or from_file is None:
            continue
        tolerance = TOLERANCE.get(field)
        differs = (
            abs(float(given) - float(from_file)) > tolerance if tolerance else str(given) != str(from_file)
        )
        if differs:
            found[field] = {"clip": given, "file": from_file}
    return found
