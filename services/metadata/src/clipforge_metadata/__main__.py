"""`python -m clipforge_metadata`: run the metadata service."""

from __future__ import annotations

import asyncio

from clipforge.logs import configure_logging
from clipforge.observability.tracing import configure_tracing
from clipforge.settings import get_settings
from clipforge_metadata.app import build
from clipforge_metadata.processed import SERVICE


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, SERVICE, settings.log_format)
    configure_tracing(SERVICE, settings)
    asyncio.run(build(settings).run())


if __name__ == "__main__":
    main()
