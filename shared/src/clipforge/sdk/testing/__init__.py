"""Testing a plugin the way the runner runs it, with no runner, database or broker.

    from clipforge.sdk.testing import run_plugin

    def test_counts_the_title_s_words(sample_video):
        run = run_plugin(MyPlugin, clip={"title": "An ace"}, config={"min_length": 2}, media=sample_video)
        assert run.status == "ok", run.error
        assert run.result == {"title_words": 2}

- `run_plugin` (`run_plugin_async` in async tests) calls a hook as the runner's host process
  does, with the same code (`clipforge.sdk.execution`): the configuration parsed by
  `config_model`, a private copy of the clip, the time limit, exceptions turned into the run's
  `error`, `SkipClip` into `skipped`, and the result checks (JSON Postgres can store, the size
  cap). It returns the `PluginResult` the runner would report.
- `sample_clip(**fields)`: a clip as hooks get it; `make_video(path)`: a small real MP4.
- pytest fixtures, there wherever clipforge is installed (its `pytest11` entry point):
  `clip_data` (a fresh `sample_clip()`) and `sample_video` (a 2-second MP4, made once a session).

What it does not do is isolate: the hook runs in the test's own process, with its environment
and without the runner's resource limits. `clipforge plugin run` runs a plugin in the runner's
sandboxed host process.
"""

from clipforge.sdk.testing.clips import make_video, sample_clip
from clipforge.sdk.testing.runs import (
    DEFAULT_TIMEOUT_S,
    RESULT_MAX_BYTES,
    PluginLoadError,
    run_plugin,
    run_plugin_async,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "RESULT_MAX_BYTES",
    "PluginLoadError",
    "make_video",
    "run_plugin",
    "run_plugin_async",
    "sample_clip",
]
