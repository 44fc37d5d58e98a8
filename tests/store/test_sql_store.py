"""The SQL store's small contract, on a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sagetune.errors import ResourceInUse, ResourceNotFound
from sagetune.store import MetricPoint, TrainingJobRecord, TuningJobRecord, open_store


def tuning(name: str = "t1") -> TuningJobRecord:
    return TuningJobRecord(name=name, status="InProgress", request={"a": [1, 2]}, seed=3,
                           created_at=1.0, last_modified_at=1.0)


def training(seq: int, tuning_name: str = "t1") -> TrainingJobRecord:
    return TrainingJobRecord(name=f"{tuning_name}-{seq:03d}", tuning_job_name=tuning_name,
                             seq=seq, status="InProgress", hyperparameters={"x": 0.5, "c": "a"},
                             created_at=float(seq))


def test_round_trip_and_ordering(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    store.create_tuning_job(tuning("t1"))
    store.create_tuning_job(TuningJobRecord(**{**tuning("t2").__dict__, "created_at": 2.0}))
    assert [r.name for r in store.list_tuning_jobs()] == ["t2", "t1"]
    assert store.get_tuning_job("t1") == tuning("t1")
    for seq in (2, 1, 3):
        store.create_training_job(training(seq))
    assert [j.seq for j in store.list_training_jobs("t1")] == [1, 2, 3]
    assert store.get_training_job("t1-002").hyperparameters == {"x": 0.5, "c": "a"}


def test_names_are_unique_and_unknown_names_are_reported(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    store.create_tuning_job(tuning())
    with pytest.raises(ResourceInUse, match="already exists"):
        store.create_tuning_job(tuning())
    with pytest.raises(ResourceNotFound, match="no tuning job named 'nope'"):
        store.get_tuning_job("nope")
    with pytest.raises(ResourceNotFound, match="no training job named 'nope'"):
        store.get_training_job("nope")


def test_finished_training_jobs_never_change(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    store.create_tuning_job(tuning())
    store.create_training_job(training(1))
    assert store.update_training_job("t1-001", status="Completed", objective=0.9, ended_at=5.0)
    assert not store.update_training_job("t1-001", status="Failed", objective=None)
    job = store.get_training_job("t1-001")
    assert (job.status, job.objective) == ("Completed", 0.9)


def test_metric_points_keep_their_order(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    pts = [MetricPoint("j", "auc", 0.1 * i, i, 100.0 + i) for i in range(5)]
    store.add_metric_points(pts)
    store.add_metric_points([MetricPoint("k", "auc", 1.0, 0, 1.0)])
    assert store.metric_points(["j"]) == pts
    assert len(store.metric_points(["j", "k"])) == 6


def test_sqlite_file_uses_wal_and_jobs_folder_sits_beside_it(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'deep' / 'x.db'}")
    store.create_tuning_job(tuning())
    with sqlite3.connect(tmp_path / "deep" / "x.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.jobs_dir == tmp_path / "deep" / "x-jobs"
