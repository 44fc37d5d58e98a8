"""``sagetune db upgrade`` and ``sagetune db current``: the store's schema, for operators.

Opening a store upgrades it anyway (``sagetune.store.migrations``); these verbs let an operator
of a shared store (PostgreSQL) upgrade it on purpose, before the tuners of a new sagetune meet
it, and see where it stands without changing anything.
"""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url

from sagetune.cli import main, store_option, store_url_of
from sagetune.store.migrations import HEAD, current_revisions, script_directory, upgrade_to_head
from sagetune.store.sql import create_store_engine, store_url


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


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
    engine = create_store_engine(url)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()
    click.echo(f"{_shown(url)}: at revision {HEAD} (head)")


@db.command("current")
@store_option
@click.pass_context
def current(ctx: click.Context) -> None:
    """Print the store's schema revision, and whether it is this sagetune's; nothing changes
    (a store that does not exist yet is not created, except an empty SQLite file)."""
    url = store_url(store_url_of(ctx))
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            revisions = current_revisions(conn)
    finally:
        engine.dispose()
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
