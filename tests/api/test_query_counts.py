"""Answers of a big tuning job read a bounded number of SQL statements, however many training
jobs and metric points it has: an N+1 query (one per training job) fails here, not in a timer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from sagetune import api, service
from sagetune.naming import training_job_arn, training_job_name
from sagetune.store import MetricPoint, SQLStore, TrainingJobRecord, open_store

NAME = "counted"


def request(jobs: int) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": NAME,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]
            },
        },
        "TrainingJobDefinition": {
            "LocalCommand": "python train.py",
            "AlgorithmSpecification": {"MetricDefinitions": [{"Name": "loss", "Regex": "l=(.*)"}]},
        },
    }


def filled(tmp_path: Path, jobs: int, url: str | None = None) -> SQLStore:
    store = open_store(url or tmp_path / f"s{jobs}.db")
    assert isinstance(store, SQLStore)
    service.create_tuning_job(store, request(jobs), base_dir=tmp_path)
    records = [
        TrainingJobRecord(
            name=training_job_name(NAME, seq),
            tuning_job_name=NAME,
            seq=seq,
            status="Failed" if seq % 5 == 0 else "Completed",
            hyperparameters={"x": seq / jobs},
            created_at=float(seq),
            started_at=seq + 0.5,
            ended_at=seq + 1.0,
            objective=None if seq % 5 == 0 else (seq * 0.37) % 1.0,
            billable_seconds=0.5,
            epochs_completed=3,
        )
        for seq in range(1, jobs + 1)
    ]
    store.create_training_jobs(records)
    store.add_metric_points(
        [
            MetricPoint(r.name, metric, 1.0 / e, e, r.created_at + e / 10)
            for r in records
            for metric in ("loss", "acc")
            for e in (1, 2, 3)
        ]
    )
    store.update_tuning_job(NAME, status="Completed", ended_at=float(jobs + 2))
    return store


@contextmanager
def counting(store: SQLStore) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def statements_of(store: SQLStore, call: Callable[[], Any]) -> int:
    call()  # first-call work (a parsed spec, a compiled query) is not what is counted
    with counting(store) as statements:
        call()
    return len(statements)


def _calls(store: SQLStore, tmp_path: Path) -> dict[str, Callable[[], Any]]:
    backend = api.Backend(store=store, base_dir=tmp_path)
    token = api._next_token(0, 10, True)
    listed = "ListTrainingJobsForHyperParameterTuningJob"
    return {
        "list by objective": lambda: api.call(
            backend,
            listed,
            {
                "HyperParameterTuningJobName": NAME,
                "SortBy": "FinalObjectiveMetricValue",
                "MaxResults": 10,
                "NextToken": token,
            },
        ),
        "list by creation time": lambda: api.call(
            backend,
            listed,
            {"HyperParameterTuningJobName": NAME, "SortBy": "CreationTime", "MaxResults": 10},
        ),
        "list all training jobs": lambda: api.call(
            backend, "ListTrainingJobs", {"MaxResults": 10, "StatusEquals": "Completed"}
        ),
        "describe a training job": lambda: api.call(
            backend, "DescribeTrainingJob", {"TrainingJobName": training_job_name(NAME, 7)}
        ),
        "list tuning jobs": lambda: api.call(
            backend, "ListHyperParameterTuningJobs", {"MaxResults": 10}
        ),
        "list a training job's tags": lambda: api.call(
            backend,
            "ListTags",
            {"ResourceArn": training_job_arn(training_job_name(NAME, 7))},
        ),
    }


@pytest.mark.parametrize(
    "operation",
    [
        "list by objective",
        "list by creation time",
        "list all training jobs",
        "describe a training job",
        "list tuning jobs",
        "list a training job's tags",
    ],
)
def test_a_page_reads_a_bounded_number_of_statements(tmp_path: Path, operation: str) -> None:
    counts = []
    for jobs in (20, 200):
        store = filled(tmp_path, jobs)
        try:
            counts.append(statements_of(store, _calls(store, tmp_path)[operation]))
        finally:
            store.close()
    assert counts[0] == counts[1] <= 3, counts


def test_describe_reads_a_bounded_number_of_statements(tmp_path: Path) -> None:
    counts = []
    for jobs in (20, 200):
        store = filled(tmp_path, jobs)
        try:
            counts.append(statements_of(store, functools.partial(service.describe, store, NAME)))
        finally:
            store.close()
    assert counts[0] == counts[1] <= 6, counts


def test_describe_from_the_stores_sums_answers_as_from_every_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sagetune.answers import describe_tuning_job
    from sagetune.cost import cost_summary
    from sagetune.spec import load_spec

    store = filled(tmp_path, 40)
    # Running, stopped early, never started, billed by the clock: every branch of the sums.
    for seq, fields in {
        3: {"status": "InProgress", "ended_at": None, "billable_seconds": None},
        4: {"status": "Stopped", "early_stopped": True, "epochs_completed": 1},
        6: {"status": "Stopped", "early_stopped": True, "epochs_completed": 2},
        8: {"status": "InProgress", "started_at": None, "ended_at": None, "objective": None},
        9: {"billable_seconds": None, "epochs_completed": 5},
    }.items():
        name = training_job_name(NAME, seq)
        with store.engine.begin() as conn:
            from sagetune.store.sql import training_jobs

            conn.execute(
                training_jobs.update().where(training_jobs.c.name == name).values(**fields)
            )
    now = 1000.0
    monkeypatch.setattr(service.time, "time", lambda: now)
    record = store.get_tuning_job(NAME)
    spec = load_spec(record)
    jobs = store.list_training_jobs(NAME)
    expected = describe_tuning_job(spec, record, jobs, now, output_path=service.output_path(NAME))
    expected["Cost"] = cost_summary(spec, jobs, now=now)
    assert service.describe(store, NAME) == expected
    store.close()


def _set(store: SQLStore, seq: int, **fields: Any) -> None:
    from sagetune.store.sql import training_jobs

    with store.engine.begin() as conn:
        conn.execute(
            training_jobs.update()
            .where(training_jobs.c.name == training_job_name(NAME, seq))
            .values(**fields)
        )


def early_stopped(store: SQLStore) -> None:
    """Early-stopped jobs of every kind of pace: measured between epochs, capped by the
    longest full run, with too few points (billable seconds / epochs), with repeated steps."""
    from sagetune.store.sql import metric_points

    stopped = {"status": "Stopped", "early_stopped": True}
    _set(store, 9, epochs_completed=5, billable_seconds=3.0)  # the one full run: planned 5
    _set(store, 4, **stopped, epochs_completed=1)  # 4 epochs at 0.1 s (its points' pace)
    _set(store, 6, **stopped, epochs_completed=2, billable_seconds=2.9)  # capped at 0.1 s
    _set(store, 7, **stopped, epochs_completed=2, billable_seconds=0.8)  # one point: 0.4 s
    _set(store, 11, **stopped, epochs_completed=3, billable_seconds=0.9)  # no points
    _set(store, 12, **stopped, epochs_completed=2, billable_seconds=0.1)
    with store.engine.begin() as conn:
        m = metric_points.c
        conn.execute(
            metric_points.delete().where(
                m.training_job_name == training_job_name(NAME, 7), m.step > 1
            )
        )
        conn.execute(
            metric_points.delete().where(m.training_job_name == training_job_name(NAME, 11))
        )
    late = training_job_name(NAME, 12)
    store.add_metric_points(
        [
            MetricPoint(late, "loss", 0.1, 3, 12.9),  # step 3 again, later: the last time
            MetricPoint(late, "loss", 0.1, 1, 11.0),  # step 1 again, earlier: the first time
            MetricPoint(late, "acc", 0.1, 9, 99.0),  # another metric: not the pace
        ]
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'stopped.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_describe_with_early_stopped_jobs_saves_as_the_per_job_figures(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sagetune.analytics import TuningJobAnalytics
    from sagetune.cost import cost_summary, stopped_epoch_seconds
    from sagetune.spec import load_spec

    store = filled(tmp_path, 40, store_url)
    try:
        early_stopped(store)
        now = 1000.0
        monkeypatch.setattr(service.time, "time", lambda: now)
        spec = load_spec(store.get_tuning_job(NAME))
        jobs = store.list_training_jobs(NAME)
        per_epoch = stopped_epoch_seconds(spec, jobs, store.metric_points)
        assert per_epoch[training_job_name(NAME, 12)] == pytest.approx((12.9 - 11.0) / 2)
        expected = cost_summary(spec, jobs, now=now, per_epoch=per_epoch)
        # 4 * 0.1 + 0.1 (capped) + 3 * 0.4 + 2 * 0.3 + 3 * 0.95: every kind of pace counted.
        assert expected["EstimatedSavedSeconds"] == pytest.approx(5.15)
        assert service.describe(store, NAME)["Cost"] == expected
        summary = TuningJobAnalytics(NAME, store=store).summary(jobs, now=now)
        assert summary["Cost"] == expected  # the dashboard's and the report's figures
        with counting(store) as statements:
            service.describe(store, NAME)
        assert len(statements) <= 6, statements
    finally:
        store.close()


@pytest.mark.parametrize(
    "path",
    [
        "/api/tuning-jobs",
        f"/tuning-jobs/{NAME}",
        f"/api/tuning-jobs/{NAME}/training-jobs?sort=x&order=desc&offset=10&limit=5",
        f"/api/tuning-jobs/{NAME}/training-jobs?sort=objective&status=Completed",
    ],
)
def test_the_dashboards_list_and_page_read_a_bounded_number_of_statements(
    tmp_path: Path, path: str
) -> None:
    from fastapi.testclient import TestClient

    from sagetune.dashboard import create_app

    counts = []
    for jobs in (20, 200):
        store = filled(tmp_path, jobs)
        try:
            client = TestClient(create_app(store))

            def get(client: TestClient = client, jobs: int = jobs) -> None:
                answer = client.get(path)
                assert answer.status_code == 200, answer.text
                if path == "/api/tuning-jobs":
                    (listed,) = answer.json()
                    assert listed["training_jobs"] == jobs
                    assert listed["counts"]["Failed"] == jobs // 5
                if "/training-jobs" in path:
                    page = answer.json()
                    assert page["total"] == jobs and page["rows"]
                    if "status=Completed" in path:
                        assert page["matching"] == jobs - jobs // 5

            counts.append(statements_of(store, get))
        finally:
            store.close()
    assert counts[0] == counts[1] <= 6, counts


@pytest.mark.parametrize(
    "path", [f"/api/tuning-jobs/{NAME}", f"/api/tuning-jobs/{NAME}/plots/scatter"]
)
def test_the_dashboards_summary_and_plots_of_a_sampled_job_read_a_bounded_number_of_statements(
    tmp_path: Path, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from sagetune.dashboard import app, create_app

    # Both sizes over the sample's size, so both are drawn from a sample of the same size.
    monkeypatch.setattr(app, "MAX_JOBS", 10)
    monkeypatch.setattr(app, "BEST_JOBS", 3)
    counts = []
    for jobs in (20, 200):
        store = filled(tmp_path, jobs)
        try:

            def get(store: SQLStore = store, jobs: int = jobs) -> None:
                # A new app each time: a cached snapshot would read nothing.
                answer = TestClient(create_app(store)).get(path)
                assert answer.status_code == 200, answer.text
                if path.endswith(NAME):
                    assert answer.json()["TrainingJobCount"] == jobs
                    assert answer.json()["Sample"]["Of"] == jobs
                else:
                    assert f"of {jobs:,} training jobs" in answer.json()["layout"]["title"]["text"]

            counts.append(statements_of(store, get))
        finally:
            store.close()
    assert counts[0] == counts[1] <= 20, counts
