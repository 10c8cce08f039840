"""Which failures pass by themselves: the one decision behind every retry in clipforge.

A *transient* fault is the database or the broker being away (refused connections, a restart,
a dropped connection, a full pool, a broker without a leader for a moment). Waiting and trying
again is the right answer to it, however long it lasts. Anything else (a value the database
refuses, a message too large, a bug) will fail the same way every time: it gets a few attempts
and then a dead letter, so that it never blocks the messages behind it.
"""

from __future__ import annotations

import errno

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from sqlalchemy import exc as sa_exc

_TRANSIENT = (
    ConnectionError,  # refused, reset, aborted
    TimeoutError,
    sa_exc.TimeoutError,  # no pooled connection came free in time
    asyncpg.PostgresConnectionError,  # connection refused, dropped, protocol lost
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01: the server was stopped
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.TooManyConnectionsError,  # 53300
    asyncpg.ConnectionDoesNotExistError,  # the connection was closed in the middle of an operation
)


def is_transient(exc: BaseException) -> bool:
    """Whether `exc`, or anything it was raised from, is a fault that passes by itself."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _transient_itself(current):
            return True
        current = current.__cause__ or current.__context__
    return False


# The network being away, as other OSErrors say it (a full disk or a bad file name is not).
_NETWORK_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN, errno.EPIPE}


def _transient_itself(exc: BaseException) -> bool:
    if isinstance(exc, _TRANSIENT):
        return True
    if isinstance(exc, OSError):
        # asyncio's "Multiple exceptions: [Errno 111] Connect call failed ..." carries no errno
        return exc.errno in _NETWORK_ERRNOS or (
            exc.errno is None and "connect call failed" in str(exc).lower()
        )
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated
    if isinstance(exc, KafkaError):
        return bool(exc.retriable) or isinstance(exc, KafkaConnectionError | KafkaTimeoutError)
    return False
