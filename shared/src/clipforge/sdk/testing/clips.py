"""What a hook gets: a clip (`sample_clip`) and, for plugins that read video, its file
(`make_video`)."""

from __future__ import annotations

import array
import math
import uuid
from pathlib import Path
from typing import Any, cast

from clipforge.events import ClipRecord
from clipforge.sdk.plugin import ClipData

RUNNER_ADDED = ("media_path", "artifacts_dir")
"""The keys the runner adds to the stored clip (see `ClipData`)."""

CLIP_KEYS = frozenset(ClipData.__required_keys__ | ClipData.__optional_keys__)

SAMPLE: dict[str, Any] = {"title": "Sample clip", "file_path": "sample.mp4", "game_name": "Sample Game"}
SAMPLE_FILE: dict[str, Any] = {
    "resolution": "1920x1080",
    "fps": 60.0,
    "duration": 30.0,
    "file_size": 24_000_000,
}
"""The file's own fields, as a client may give them: in the sample only when it has no file."""


def sample_clip(**fields: Any) -> ClipData:
    """A clip as a hook gets it: a stored clip (`ClipRecord`) as JSON values, and the keys the
    runner adds (`media_path`, `artifacts_dir`: None unless given). `fields` replace the sample's;
    a key no clip has is a `ValueError` (a typo would otherwise test nothing). With a
    `media_path`, the sample leaves the file's own fields (duration, fps, ...) empty, as they are
    when a clip is uploaded: the file says what they are."""
    if unknown := sorted(set(fields) - CLIP_KEYS):
        raise ValueError(f"a clip has no {', '.join(unknown)}; its keys are {', '.join(sorted(CLIP_KEYS))}")
    added = {key: fields.pop(key, None) for key in RUNNER_ADDED}
    sample = SAMPLE if added["media_path"] else {**SAMPLE, **SAMPLE_FILE}
    record = ClipRecord.model_validate({"id": uuid.uuid4(), **sample, **fields})
    return cast(ClipData, {**record.model_dump(mode="json"), **added})


AUDIO_RATE = 48_000
AUDIO_FRAME = 1024


def make_video(
    path: str | Path,
    *,
    seconds: float = 2.0,
    width: int = 320,
    height: int = 240,
    fps: int = 30,
    audio: bool = True,
) -> Path:
    """A small real H.264/AAC MP4 at `path`: a picture that brightens a little every frame and
    a 440 Hz tone. Made with PyAV (clipforge depends on it), so a test needs no sample file."""
    import av  # here: it takes a while to import, and only tests that read video need it

    path = Path(path)
    with av.open(str(path), "w") as out:  # every stream is added before the first packet
        picture = out.add_stream("libx264", rate=fps)
        picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame(width, height, "yuv420p")
            for p, plane in enumerate(frame.planes):
                plane.update(bytes([(i * 3 + p * 60) % 256]) * plane.buffer_size)
            frame.pts = i
            out.mux(picture.encode(frame))
        out.mux(picture.encode())
        if sound is not None:
            for k in range(math.ceil(seconds * AUDIO_RATE / AUDIO_FRAME)):
                t0 = k * AUDIO_FRAME
                tone = [0.2 * math.sin(2 * math.pi * 440 * (t0 + j) / AUDIO_RATE) for j in range(AUDIO_FRAME)]
                chunk = av.AudioFrame(format="fltp", layout="mono", samples=AUDIO_FRAME)
                chunk.planes[0].update(array.array("f", tone).tobytes())
                chunk.sample_rate, chunk.pts = AUDIO_RATE, t0
                out.mux(sound.encode(chunk))
            out.mux(sound.encode())
    return path
