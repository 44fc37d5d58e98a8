"""Schema migrations of the SQL store: an Alembic history run in place whenever a store opens.

The revisions are in ``versions/`` (one module each, ``revision``/``down_revision`` and an
``upgrade()`` written with ``alembic.op``), shipped inside the package so an installed sagetune
can migrate the stores it meets. There is no ``env.py``: ``upgrade_to_head`` drives Alembic's
``MigrationContext`` and ``Operations`` on the store's own engine. To change the schema, add a
revision after the newest one, change the tables in ``sql.py`` to match, and move ``HEAD``.

What opening a store does:

- ``alembic_version`` says ``HEAD``: nothing (one query; Alembic is not even imported).
- A new, empty database: every revision runs, so it ends at ``HEAD``.
- A store from before migrations (its tables, no ``alembic_version``): revision 0001 adopts it,
  adding the columns it lacks, and the later ones follow; no row is touched.
- A revision this code does not know (a newer sagetune wrote it): ``StoreVersionError``, and
  nothing is changed.
- An older schema in a store opened read-only (a SQLite ``?mode=ro`` file; a PostgreSQL
  session that may not change the tables: a read-only transaction or a role without the
  privilege): ``StoreNotWritable``, saying a writer must upgrade it (``sagetune db
  upgrade``); nothing is changed.

All of it is one transaction, so a failed migration leaves the store as it was (PostgreSQL's
DDL is transactional too). Processes that open a new store at once are serialised: on SQLite
the transaction takes the write lock first (``BEGIN IMMEDIATE``); on PostgreSQL it takes a
transaction-level advisory lock (``pg_advisory_xact_lock(MIGRATION_LOCK)``, released at commit
or rollback). The others wait, then find the store at ``HEAD``. On any other database, a loser
of the race sees "already exists" and tries again. ``sagetune db upgrade`` runs the same
upgrade for operators, ``sagetune db current`` tells the revision without changing anything.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from sagetune.errors import StoreNotWritable

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

HEAD = "0004"
"""The newest revision in ``versions/`` (a test keeps the two in step)."""

VERSION_TABLE = "alembic_version"

MIGRATION_LOCK = 0x5A6E_7475_6E65_0001
"""The PostgreSQL advisory lock key that serialises sagetune's migrations of one database."""

_ATTEMPTS = 5
# PostgreSQL's refusals of a change the session may not make: a read-only transaction
# (read_only_sql_transaction) and a role without the privilege (insufficient_privilege).
_REFUSED = {"25006", "42501"}


class StoreVersionError(RuntimeError):
    """The store's schema is newer than this sagetune knows; nothing in it was changed."""


def upgrade_to_head(engine: Engine, read_only: bool = False) -> None:
    """Bring the schema of the store behind ``engine`` to ``HEAD``, keeping every row.

    Args:
        engine: the store's engine; for SQLite, connections must wait for locks (a busy
            timeout) so that concurrent openers queue instead of failing.
        read_only: the store is opened read-only, so an older schema cannot be upgraded
            here; reading it as it is would meet columns it lacks.

    Raises:
        StoreVersionError: the store was made by a newer sagetune (its revision is unknown
            here); it is left unchanged.
        StoreNotWritable: ``read_only`` and the store's schema is older than ``HEAD``.
    """
    with engine.connect() as conn:
        current = current_revisions(conn)
        if current == (HEAD,):
            return
    if read_only:
        known = {script.revision for script in script_directory().walk_revisions()}
        if any(rev not in known for rev in current) or len(current) > 1:
            with engine.connect() as conn:
                _upgrade(conn, _where(engine))  # raises StoreVersionError, changing nothing
        raise StoreNotWritable(
            _older_schema(
                engine,
                current,
                "is opened read-only",
                "without ?mode=ro, with write permission on the file and its folder",
            )
        )
    for attempt in range(_ATTEMPTS):
        try:
            with engine.connect() as conn:
                # Take a lock before looking, so that looking and creating are one step: a
                # concurrent opener waits here, then finds the store at HEAD.
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                elif conn.dialect.name == "postgresql":
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                _upgrade(conn, _where(engine))
                conn.commit()
            return
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) in _REFUSED:
                raise StoreNotWritable(
                    _older_schema(
                        engine,
                        current,
                        "this session may not change it",
                        "as a role that may alter its tables, in a writable session",
                    )
                ) from None
            if not isinstance(exc, OperationalError | ProgrammingError | IntegrityError):
                raise
            # Without a lock taken first (not SQLite), two processes may both find no tables
            # and both create them: the loser's DDL fails and it looks again.
            message = str(exc).lower()
            if ("exist" not in message and "unique" not in message) or attempt == _ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def _older_schema(engine: Engine, current: tuple[str, ...], why: str, how: str) -> str:
    """The one line saying an older schema cannot be upgraded by this opener, and who can."""
    have = f"revision {current[0]}" if current else "no revision"
    return (
        f"the store {_where(engine)} has an older schema ({have}; this sagetune's is {HEAD}) "
        f"and {why}: a writer must upgrade it first (sagetune db upgrade --store URL, {how})"
    )


def current_revisions(conn: Connection) -> tuple[str, ...]:
    """The revisions recorded in the store; empty for a new store or one made before Alembic."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return ()
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return tuple(sorted(rows))


@functools.cache
def script_directory() -> ScriptDirectory:
    """The revisions shipped with this sagetune (loaded once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(__file__).parent))


def _where(engine: Engine) -> str:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return (url.database or ":memory:").removeprefix("file:")  # a read-only store's URI
    return make_url(url).render_as_string(hide_password=True)


def _upgrade(conn: Connection, where: str) -> None:
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    scripts = script_directory()
    head = scripts.get_current_head()
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    current = context.get_current_heads()
    known = {script.revision for script in scripts.walk_revisions()}
    unknown = [rev for rev in current if rev not in known]
    if unknown or len(current) > 1:
        raise StoreVersionError(
            f"the store at {where} has schema revision {', '.join(unknown or current)}, newer "
            f"than this sagetune knows (head {head}): upgrade sagetune to open it"
        )
    if current == (head,):
        return
    # iterate_revisions walks down from head and stops short of the current revision.
    steps = list(scripts.iterate_revisions(head, current[0] if current else "base"))[::-1]
    with Operations.context(context):
        for step in steps:
            step.module.upgrade()
            context.stamp(scripts, step.revision)
