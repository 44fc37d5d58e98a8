"""``sagetune db upgrade`` and ``sagetune db current``: the store's schema, for operators.

Opening a store upgrades it anyway (``sagetune.store.migrations``); these verbs let an operator
of a shared store (PostgreSQL) upgrade it on purpose, before the tuners of a new sagetune meet
it, and see where it stands without changing anything. A database that cannot be reached (a
server down, a database that does not exist, a file that cannot be opened) is one line naming
it and the driver's reason, exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from sagetune.cli import main, store_option, store_url_of
from sagetune.errors import ResourceNotFound, StoreUnavailable
from sagetune.store.migrations import HEAD, current_revisions, script_directory, upgrade_to_head
from sagetune.store.retry import first_line
from sagetune.store.sql import create_store_engine, sqlite_path, store_url


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    """The store's engine, disposed after; a connection that fails is ``StoreUnavailable``."""
    engine = create_store_engine(url)
    try:
        yield engine
    except (OperationalError, InterfaceError) as exc:
        raise StoreUnavailable(
            f"cannot reach the store at {_shown(url)}: {first_line(exc)}"
        ) from None
    finally:
        engine.dispose()


@main.group("db")
def db() -> None:
    """The store's schema: its revision, and upgrading it to this sagetune's."""


@db.command("upgrade")
@store_option
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Bring the store's schema to this sagetune's revision (a new store is created), keeping
    every row. Safe while others open the store: migrations are serialised (PostgreSQL: an
    advisory lock) and each is one transaction. A store from a newer sagetune is refused."""
    url = store_url(store_url_of(ctx))
    with _engine(url) as engine:
        upgrade_to_head(engine)
    click.echo(f"{_shown(url)}: at revision {HEAD} (head)")


@db.command("current")
@store_option
@click.pass_context
def current(ctx: click.Context) -> None:
    """Print the store's schema revision, and whether it is this sagetune's; nothing changes
    (a SQLite file that does not exist is reported, not created)."""
    url = store_url(store_url_of(ctx))
    path = sqlite_path(make_url(url))
    if path is not None and not path.exists():
        raise ResourceNotFound(f"no store at {path}: sagetune db upgrade creates one")
    with _engine(url) as engine, engine.connect() as conn:
        revisions = current_revisions(conn)
    shown = ", ".join(revisions) or "none"
    if revisions == (HEAD,):
        state = "head"
    elif not revisions:
        state = f"an empty store, or one from before migrations; head is {HEAD}"
    elif {rev for rev in revisions} <= {s.revision for s in script_directory().walk_revisions()}:
        state = f"older than head {HEAD}: sagetune db upgrade"
    else:
        state = f"newer than this sagetune knows, head {HEAD}: upgrade sagetune"
    click.echo(f"{shown} ({state})")
