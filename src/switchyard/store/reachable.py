"""Is the store reachable? Telling "the database is down" from "the database refused this row".

When PostgreSQL is unreachable the gateway keeps serving from what it holds in memory (verified
keys, accounts, cooldowns) and spools usage; only what needs the store answers 503. Every place
that meets a store error asks `store_unreachable()`, and reports to the store's `StoreHealth`,
which `/readyz` and the `switchyard_store_up` gauge read.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc

log = logging.getLogger("switchyard.store")


UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")
"""PostgreSQL's connection exceptions (class 08) and its shutting down / starting up (57P01-3: "the
database system is not yet accepting connections" while it restarts)."""


def store_unreachable(error: BaseException) -> bool:
    """The store itself failed (connection, pool, lock), not the data: worth retrying later."""
    if isinstance(error, sa_exc.DBAPIError):
        return (
            error.connection_invalidated
            or isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)
            or _unreachable_cause(error.orig)
        )
    return isinstance(error, OSError | TimeoutError | sa_exc.TimeoutError | sa_exc.DisconnectionError)


def _unreachable_cause(error: BaseException | None) -> bool:
    """The driver's error, or what it wraps, says the connection failed (asyncpg's errors reach
    SQLAlchemy as a generic DBAPIError; the SQLSTATE tells)."""
    for _ in range(4):
        if error is None:
            return False
        if isinstance(error, OSError | TimeoutError):
            return True
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(state, str) and state.startswith(UNREACHABLE_SQLSTATES):
            return True
        error = error.__cause__ or error.__context__
    return False


def describe(error: BaseException) -> str:
    """The driver's error class and first line, without the SQL parameters SQLAlchemy appends."""
    cause = error.orig if isinstance(error, sa_exc.StatementError) and error.orig else error
    lines = str(cause).splitlines()
    return f"{type(cause).__name__}: {lines[0][:200] if lines else ''}"


@dataclass
class StoreHealth:
    """The store's reachability as last seen by anyone who used it; changes are logged once."""

    up: bool = True
    down_since: float | None = None
    last_error: str | None = None

    def failed(self, error: BaseException) -> None:
        self.last_error = describe(error)
        if self.up:
            self.up, self.down_since = False, time.time()
            log.warning("the store is unreachable (%s): serving from memory, spooling usage", self.last_error)

    def ok(self) -> None:
        if not self.up:
            log.warning("the store is reachable again after %.0f s", time.time() - (self.down_since or 0))
            self.up, self.down_since = True, None
