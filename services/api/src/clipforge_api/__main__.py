"""`python -m clipforge_api`: serve the API with uvicorn."""

from __future__ import annotations

import uvicorn

from clipforge.logs import configure_logging
from clipforge.observability.tracing import configure_tracing
from clipforge.settings import get_settings


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, "api", settings.log_format)
    configure_tracing("api", settings)
    uvicorn.run(
        "clipforge_api.app:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        loop="uvloop",
    )


if __name__ == "__main__":
    main()
