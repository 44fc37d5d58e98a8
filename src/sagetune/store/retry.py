"""Retrying a store's transactions when the database connection fails.

A PostgreSQL server that restarts or fails over ends every session: a statement in flight
raises ``OperationalError`` (``AdminShutdown``, "the database system is shutting down",
"connection refused" while it starts again), and ``pool_pre_ping`` only helps connections
taken from the pool afterwards. SQLite answers "database is locked" when a writer holds the
file past the busy timeout. Both are transient: :func:`call` runs a store operation again,
each time on a fresh connection, with exponential backoff, until the retry budget
(``SAGETUNE_STORE_RETRY_SECONDS``, default 30 s, or ``SQLStore(retry_seconds=...)``) is spent;
then it raises :class:`~sagetune.errors.StoreUnavailable`.

A failed write may have committed (the server went away between the commit and its answer),
so a write is retried only in a form that is safe either way: each write method names its
``again`` variant, which checks what the first attempt left (a row already created by it, an
update already applied) in the retrying transaction. Reads and idempotent writes (updates that
set values, the lease's conditional updates, metric points, which the database skips when
their unique key is already there) are simply run again.

The budget outlasts a tuner's lease (``control.LEASE_TTL_SECONDS``, 20 s) on purpose, so that
a tuner rides out a server's restart; but another tuner may find the lease stale meanwhile
and take the tuning job over. So after any lost connection a store renews the leases it holds
before it runs anything else (``SQLStore._confirm_leases``): a lease found taken raises
:class:`~sagetune.errors.LeaseLost`, and that tuner stops its training jobs and writes nothing
more.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from sagetune.errors import StoreUnavailable

RETRY_ENV = "SAGETUNE_STORE_RETRY_SECONDS"
DEFAULT_RETRY_SECONDS = 30.0
_FIRST_DELAY = 0.05
_MAX_DELAY = 2.0

T = TypeVar("T")

_inside = threading.local()


def retry_seconds(given: float | None = None) -> float:
    """The retry budget: ``given``, else ``$SAGETUNE_STORE_RETRY_SECONDS``, else 30 s."""
    if given is not None:
        return max(0.0, float(given))
    text = os.environ.get(RETRY_ENV, "").strip()
    if not text:
        return DEFAULT_RETRY_SECONDS
    try:
        return max(0.0, float(text))
    except ValueError:
        raise ValueError(f"{RETRY_ENV} must be a number of seconds, got {text!r}") from None


def is_transient(exc: BaseException, sqlite: bool) -> bool:
    """Whether ``exc`` is a lost or refused connection (or SQLite's lock), worth retrying."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    if sqlite:  # SQLite's OperationalError is also "no such table", a bad SQL...
        text = str(exc.orig if exc.orig is not None else exc).lower()
        return "database is locked" in text or "database is busy" in text
    # PostgreSQL's OperationalError: a lost connection, a server shutting down or starting,
    # a refused connection, a transaction rolled back by the server (serialization, deadlock).
    return True


def first_line(exc: BaseException) -> str:
    """The first line of a database error (the driver's message, without SQLAlchemy's SQL)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def call(
    store: Any,
    first: Callable[[], T],
    again: Callable[[], T] | None = None,
) -> T:
    """Run ``first``; after a transient failure run ``again`` (or ``first``) until the budget
    ``store.retry_seconds`` is spent, each attempt on a new connection.

    A call made while another runs on the same thread (a check inside ``again``) is not retried
    on its own: the outer call's budget covers it.

    Raises:
        StoreUnavailable: the database could not be reached within the budget.
    """
    if getattr(_inside, "active", False):
        return first()
    _inside.active = True
    try:
        budget: float = store.retry_seconds
        started = time.monotonic()
        delay = _FIRST_DELAY
        attempt = first
        while True:
            try:
                return attempt()
            except Exception as exc:
                if not is_transient(exc, store.is_sqlite):
                    raise
                elapsed = time.monotonic() - started
                if elapsed >= budget:
                    raise StoreUnavailable(
                        f"the store was unreachable for {elapsed:.0f} s "
                        f"({RETRY_ENV}={budget:g}): {first_line(exc)}"
                    ) from None
                if not store.is_sqlite:
                    # Every pooled connection is as dead as this one: start afresh.
                    store.engine.dispose()
                time.sleep(min(delay * random.uniform(0.8, 1.2), budget - elapsed))
                delay = min(delay * 2, _MAX_DELAY)
                attempt = again or first
    finally:
        _inside.active = False
