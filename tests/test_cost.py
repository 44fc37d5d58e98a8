"""Cost figures on training jobs with known durations, through the API, describe, the
dataframe and `sagetune cost`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from sagetune import TuningJobAnalytics
from sagetune.cost import Pricing, cost_summary, job_costs, stopped_epoch_seconds
from sagetune.service import describe
from sagetune.spec import load_spec
from sagetune.store import open_store
from sagetune.store.records import MetricPoint, TrainingJobRecord, TuningJobRecord

REQUEST: dict[str, Any] = {
    "HyperParameterTuningJobName": "priced",
    "HyperParameterTuningJobConfig": {
        "Strategy": "Random",
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 1},
        "ParameterRanges": {
            "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]
        },
        "TrainingJobEarlyStoppingType": "Auto",
    },
    "TrainingJobDefinition": {
        "StaticHyperParameters": {"epochs": "10"},
        "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2},
        "EnableManagedSpotTraining": True,
    },
    "LocalPricing": {"InstancePricesPerHour": {"ml.g5.xlarge": 1.8}, "SpotDiscount": 0.5},
}


def stored(store_url: str) -> Any:
    store = open_store(store_url)
    store.create_tuning_job(TuningJobRecord("priced", "Completed", REQUEST, 1, 0.0, 100.0))
    jobs = [  # 3600 s for 10 epochs; 360 s for 2 epochs, then stopped; 720 s, failed at once
        TrainingJobRecord(
            "priced-001",
            "priced",
            1,
            "Completed",
            {"x": 0.1},
            0.0,
            0.0,
            3600.0,
            0.5,
            billable_seconds=3600.0,
            epochs_completed=10,
        ),
        TrainingJobRecord(
            "priced-002",
            "priced",
            2,
            "Stopped",
            {"x": 0.9},
            0.0,
            100.0,
            460.0,
            2.0,
            billable_seconds=360.0,
            epochs_completed=2,
            early_stopped=True,
        ),
        TrainingJobRecord("priced-003", "priced", 3, "Failed", {"x": 0.5}, 0.0, 0.0, 720.0),
    ]
    for j in jobs:
        store.create_training_job(j)
    return store


def test_cost_of_jobs_with_known_durations(store_url: str) -> None:
    store = stored(store_url)
    spec, jobs = load_spec(store.get_tuning_job("priced")), store.list_training_jobs("priced")
    first, second, third = job_costs(spec, jobs)
    rate = 1.8 * 2 * 0.5 / 3600  # price x InstanceCount x (1 - spot discount), per second
    assert first.cost == pytest.approx(3600 * rate) == pytest.approx(1.8)
    assert second.cost == pytest.approx(360 * rate)
    # 8 epochs not run x 180 s per epoch measured on that job
    assert (second.epochs_not_run, second.saved_seconds) == (8, pytest.approx(1440.0))
    assert second.saved_cost == pytest.approx(1440 * rate)
    assert third.billable_seconds == 720.0 and third.epochs_not_run == 0  # no stored seconds
    summary = cost_summary(spec, jobs)
    assert summary["TotalCost"] == pytest.approx((3600 + 360 + 720) * rate)
    assert summary["CostPerTrainingJob"] == pytest.approx(summary["TotalCost"] / 3)
    assert summary["EpochsNotRun"] == 8 and summary["PlannedEpochsPerTrainingJob"] == 10
    assert summary["EstimatedSavedSeconds"] == pytest.approx(1440.0)
    # a prices file wins over the request; without any price there is no money figure
    other = cost_summary(spec, jobs, Pricing({"ml.g5.xlarge": 3.6}))
    assert other["TotalCost"] == pytest.approx(2 * summary["TotalCost"])
    unpriced = {**REQUEST, "LocalPricing": None}
    bare = cost_summary(
        load_spec(TuningJobRecord("priced", "Completed", unpriced, 1, 0.0, 1.0)), jobs
    )
    assert bare["TotalCost"] is None and bare["InstanceTypesWithoutPrice"] == ["ml.g5.xlarge"]
    assert bare["EstimatedSavedSeconds"] == pytest.approx(1440.0)


def test_describe_and_the_dataframe_carry_the_same_figures(store_url: str) -> None:
    stored(store_url)
    d = describe(open_store(store_url), "priced")
    assert d["ConsumedResources"]["RuntimeInSeconds"] == 3600 + 360 + 720
    assert d["Cost"]["TotalCost"] == pytest.approx(4680 * 1.8 / 3600)
    df = TuningJobAnalytics("priced", store=store_url).dataframe()
    assert list(df["EpochsNotRun"]) == [0, 8, 0]
    assert list(df["EarlyStopped"]) == [False, True, False]
    assert df["Cost"].sum() == pytest.approx(d["Cost"]["TotalCost"])


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagetune", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_cost_command(store_url: str, tmp_path: Path) -> None:
    stored(store_url)
    res = run_cli("cost", "priced", "--store", store_url)
    assert res.returncode == 0, res.stderr
    assert "cost: 2.3400, per training job: 0.7800" in res.stdout
    assert (
        "1 jobs stopped, 8 epochs not run (of 10 planned per job), estimated saving "
        "1440.0 s, 0.7200 in cost" in res.stdout
    )
    prices = tmp_path / "prices.yaml"
    prices.write_text("ml.g5.xlarge: 3.6\n")
    res = run_cli("cost", "priced", "--prices", str(prices), "--json", "--store", store_url)
    data = json.loads(res.stdout)
    assert data["TotalCost"] == pytest.approx(4.68) and len(data["TrainingJobs"]) == 3
    prices.write_text("ml.g5.xlarge: free\n")
    res = run_cli("cost", "priced", "--prices", str(prices), "--store", store_url)
    assert res.returncode == 2
    assert "--prices.InstancePricesPerHour[ml.g5.xlarge]: must be a number >= 0" in res.stderr


def test_a_store_from_before_the_cost_columns_gets_them(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE training_jobs (name VARCHAR(128) PRIMARY KEY, "
                "tuning_job_name VARCHAR(64) NOT NULL, seq INTEGER NOT NULL, "
                "status VARCHAR(16) NOT NULL, hyperparameters TEXT NOT NULL, "
                "created_at FLOAT NOT NULL, started_at FLOAT, ended_at FLOAT, "
                "objective FLOAT, final_metrics TEXT NOT NULL, failure_reason TEXT, "
                "log_path TEXT, process_id INTEGER, interrupted BOOLEAN NOT NULL, "
                "definition_name VARCHAR(64))"
            )
        )
        conn.execute(
            text(
                "INSERT INTO training_jobs VALUES ('a', 't', 1, 'Completed', '{}', 0, "
                "0, 5, 1.0, '{}', NULL, NULL, NULL, 0, NULL)"
            )
        )
    engine.dispose()
    (job,) = open_store(str(path)).list_training_jobs("t")
    assert job.billable_seconds is None and job.early_stopped is False


def test_seconds_per_epoch_come_from_the_epochs_times_and_savings_stay_below_a_full_run(
    store_url: str,
) -> None:
    store = stored(store_url)
    # priced-002 took 300 s to start and load its data, then 30 s an epoch (epochs 1 and 2
    # reported at 330 s and 360 s after its start).
    store.add_metric_points(
        [
            MetricPoint("priced-002", "loss", 2.5, 1, 100.0 + 330.0),
            MetricPoint("priced-002", "loss", 2.0, 2, 100.0 + 360.0),
        ]
    )
    spec, jobs = load_spec(store.get_tuning_job("priced")), store.list_training_jobs("priced")
    per_epoch = stopped_epoch_seconds(spec, jobs, store.metric_points)
    assert per_epoch == {"priced-002": pytest.approx(30.0)}
    second = job_costs(spec, jobs, per_epoch=per_epoch)[1]
    assert second.saved_seconds == pytest.approx(8 * 30.0)  # not 8 x 180 s of start-up
    assert describe(store, "priced")["Cost"]["EstimatedSavedSeconds"] == pytest.approx(240.0)
    # Whatever the per-epoch figure, a stopped job's time plus its saving is at most the
    # longest full run (3600 s here).
    capped = job_costs(spec, jobs, per_epoch={"priced-002": 10_000.0})[1]
    assert capped.billable_seconds + capped.saved_seconds == pytest.approx(3600.0)
    summary = cost_summary(spec, jobs, per_epoch={"priced-002": 10_000.0})
    full = [j for j in job_costs(spec, jobs) if j.status == "Completed"]
    assert summary["EstimatedSavedCost"] <= sum(j.cost or 0.0 for j in full)
