"""Opening a store migrates its schema in place: new stores, old stores, stores from the future;
on SQLite files and on PostgreSQL (``pg_url``, a fresh database of the tests' own server)."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import multiprocessing
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from store_race import open_and_write

from sagetune.store import MetricPoint, StoreVersionError, open_store
from sagetune.store.migrations import HEAD, MIGRATION_LOCK, current_revisions, script_directory
from sagetune.store.sql import metadata

FIXTURES = Path(__file__).parent / "fixtures"
INDEXES_0002 = {
    "ix_training_jobs_tuning_job_name_seq",
    "ix_metric_points_training_job_name_metric_name",
}
INDEXES_0003 = INDEXES_0002 | {
    "ix_training_jobs_tuning_job_name_objective",
    "ix_training_jobs_tuning_job_name_created_at",
    "ix_training_jobs_tuning_job_name_status",
    "ix_training_jobs_created_at",
    "ix_training_jobs_status",
}
NEW_INDEXES = INDEXES_0003 - {"ix_metric_points_training_job_name_metric_name"} | {
    "ux_metric_points_point"
}
OLD_INDEXES = {"ix_training_jobs_tuning_job_name", "ix_metric_points_training_job_name"}


def _load_fixture_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_old_store", FIXTURES / "make_old_store.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OLD = _load_fixture_script()


def old_store(tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    shutil.copyfile(FIXTURES / "store-6b94b04.db", path)
    return path


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def sqlite_schema(path: Path) -> dict[str, str]:
    """Every table and index of a SQLite file, by name, as its DDL."""
    return dict(query(path, "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"))


def sqlite_indexes(path: Path) -> set[str]:
    return {
        r[0]
        for r in query(
            path, "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    }


def revisions(path: Path) -> list[str]:
    return [r[0] for r in query(path, "SELECT version_num FROM alembic_version")]


def dump(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return list(conn.iterdump())


def execute(path: Path, script: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.executescript(script)


def subset(record: Any, expected: dict[str, Any]) -> dict[str, Any]:
    fields = vars(record)
    assert expected.keys() <= fields.keys()
    return {k: fields[k] for k in expected}


def test_head_is_the_newest_revision_shipped() -> None:
    scripts = script_directory()
    assert scripts.get_heads() == [HEAD]
    assert [s.revision for s in scripts.walk_revisions()] == ["0004", "0003", "0002", "0001"]


def test_a_new_store_is_created_at_head_and_matches_the_tables_the_code_queries(
    tmp_path: Path,
) -> None:
    store = open_store(tmp_path / "new.db")
    assert revisions(tmp_path / "new.db") == [HEAD]
    assert sqlite_indexes(tmp_path / "new.db") == NEW_INDEXES
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    store.close()


def test_the_fixture_is_what_the_6b94b04_code_left(tmp_path: Path) -> None:
    path = old_store(tmp_path)  # the file alone: no write-ahead log beside it
    assert "alembic_version" not in sqlite_schema(path)
    assert sqlite_indexes(path) == OLD_INDEXES
    assert query(path, "SELECT count(*) FROM metric_points") == [(len(OLD.METRIC_POINTS),)]


def test_a_store_from_6b94b04_is_migrated_with_nothing_lost(tmp_path: Path) -> None:
    path = old_store(tmp_path)
    store = open_store(path)

    assert revisions(path) == [HEAD]
    assert sqlite_indexes(path) == NEW_INDEXES
    # The same schema as a store created by this code from nothing.
    fresh = open_store(tmp_path / "fresh.db")
    assert sqlite_schema(path) == sqlite_schema(tmp_path / "fresh.db")
    fresh.close()

    assert [r.name for r in store.list_tuning_jobs()] == [OLD.RUNNING, OLD.DONE]
    for expected in OLD.TUNING_JOBS:
        assert subset(store.get_tuning_job(expected["name"]), expected) == expected
        jobs = [j for j in OLD.TRAINING_JOBS if j["tuning_job_name"] == expected["name"]]
        listed = store.list_training_jobs(expected["name"])
        assert [subset(j, e) for j, e in zip(listed, jobs, strict=True)] == jobs
    for expected in OLD.TRAINING_JOBS:
        assert subset(store.get_training_job(expected["name"]), expected) == expected
    names = [j["name"] for j in OLD.TRAINING_JOBS]
    assert [dataclasses.asdict(p) for p in store.metric_points(names)] == OLD.METRIC_POINTS

    # The held lease is kept: its owner renews it, then another tuner is refused.
    running = store.get_tuning_job(OLD.RUNNING)
    assert (running.owner, running.heartbeat_at, running.train_payload) == (
        OLD.OWNER,
        1_700_001_090.25,
        OLD.PAYLOAD,
    )
    assert store.renew_lease(OLD.RUNNING, OLD.OWNER)
    assert not store.acquire_lease(OLD.RUNNING, "other:1:x", ttl_seconds=20.0)
    store.close()

    # Opening it again changes nothing.
    before = dump(path)
    open_store(path).close()
    assert dump(path) == before


def test_the_oldest_schema_gets_the_columns_added_since(tmp_path: Path) -> None:
    path = tmp_path / "first.db"
    # The tables of the first sagetune (commit ab0058f), before the lease, stored callables,
    # interrupted jobs, several definitions and costs.
    execute(
        path,
        """
            CREATE TABLE tuning_jobs (
                name VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL, request TEXT NOT NULL,
                seed INTEGER NOT NULL, created_at FLOAT NOT NULL,
                last_modified_at FLOAT NOT NULL, ended_at FLOAT, failure_reason TEXT,
                details TEXT NOT NULL, PRIMARY KEY (name));
            CREATE TABLE training_jobs (
                name VARCHAR(128) NOT NULL, tuning_job_name VARCHAR(64) NOT NULL,
                seq INTEGER NOT NULL, status VARCHAR(16) NOT NULL, hyperparameters TEXT NOT NULL,
                created_at FLOAT NOT NULL, started_at FLOAT, ended_at FLOAT, objective FLOAT,
                final_metrics TEXT NOT NULL, failure_reason TEXT, log_path TEXT,
                PRIMARY KEY (name));
            CREATE INDEX ix_training_jobs_tuning_job_name ON training_jobs (tuning_job_name);
            CREATE TABLE metric_points (
                id INTEGER NOT NULL, training_job_name VARCHAR(128) NOT NULL,
                metric_name VARCHAR(255) NOT NULL, value FLOAT NOT NULL, step INTEGER NOT NULL,
                timestamp FLOAT NOT NULL, PRIMARY KEY (id));
            CREATE INDEX ix_metric_points_training_job_name ON metric_points (training_job_name);
            INSERT INTO tuning_jobs VALUES ('t', 'Completed', '{"r": 1}', 5, 1.0, 2.0, 2.0, NULL,
                                            '{}');
            INSERT INTO training_jobs VALUES ('t-001', 't', 1, 'Completed', '{"x": 0.5}', 1.0,
                                              1.1, 1.9, 0.25, '{"loss": 0.25}', NULL, 'l.txt');
            INSERT INTO metric_points VALUES (1, 't-001', 'loss', 0.25, 1, 1.5);
        """,
    )
    store = open_store(path)
    assert revisions(path) == [HEAD] and sqlite_indexes(path) == NEW_INDEXES
    tuning, job = store.get_tuning_job("t"), store.get_training_job("t-001")
    assert (tuning.request, tuning.owner, tuning.heartbeat_at, tuning.train_payload) == (
        {"r": 1},
        None,
        None,
        None,
    )
    assert (
        job.objective,
        job.log_path,
        job.process_id,
        job.interrupted,
        job.definition_name,
        job.billable_seconds,
        job.epochs_completed,
        job.early_stopped,
    ) == (0.25, "l.txt", None, False, None, None, None, False)
    assert [p.value for p in store.metric_points(["t-001"])] == [0.25]
    # The columns added to old rows behave as those of a new store.
    assert store.acquire_lease("t", "me", ttl_seconds=20.0)
    store.close()


def test_a_store_from_a_newer_sagetune_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    open_store(path).close()
    execute(
        path,
        "UPDATE alembic_version SET version_num = '0099';CREATE TABLE from_the_future (x INTEGER);",
    )
    before = dump(path)
    with pytest.raises(StoreVersionError) as err:
        open_store(path)
    assert str(err.value) == (
        f"the store at {path} has schema revision 0099, newer than this "
        f"sagetune knows (head {HEAD}): upgrade sagetune to open it"
    )
    assert isinstance(err.value, RuntimeError)
    assert dump(path) == before
    cli = subprocess.run(
        [sys.executable, "-m", "sagetune", "ls", "--store", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 2 and "Traceback" not in cli.stderr
    assert cli.stderr.strip() == f"StoreVersionError: {err.value}"
    assert dump(path) == before


def test_a_failed_migration_leaves_the_store_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = old_store(tmp_path)
    before = dump(path)
    revision = script_directory().get_revision("0002").module

    def half_done() -> None:
        revision_upgrade()
        raise RuntimeError("the disk is full")

    revision_upgrade = revision.upgrade
    monkeypatch.setattr(revision, "upgrade", half_done)
    with pytest.raises(RuntimeError, match="the disk is full"):
        open_store(path)
    assert dump(path) == before


def test_every_revision_can_be_undone(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_store(path).close()
    scripts = script_directory()
    engine = create_engine(f"sqlite:///{path}")
    for script in scripts.walk_revisions():
        with engine.begin() as conn:
            context = MigrationContext.configure(conn)
            with Operations.context(context):
                script.module.downgrade()
            context.stamp(scripts, script.down_revision or "base")
        if script.revision == "0004":
            assert sqlite_indexes(path) == INDEXES_0003 and revisions(path) == ["0003"]
        if script.revision == "0003":
            assert sqlite_indexes(path) == INDEXES_0002 and revisions(path) == ["0002"]
        if script.revision == "0002":
            assert sqlite_indexes(path) == OLD_INDEXES and revisions(path) == ["0001"]
    engine.dispose()
    assert set(sqlite_schema(path)) == {"alembic_version"} and revisions(path) == []


def _downgrade_to(url: str, revision: str) -> None:
    """Undo the revisions after ``revision``, as if an older sagetune had made the store."""
    scripts = script_directory()
    engine = create_engine(url)
    for script in scripts.walk_revisions():
        if script.revision == revision:
            break
        with engine.begin() as conn:
            context = MigrationContext.configure(conn)
            with Operations.context(context):
                script.module.downgrade()
            context.stamp(scripts, script.down_revision or "base")
    engine.dispose()


# Points as a store before 0004 could hold them: a retried insert recorded some twice (the
# same job, metric, step and time); a retried training job's steps start from 1 again, later.
POINTS_WITH_DUPLICATES = [
    ("j1", "auc", 0.5, 1, 10.0),
    ("j1", "auc", 0.5, 1, 10.0),
    ("j1", "auc", 0.6, 2, 11.0),
    ("j1", "loss", 1.0, 1, 10.0),
    ("j1", "auc", 0.9, 1, 10.0),  # the same point again, another value: the first one stays
    ("j1", "auc", 0.4, 1, 30.0),  # the retried job's first step
    ("j2", "auc", 0.5, 1, 10.0),
    ("j1", "loss", 1.0, 1, 10.0),
]
ONE_EACH = [
    ("j1", "auc", 0.5, 1, 10.0),
    ("j1", "auc", 0.6, 2, 11.0),
    ("j1", "loss", 1.0, 1, 10.0),
    ("j1", "auc", 0.4, 1, 30.0),
    ("j2", "auc", 0.5, 1, 10.0),
]


@pytest.mark.parametrize("database", ["sqlite-file", "postgresql"])
def test_a_store_with_duplicated_points_is_upgraded_to_one_of_each(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        request.getfixturevalue("pg_url")
        if database == "postgresql"
        else f"sqlite:///{tmp_path / 'dup.db'}"
    )
    open_store(url).close()
    _downgrade_to(url, "0003")
    engine = create_engine(url)
    columns = ["training_job_name", "metric_name", "value", "step", "timestamp"]
    with engine.begin() as conn:
        for row in POINTS_WITH_DUPLICATES:  # one at a time: ids in this order
            conn.execute(metadata.tables["metric_points"].insert().values(dict(zip(columns, row))))
    engine.dispose()
    store = open_store(url)
    kept = [tuple(vars(p).values()) for p in store.metric_points(["j1", "j2"])]
    assert kept == ONE_EACH
    store.add_metric_points([MetricPoint("j1", "auc", 0.5, 1, 10.0)])  # there: skipped
    assert len(store.metric_points(["j1", "j2"])) == len(ONE_EACH)
    with store.engine.connect() as conn:
        assert {i["name"] for i in inspect(conn).get_indexes("metric_points")} == {
            "ux_metric_points_point"
        }
        assert current_revisions(conn) == (HEAD,)
    store.close()


def test_an_up_to_date_store_opens_without_loading_alembic(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_store(path).close()
    code = (
        "import sys; from sagetune.store import open_store; "
        f"open_store({str(path)!r}).close(); print(sorted(m for m in sys.modules "
        "if m.startswith('alembic')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    path = str(tmp_path / "race.db")
    ctx = multiprocessing.get_context("spawn")
    together = ctx.Barrier(4)
    procs = [ctx.Process(target=open_and_write, args=(path, together, i)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert revisions(Path(path)) == [HEAD]
    store = open_store(path)
    assert sorted(r.name for r in store.list_tuning_jobs()) == ["p0", "p1", "p2", "p3"]
    store.close()


# PostgreSQL ---------------------------------------------------------------------------------
def pg_state(url: str) -> dict[str, Any]:
    """Every table of a PostgreSQL database: its columns, indexes and rows (in key order)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            state: dict[str, Any] = {}
            for table in sorted(inspector.get_table_names()):
                columns = [(c["name"], str(c["type"])) for c in inspector.get_columns(table)]
                indexes = sorted(i["name"] or "" for i in inspector.get_indexes(table))
                rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()
                state[table] = (columns, indexes, [tuple(r) for r in rows])
            return state
    finally:
        engine.dispose()


def test_a_new_postgresql_store_is_created_at_head_and_matches_the_tables(pg_url: str) -> None:
    store = open_store(pg_url)
    state = pg_state(pg_url)
    assert state["alembic_version"][2] == [(HEAD,)]
    assert set(state) == {"alembic_version", *metadata.tables}
    assert set(state["training_jobs"][1]) | set(state["metric_points"][1]) == NEW_INDEXES
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    store.close()
    # Opening it again changes nothing.
    open_store(pg_url).close()
    assert pg_state(pg_url) == state


def test_a_postgresql_store_from_a_newer_sagetune_is_refused_and_left_alone(pg_url: str) -> None:
    open_store(pg_url).close()
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
        conn.execute(text("CREATE TABLE from_the_future (x INTEGER)"))
    engine.dispose()
    before = pg_state(pg_url)
    with pytest.raises(StoreVersionError) as err:
        open_store(pg_url)
    shown = make_url(pg_url).render_as_string(hide_password=True)
    assert str(err.value) == (
        f"the store at {shown} has schema revision 0099, newer than this "
        f"sagetune knows (head {HEAD}): upgrade sagetune to open it"
    )
    assert "sagetune-test" not in str(err.value)  # the password is not shown
    assert pg_state(pg_url) == before
    for verb in (["ls"], ["db", "upgrade"]):
        cli = subprocess.run(
            [sys.executable, "-m", "sagetune", *verb, "--store", pg_url],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 2 and "Traceback" not in cli.stderr
        assert cli.stderr.strip() == f"StoreVersionError: {err.value}"
    assert pg_state(pg_url) == before


def _upgrade_to(url: str, revision: str) -> None:
    """Run the revisions up to ``revision`` only, as an older sagetune left the store."""
    scripts = script_directory()
    engine = create_engine(url)
    with engine.begin() as conn:
        context = MigrationContext.configure(conn)
        steps = list(scripts.iterate_revisions(revision, "base"))[::-1]
        with Operations.context(context):
            for step in steps:
                step.module.upgrade()
                context.stamp(scripts, step.revision)
    engine.dispose()


def test_a_postgresql_store_at_an_older_revision_is_upgraded(pg_url: str) -> None:
    _upgrade_to(pg_url, "0001")
    assert pg_state(pg_url)["alembic_version"][2] == [("0001",)]
    open_store(pg_url).close()
    state = pg_state(pg_url)
    assert state["alembic_version"][2] == [(HEAD,)]
    assert set(state["training_jobs"][1]) | set(state["metric_points"][1]) == NEW_INDEXES


def test_a_read_only_postgresql_session_meeting_an_older_schema_asks_for_an_upgrade(
    pg_url: str,
) -> None:
    from sagetune.errors import StoreNotWritable

    _upgrade_to(pg_url, "0001")
    before = pg_state(pg_url)
    # A session whose transactions are read-only, as on a standby or for a reporting role.
    read_only = f"{pg_url}?options=-c%20default_transaction_read_only%3Don"
    with pytest.raises(StoreNotWritable) as err:
        open_store(read_only)
    shown = make_url(read_only).render_as_string(hide_password=True)
    assert str(err.value) == (
        f"the store {shown} has an older schema (revision 0001; this sagetune's is {HEAD}) "
        "and this session may not change it: a writer must upgrade it first (sagetune db "
        "upgrade --store URL, as a role that may alter its tables, in a writable session)"
    )
    assert "sagetune-test" not in str(err.value)  # the password is not shown
    cli = subprocess.run(
        [sys.executable, "-m", "sagetune", "ls", "--store", read_only],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 2 and "Traceback" not in cli.stderr, cli.stderr
    assert cli.stderr.splitlines() == [f"StoreNotWritable: {err.value}"]
    assert pg_state(pg_url) == before
    # Once a writer has upgraded it, the read-only session reads it.
    open_store(pg_url).close()
    store = open_store(read_only)
    assert store.list_tuning_jobs() == []
    store.close()


def test_a_failed_migration_leaves_a_postgresql_store_as_it_was(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _upgrade_to(pg_url, "0001")
    before = pg_state(pg_url)
    revision = script_directory().get_revision("0002").module

    def half_done() -> None:
        revision_upgrade()
        raise RuntimeError("the disk is full")

    revision_upgrade = revision.upgrade
    monkeypatch.setattr(revision, "upgrade", half_done)
    with pytest.raises(RuntimeError, match="the disk is full"):
        open_store(pg_url)
    assert pg_state(pg_url) == before


def test_every_revision_can_be_undone_on_postgresql(pg_url: str) -> None:
    open_store(pg_url).close()
    scripts = script_directory()
    engine = create_engine(pg_url)
    for script in scripts.walk_revisions():
        with engine.begin() as conn:
            context = MigrationContext.configure(conn)
            with Operations.context(context):
                script.module.downgrade()
            context.stamp(scripts, script.down_revision or "base")
    engine.dispose()
    state = pg_state(pg_url)
    assert set(state) == {"alembic_version"} and state["alembic_version"][2] == []


def test_processes_opening_a_new_postgresql_store_at_once_all_succeed(pg_url: str) -> None:
    n = 4
    ctx = multiprocessing.get_context("spawn")
    together = ctx.Barrier(n)
    procs = [ctx.Process(target=open_and_write, args=(pg_url, together, i)) for i in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * n
    state = pg_state(pg_url)
    assert state["alembic_version"][2] == [(HEAD,)]  # one row: one schema, made once
    assert set(state) == {"alembic_version", *metadata.tables}
    store = open_store(pg_url)
    assert sorted(r.name for r in store.list_tuning_jobs()) == [f"p{i}" for i in range(n)]
    store.close()


def test_opening_a_new_postgresql_store_waits_for_the_migration_lock(pg_url: str) -> None:
    holder = create_engine(pg_url)
    opened: list[Any] = []
    with holder.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        opener = threading.Thread(target=lambda: opened.append(open_store(pg_url)))
        opener.start()
        opener.join(1.5)
        assert opener.is_alive() and "alembic_version" not in pg_state(pg_url)
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
        opener.join(60)
    holder.dispose()
    assert not opener.is_alive() and pg_state(pg_url)["alembic_version"][2] == [(HEAD,)]
    opened[0].close()
