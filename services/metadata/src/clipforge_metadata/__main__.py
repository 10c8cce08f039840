"""`python -m clipforge_metadata`: run the metadata service."""

from __future__ import annotations

import asyncio

from clipforge.logs import configure_logging
from clipforge.settings import get_settings
from clipforge_metadata.app import build


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    asyncio.run(build(settings).run())


if __name__ == "__main__":
    main()
