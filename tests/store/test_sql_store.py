"""What the SQL store adds to the store contract (``test_store_contract.py``): the files, and
PostgreSQL's connections."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest

from sagetune.errors import ValidationError
from sagetune.store import SQLStore, TuningJobRecord, open_store


def tuning(name: str = "t1") -> TuningJobRecord:
    return TuningJobRecord(
        name=name,
        status="InProgress",
        request={"a": [1, 2]},
        seed=3,
        created_at=1.0,
        last_modified_at=1.0,
    )


def test_sqlite_file_uses_wal_and_jobs_folder_sits_beside_it(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'deep' / 'x.db'}")
    store.create_tuning_job(tuning())
    with sqlite3.connect(tmp_path / "deep" / "x.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.jobs_dir == tmp_path / "deep" / "x-jobs"


def test_open_store_takes_paths_urls_and_stores(tmp_path: Path) -> None:
    by_path = open_store(tmp_path / "p.db")
    assert by_path.url == f"sqlite:///{tmp_path / 'p.db'}"
    assert open_store(by_path) is by_path
    assert open_store(None).url == f"sqlite:///{tmp_path / 'home' / 'sagetune.db'}"


def test_each_in_memory_store_is_a_database_of_its_own(tmp_path: Path) -> None:
    a, b = SQLStore("sqlite://"), SQLStore("sqlite:///:memory:")
    a.create_tuning_job(tuning())
    assert [r.name for r in a.list_tuning_jobs()] == ["t1"] and b.list_tuning_jobs() == []
    assert a.jobs_dir == tmp_path / "home" / "jobs"
    a.close()
    b.close()


def test_a_postgresql_store_checks_connections_and_names_a_nul_in_a_lookup(pg_url: str) -> None:
    store = open_store(pg_url)
    assert isinstance(store, SQLStore) and not store.is_sqlite and store.path is None
    assert store.engine.pool._pre_ping  # type: ignore[attr-defined]
    assert store.jobs_dir == Path(os.environ["SAGETUNE_HOME"]) / "jobs"
    with pytest.raises(ValidationError, match=r"^name: must not contain NUL"):
        store.get_tuning_job("a\x00b")
    store.create_tuning_job(tuning())  # the connection is still good
    assert [r.name for r in store.list_tuning_jobs()] == ["t1"]
    store.close()


def test_sagetune_store_may_name_a_postgresql_store(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGETUNE_STORE", pg_url)
    store = open_store(None)
    assert store.url == pg_url
    store.create_tuning_job(tuning())
    store.close()
    assert [r.name for r in open_store(pg_url).list_tuning_jobs()] == ["t1"]


def test_a_postgresql_url_without_its_driver_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ImportError, match=r"pip install 'sagetune\[postgres\]'"):
        open_store("postgresql+psycopg://u:p@127.0.0.1:1/db")
