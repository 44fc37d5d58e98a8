"""Opening a store migrates its schema in place: new stores, old stores, stores from the future."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import multiprocessing
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from store_race import open_and_write

from sagetune.store import StoreVersionError, open_store
from sagetune.store.migrations import HEAD, script_directory
from sagetune.store.sql import metadata

FIXTURES = Path(__file__).parent / "fixtures"
INDEXES_0002 = {
    "ix_training_jobs_tuning_job_name_seq",
    "ix_metric_points_training_job_name_metric_name",
}
NEW_INDEXES = INDEXES_0002 | {
    "ix_training_jobs_tuning_job_name_objective",
    "ix_training_jobs_tuning_job_name_created_at",
    "ix_training_jobs_tuning_job_name_status",
    "ix_training_jobs_created_at",
    "ix_training_jobs_status",
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
    assert [s.revision for s in scripts.walk_revisions()] == ["0003", "0002", "0001"]


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

    # The held lease still holds: another tuner is refused, its owner renews it.
    running = store.get_tuning_job(OLD.RUNNING)
    assert (running.owner, running.heartbeat_at, running.train_payload) == (
        OLD.OWNER,
        1_700_001_090.25,
        OLD.PAYLOAD,
    )
    assert not store.acquire_lease(
        OLD.RUNNING, "other:1:x", now=1_700_001_095.0, stale_before=1_700_001_075.0
    )
    assert store.renew_lease(OLD.RUNNING, OLD.OWNER, 1_700_001_096.0)
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
    assert store.acquire_lease("t", "me", 3.0, 0.0)
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
        if script.revision == "0003":
            assert sqlite_indexes(path) == INDEXES_0002 and revisions(path) == ["0002"]
        if script.revision == "0002":
            assert sqlite_indexes(path) == OLD_INDEXES and revisions(path) == ["0001"]
    engine.dispose()
    assert set(sqlite_schema(path)) == {"alembic_version"} and revisions(path) == []


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
