"""Tuners against a database that restarts, goes away, or is shared by several writers.

Each tuner is a real ``sagetune tune`` process running a fast script (three epochs, two
metrics each: six points per job); the test restarts or stops the session's PostgreSQL server
while they run (``tests/pg_server.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pg_server import PostgresServer

from sagetune import api, service
from sagetune.analytics import TuningJobAnalytics
from sagetune.errors import StoreUnavailable
from sagetune.store import SQLStore

SCRIPT = """
import argparse, time
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
args, _ = p.parse_known_args()
for epoch in range(1, 4):
    print(f"validation:auc={0.9 - (args.lr - 0.1) ** 2 + 0.01 * epoch:.5f} "
          f"train:loss={1 / epoch:.4f}", flush=True)
    time.sleep(0.1)
"""
POINTS_PER_JOB = 6  # 3 epochs x 2 metrics


def _request(name: str, max_jobs: int, parallel: int = 2) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "auc"},
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": max_jobs,
                "MaxParallelTrainingJobs": parallel,
            },
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "lr", "MinValue": "0.001", "MaxValue": "0.5"}
                ],
            },
            "RandomSeed": 1,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {
                "sagemaker_program": "train.py",
                "sagemaker_submit_directory": "src",
            },
            "AlgorithmSpecification": {
                "TrainingImage": "123.dkr.ecr.us-east-1.amazonaws.com/xgb:latest",
                "TrainingInputMode": "File",
                "MetricDefinitions": [
                    {"Name": "auc", "Regex": r"validation:auc=([-0-9\.eE+]+)"},
                    {"Name": "loss", "Regex": r"train:loss=([-0-9\.eE+]+)"},
                ],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "ResourceConfig": {
                "InstanceType": "ml.m5.xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 10,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        },
    }


def _tuner(
    tmp_path: Path, name: str, store: str, max_jobs: int, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "train.py").write_text(textwrap.dedent(SCRIPT))
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(_request(name, max_jobs)))
    return subprocess.Popen(
        [sys.executable, "-m", "sagetune", "tune", str(path), "--store", store],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _sagetune(*args: str, timeout: float = 40) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagetune", *args], capture_output=True, text=True, timeout=timeout
    )


def _wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _completed(store: SQLStore, name: str) -> int:
    try:
        return sum(j.status == "Completed" for j in store.list_training_jobs(name))
    except LookupError:
        return 0


def _assert_points_once(store: SQLStore, name: str) -> None:
    """Every completed job has its six points, each (metric, step) once."""
    jobs = [j for j in store.list_training_jobs(name) if j.status == "Completed"]
    points = store.metric_points([j.name for j in jobs])
    keys = Counter((p.training_job_name, p.metric_name, p.step) for p in points)
    assert max(keys.values(), default=1) == 1, [k for k, n in keys.items() if n > 1]
    per_job = Counter(p.training_job_name for p in points)
    assert {j.name: per_job[j.name] for j in jobs} == {j.name: POINTS_PER_JOB for j in jobs}


def _finish(tuner: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    try:
        return tuner.communicate(timeout=timeout)
    finally:
        if tuner.poll() is None:
            tuner.kill()
            tuner.communicate()


@pytest.mark.slow
def test_a_tuner_rides_out_two_server_restarts(
    tmp_path: Path, pg_server: PostgresServer, pg_url: str
) -> None:
    tuner = _tuner(tmp_path, "restarts", pg_url, max_jobs=12)
    store = SQLStore(pg_url)
    try:
        for done in (3, 7):
            _wait_for(lambda d=done: _completed(store, "restarts") >= d, 30, f"{done} jobs")
            pg_server.restart()
        out, err = _finish(tuner, 40)
    finally:
        if tuner.poll() is None:
            tuner.kill()
    assert tuner.returncode == 0, err
    assert "Traceback" not in err
    record = store.get_tuning_job("restarts")
    assert record.status == "Completed", record
    jobs = store.list_training_jobs("restarts")
    assert [j.status for j in jobs] == ["Completed"] * 12
    _assert_points_once(store, "restarts")
    store.close()


@pytest.mark.slow
def test_a_server_down_past_the_budget_stops_the_tuner_and_resume_finishes(
    tmp_path: Path, pg_server: PostgresServer, pg_url: str
) -> None:
    tuner = _tuner(tmp_path, "outage", pg_url, 8, env={"SAGETUNE_STORE_RETRY_SECONDS": "3"})
    store = SQLStore(pg_url, retry_seconds=30)
    try:
        _wait_for(lambda: _completed(store, "outage") >= 2, 30, "two jobs")
        pg_server.stop()
        started = time.monotonic()
        out, err = _finish(tuner, 40)
        took = time.monotonic() - started
    finally:
        if tuner.poll() is None:
            tuner.kill()
        pg_server.restart()
    assert tuner.returncode != 0
    assert "Traceback" not in err, err
    assert "the store was unreachable for" in err, err
    assert "resume with sagetune resume outage" in err, err
    assert took < 25  # twice the budget, and the jobs' stop
    resumed = _sagetune("resume", "outage", "--store", pg_url)
    assert resumed.returncode == 0, resumed.stderr
    record = store.get_tuning_job("outage")
    assert record.status == "Completed", record
    jobs = store.list_training_jobs("outage")
    counted = [j for j in jobs if not j.interrupted]
    assert [j.status for j in counted] == ["Completed"] * 8
    assert all(j.finished for j in jobs)
    _assert_points_once(store, "outage")
    store.close()


def _reader(url: str, names: list[str], stop: threading.Event, errors: list[str]) -> None:
    """Describe, list and read the analytics of every tuning job until told to stop."""
    store = SQLStore(url)
    backend = api.Backend(store=store, start_tuner=lambda *_: None)
    while not stop.is_set():
        for name in names:
            try:
                api.call(
                    backend,
                    "DescribeHyperParameterTuningJob",
                    {"HyperParameterTuningJobName": name},
                )
                api.call(
                    backend,
                    "ListTrainingJobsForHyperParameterTuningJob",
                    {"HyperParameterTuningJobName": name, "MaxResults": 100},
                )
                TuningJobAnalytics(name, store).dataframe()
            except LookupError:
                continue  # not created yet
            except Exception as exc:  # noqa: BLE001 - every other error is the finding
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
        time.sleep(0.05)
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_three_tuners_and_a_reader_share_one_store(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    url = (
        request.getfixturevalue("pg_url")
        if database == "postgresql"
        else f"sqlite:///{tmp_path / 'shared.db'}"
    )
    SQLStore(url).close()  # the schema, before the writers race for it
    names = [f"writer{i}" for i in range(3)]
    stop, errors = threading.Event(), []
    reader = threading.Thread(target=_reader, args=(url, names, stop, errors), daemon=True)
    reader.start()
    tuners = [_tuner(tmp_path, name, url, max_jobs=6) for name in names]
    try:
        results = [_finish(t, 40) for t in tuners]
    finally:
        stop.set()
        reader.join(20)
        for t in tuners:
            if t.poll() is None:
                t.kill()
    for t, (_, err) in zip(tuners, results):
        assert t.returncode == 0, err
        assert "Traceback" not in err and "locked" not in err, err
    assert errors == []
    store = SQLStore(url)
    backend = api.Backend(store=store, start_tuner=lambda *_: None)
    for name in names:
        described = api.call(
            backend, "DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": name}
        )
        assert described["HyperParameterTuningJobStatus"] == "Completed"
        listed = api.call(
            backend,
            "ListTrainingJobsForHyperParameterTuningJob",
            {"HyperParameterTuningJobName": name, "MaxResults": 100},
        )["TrainingJobSummaries"]
        counters = described["TrainingJobStatusCounters"]
        assert len(listed) == sum(counters.values()) == 6
        assert counters["Completed"] == 6
        assert Counter(s["TrainingJobStatus"] for s in listed) == {"Completed": 6}
        _assert_points_once(store, name)
        frame = TuningJobAnalytics(name, store).dataframe()
        assert len(frame) == 6
    store.close()


class _FailsOnce:
    """A store whose ``add_metric_points`` gives up once, as past the retry budget."""

    def __init__(self, store: SQLStore, after: int) -> None:
        self._store = store
        self._calls = after

    def add_metric_points(self, points: Any) -> None:
        self._calls -= 1
        if self._calls == 0:
            raise StoreUnavailable("the store was unreachable for 3 s (test)")
        self._store.add_metric_points(points)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_tuner_that_gave_up_records_stopped_and_resume_takes_the_job_up_again(
    tmp_path: Path, store_url: str
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(textwrap.dedent(SCRIPT))
    store = SQLStore(store_url)
    service.create_tuning_job(store, _request("gaveup", 6), base_dir=tmp_path)
    with pytest.raises(StoreUnavailable, match="resume with sagetune resume gaveup"):
        service.run_tuning_job(_FailsOnce(store, after=4), "gaveup")  # type: ignore[arg-type]
    record = store.get_tuning_job("gaveup")
    assert record.status == "Stopped"
    assert "the store was unreachable" in (record.failure_reason or "")
    assert "resume with sagetune resume gaveup" in record.details["CompletionReason"]
    assert all(j.finished for j in store.list_training_jobs("gaveup"))
    assert store.get_tuning_job("gaveup").owner is None
    record = service.run_tuning_job(store, "gaveup")
    assert record.status == "Completed"
    assert record.failure_reason is None
    assert "StoppedStoreUnreachable" not in record.details
    jobs = store.list_training_jobs("gaveup")
    assert [j.status for j in jobs if not j.interrupted] == ["Completed"] * 6
    _assert_points_once(store, "gaveup")
    store.close()
