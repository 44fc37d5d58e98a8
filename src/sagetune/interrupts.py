"""Stop requests (SIGTERM, Ctrl-C) taken where nothing is half-done.

Python raises a signal handler's exception wherever the main thread happens to be. In a tuner
that may be between taking a job's end from its executor and recording it (the end is then
lost, and the job stays InProgress in the store), or inside SQLAlchemy while it sets up a
statement (which wraps an ordinary exception into a ``StatementError``). So while a tuner's
loop runs (:func:`deferred_stops`), a signal is only noted, and the loop raises it at its next
:func:`check`, at the top of a turn, where nothing is in hand. A turn is short (the executor
is polled a quarter of a second at a time), so a stop usually lands within a fraction of a
second; a suggestion being computed finishes first.

Signal handlers run in the main thread only; elsewhere these do nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Terminated(BaseException):
    """The tuner process was asked to end (SIGTERM).

    A BaseException, as KeyboardInterrupt is, so that ``except Exception`` clauses on its way
    let it through."""


class _Gate:
    def __init__(self) -> None:
        self.pending: type[BaseException] | None = None


_gate = _Gate()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def deferred_stops() -> Iterator[None]:
    """SIGTERM and Ctrl-C are noted, and raised (as :class:`Terminated` and
    KeyboardInterrupt) at the next :func:`check`.

    Only the first of each is deferred: a second SIGTERM is ignored (the clean-up it asked for
    is under way), a second Ctrl-C goes to the handler that was there before (by default,
    KeyboardInterrupt at once). A Ctrl-C ignored by the process (a background job) stays
    ignored."""
    if not _main_thread():
        yield
        return
    before_int = signal.getsignal(signal.SIGINT)
    takes_int = callable(before_int)

    def note(signum: int, _frame: Any) -> None:
        if signum == signal.SIGTERM:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            exc: type[BaseException] = Terminated
        else:
            signal.signal(signal.SIGINT, before_int)
            exc = KeyboardInterrupt
        if _gate.pending is None:
            _gate.pending = exc

    before_term = signal.signal(signal.SIGTERM, note)
    if takes_int:
        signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        _gate.pending = None
        signal.signal(signal.SIGTERM, before_term)
        if takes_int:
            signal.signal(signal.SIGINT, before_int)


def check() -> None:
    """Raise the stop request noted since the last check, if any."""
    if _gate.pending is not None and _main_thread():
        exc, _gate.pending = _gate.pending, None
        raise exc
