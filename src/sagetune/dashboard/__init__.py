"""A live dashboard of the tuning jobs in a store (FastAPI + uvicorn, the ``server`` extra).

Pages: the list of tuning jobs; a page per tuning job (counters, the training jobs table,
the plots, a stop button), updated in place while it runs; a page per training job
(hyperparameters, metric curves, log tail). It binds to loopback by default; binding to any
other address requires a token, and every request without it gets 401.

Example:
    >>> from sagetune.dashboard import create_app
    >>> app = create_app("sqlite:///tuning.db")  # doctest: +SKIP
"""

from __future__ import annotations

import ipaddress
import os
import threading
from typing import TYPE_CHECKING

from sagetune.errors import ValidationError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from sagetune.store import Store

TOKEN_ENV = "SAGETUNE_DASHBOARD_TOKEN"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without a token.

    Raises:
        ValidationError: naming ``--token`` when ``host`` is not loopback and no token is set.
    """
    if not is_loopback(host) and not token:
        raise ValidationError(
            f"--token: binding to {host} exposes the dashboard beyond this machine; pass "
            f"--token or set {TOKEN_ENV} (or bind to 127.0.0.1)"
        )


def serve(
    store: Store | str | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    token: str | None = None,
    log_level: str = "warning",
) -> None:
    """Run the dashboard until interrupted.

    Args:
        store: a store, a SQLAlchemy URL, a SQLite file path, or None for the default store.
        host: the address to bind (loopback by default).
        port: the port.
        token: required on every request when set; mandatory beyond loopback (falls back to
            ``$SAGETUNE_DASHBOARD_TOKEN``).
        log_level: uvicorn's log level.

    Raises:
        ValidationError: when binding beyond loopback without a token.
    """
    token = token or os.environ.get(TOKEN_ENV) or None
    check_binding(host, token)
    import uvicorn

    app = create_app(store, token=token, loopback_hosts_only=token is None)
    # The figures' and importance's libraries load while the server starts, not on the
    # first page someone opens (about a second of imports).
    threading.Thread(target=_preload, name="sagetune-preload", daemon=True).start()
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def _preload() -> None:
    import importlib

    for module in ("pandas", "plotly.graph_objects", "sklearn.ensemble", "matplotlib.tri"):
        try:
            importlib.import_module(module)
        except ImportError:  # the page that needs it says so when asked
            pass


def create_app(
    store: Store | str | None = None, token: str | None = None, loopback_hosts_only: bool = False
) -> FastAPI:
    """The dashboard's FastAPI app (see :func:`sagetune.dashboard.app.create_app`)."""
    from sagetune.dashboard.app import create_app as _create

    return _create(store, token=token, loopback_hosts_only=loopback_hosts_only)


__all__ = ["TOKEN_ENV", "check_binding", "create_app", "is_loopback", "serve"]
