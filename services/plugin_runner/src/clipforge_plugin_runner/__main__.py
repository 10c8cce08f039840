"""`python -m clipforge_plugin_runner`: run one worker replica."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from clipforge.logs import configure_logging
from clipforge.observability.tracing import configure_tracing, shutdown_tracing
from clipforge.settings import get_settings
from clipforge_plugin_runner.app import build
from clipforge_plugin_runner.captured import SERVICE


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, SERVICE, settings.log_format)
    configure_tracing(SERVICE, settings)
    if sys.version_info < (3, 12):
        # Plugins run in processes the worker starts (see plugin_host). Python 3.11's default
        # child watcher starts a thread per process to wait for it; a pidfd watcher waits in the
        # event loop instead (3.12 does this by default).
        asyncio.set_child_watcher(asyncio.PidfdChildWatcher())
    asyncio.run(build(settings).run())
    # The graceful shutdown is done (offsets committed, plugins shut down). A sync plugin hook
    # that hung past its time limit may still hold a thread, which the interpreter would wait
    # for at exit: do not let it keep the worker from stopping (and no atexit hook runs: the
    # spans still buffered are exported here).
    shutdown_tracing()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
