"""`python -m clipforge_plugin_runner`: run one worker replica."""

from __future__ import annotations

import asyncio

from clipforge.logs import configure_logging
from clipforge.settings import get_settings
from clipforge_plugin_runner.app import build


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    asyncio.run(build(settings).run())


if __name__ == "__main__":
    main()
