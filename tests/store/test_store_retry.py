"""The store's retry layer (``sagetune.store.retry``): what is retried, for how long, and the
write variants that keep a retried write exactly-once when its first attempt committed."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from sagetune.errors import ResourceInUse, StoreUnavailable
from sagetune.store import SQLStore, TrainingJobRecord, TuningJobRecord, retry, sql


def _locked() -> OperationalError:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))


@pytest.fixture
def store(store_url: str) -> SQLStore:
    s = SQLStore(store_url, retry_seconds=2)
    s.create_tuning_job(
        TuningJobRecord("t", "InProgress", {}, seed=1, created_at=1.0, last_modified_at=1.0)
    )
    return s


JOB = TrainingJobRecord("t-001", "t", 1, "InProgress", {"lr": 0.1}, created_at=2.0)


def test_a_locked_database_is_retried_then_the_variant_runs(store: SQLStore) -> None:
    calls: list[str] = []

    def first() -> str:
        calls.append("first")
        raise _locked()

    def again() -> str:
        calls.append("again")
        if len(calls) < 3:
            raise _locked()
        return "done"

    assert retry.call(store, first, again) == "done"
    assert calls == ["first", "again", "again"]


def test_other_errors_are_not_retried(store: SQLStore) -> None:
    calls = []

    def first() -> None:
        calls.append(1)
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))

    with pytest.raises(OperationalError):
        retry.call(store, first)
    with pytest.raises(IntegrityError):
        retry.call(store, lambda: (_ for _ in ()).throw(IntegrityError("x", {}, Exception())))
    assert calls == [1]


def test_past_the_budget_the_store_is_unavailable(store_url: str) -> None:
    store = SQLStore(store_url, retry_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"unreachable for 0 s .*: database is locked"):
        retry.call(store, lambda: (_ for _ in ()).throw(_locked()))
    assert time.monotonic() - started < 2


def test_the_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(retry.RETRY_ENV, "3")
    assert retry.retry_seconds() == 3.0
    assert retry.retry_seconds(7) == 7.0
    monkeypatch.delenv(retry.RETRY_ENV)
    assert retry.retry_seconds() == retry.DEFAULT_RETRY_SECONDS


def test_a_committed_create_is_not_created_twice(store: SQLStore) -> None:
    store.create_training_job(JOB)
    sql._create_training_job_again(store, JOB)  # the first attempt committed: fine
    with pytest.raises(ResourceInUse):  # another job of that name is still refused
        sql._create_training_job_again(store, replace(JOB, created_at=3.0))
    assert len(store.list_training_jobs("t")) == 1
    record = store.get_tuning_job("t")
    sql._create_tuning_job_again(store, record)
    with pytest.raises(ResourceInUse):
        sql._create_tuning_job_again(store, replace(record, seed=2))


def test_a_committed_finishing_update_answers_as_it_did(store: SQLStore) -> None:
    store.create_training_job(JOB)
    done = {"status": "Completed", "ended_at": 5.0, "objective": 0.5, "final_metrics": {"a": 1.0}}
    assert store.update_training_job("t-001", **done)
    assert sql._update_training_job_again(store, "t-001", **done)
    assert not sql._update_training_job_again(store, "t-001", status="Stopped")


def test_every_store_operation_goes_through_the_retry_layer() -> None:
    import inspect

    from sagetune.store.base import Store

    operations = {
        name
        for name, member in inspect.getmembers(Store)
        if not name.startswith("_") and callable(member)
    }
    covered = {*sql._AGAIN, *sql._AS_THEY_ARE, *sql._LOCAL_ONLY}
    assert operations - covered == set()  # a new store method must say how it is retried
    for name in (*sql._AGAIN, *sql._AS_THEY_ARE):
        assert getattr(SQLStore, name) is not sql._UNRETRIED[name], name
