"""Python callables that report each epoch: real worker processes, a real SQLite file."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sagetune import (
    ContinuousParameter,
    HyperbandStrategyConfig,
    HyperparameterTuner,
    StrategyConfig,
    TrainingStopped,
)
from sagetune.executors.base import JobFinished, JobRequest, MetricReported
from sagetune.executors.process import ProcessExecutor
from sagetune.reporting import wants_reporter


def test_which_callables_get_a_reporter() -> None:
    assert wants_reporter(lambda hp, report: 0)
    assert wants_reporter(lambda *args: 0)
    assert not wants_reporter(lambda hp: 0)
    assert not wants_reporter(lambda hp, seed=0: 0)


def slow_curve(hp: dict, report) -> dict:
    """Eight epochs; a stopped job saves a checkpoint and returns."""
    loss = 1.0
    try:
        for epoch in range(1, 9):
            loss = abs(hp["x"] - 0.5) + 1.0 / epoch
            report(epoch=epoch, loss=loss, lr=0.1)
            time.sleep(0.01)
    except TrainingStopped:
        Path(os.environ["CHECKPOINTS"], f"{hp['x']:.6f}").write_text(str(loss))
        return {"loss": loss}
    return {"loss": loss}


def test_auto_stops_a_reporting_callable_which_may_checkpoint(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHECKPOINTS", str(tmp_path))
    tuner = HyperparameterTuner(
        "loss",
        {"x": ContinuousParameter(0.0, 1.0)},
        objective_type="Minimize",
        strategy="Random",
        max_jobs=14,
        max_parallel_jobs=2,
        early_stopping_type="Auto",
        random_seed=2,
        store=store_url,
        show_progress=False,
    )
    tuner.fit(slow_curve, job_name="reporting")
    jobs = tuner.store.list_training_jobs("reporting")
    stopped = [j for j in jobs if j.status == "Stopped"]
    assert stopped, [j.status for j in jobs]
    checkpoints = {p.name for p in tmp_path.iterdir() if p.is_file() and p.suffix != ".db"}
    for j in stopped:
        assert j.early_stopped and "early stopping (Auto)" in j.failure_reason
        assert f"{j.hyperparameters['x']:.6f}" in checkpoints
        losses = [p for p in tuner.store.metric_points([j.name]) if p.metric_name == "loss"]
        assert [p.step for p in losses] == list(range(1, len(losses) + 1))
        assert j.objective == losses[-1].value and j.epochs_completed < 8
    for j in jobs:
        if j.status == "Completed":
            steps = [p.step for p in tuner.store.metric_points([j.name]) if p.metric_name == "loss"]
            assert steps == list(range(1, 9))  # the returned value adds no extra point
    d = tuner.describe()
    assert d["TrainingJobStatusCounters"]["Stopped"] == len(stopped)
    assert d["Cost"]["EarlyStoppedTrainingJobs"] == len(stopped)
    assert d["Cost"]["EpochsNotRun"] == sum(8 - j.epochs_completed for j in stopped)
    df = tuner.analytics().dataframe()
    assert df["EarlyStopped"].sum() == len(stopped)


def ignores_reports(hp: dict, report) -> float:
    report(epoch=1, loss=5.0)
    time.sleep(60)  # never reports again: its process must be ended
    return 0.0


def test_a_job_that_does_not_report_again_is_ended(tmp_path: Path) -> None:
    executor = ProcessExecutor(ignores_reports, capacity=1, stop_grace_seconds=0.5)
    try:
        executor.start(JobRequest("j1", {}, tmp_path / "j1"))
        events: list = []
        deadline = time.time() + 30
        while not any(isinstance(e, MetricReported) for e in events) and time.time() < deadline:
            events += executor.poll(0.2)
        time.sleep(0.3)  # so the stop arrives after the report's own check for one
        executor.stop("j1", "told to stop")
        t0 = time.time()
        while not any(isinstance(e, JobFinished) for e in events) and time.time() < deadline:
            events += executor.poll(0.2)
        (finished,) = [e for e in events if isinstance(e, JobFinished)]
        assert finished.status == "Stopped" and finished.metrics == {"loss": 5.0}
        assert "did not report again within 0.5 s" in finished.failure_reason
        assert time.time() - t0 < 10
    finally:
        executor.shutdown()


def bad_epochs(hp: dict, report) -> float:
    report(epoch=2, loss=1.0)
    report(epoch=2, loss=0.5)
    return 0.5


def test_a_report_that_goes_back_fails_the_job(store_url: str) -> None:
    tuner = HyperparameterTuner(
        "loss",
        {"x": ContinuousParameter(0.0, 1.0)},
        objective_type="Minimize",
        strategy="Random",
        max_jobs=1,
        store=store_url,
        show_progress=False,
    )
    tuner.fit(bad_epochs, job_name="bad-epochs")
    (job,) = tuner.store.list_training_jobs("bad-epochs")
    assert job.status == "Failed"
    assert "report(epoch=...) must be an integer greater than the previous epoch (2)" in (
        job.failure_reason
    )


def epochs_27(hp: dict, report) -> dict:
    for epoch in range(1, 28):
        report(epoch=epoch, loss=abs(hp["x"] - 0.3) + 1 / epoch)
        time.sleep(0.02)
    return {"loss": abs(hp["x"] - 0.3) + 1 / 27}


def test_hyperband_with_a_reporting_callable(store_url: str) -> None:
    tuner = HyperparameterTuner(
        "loss",
        {"x": ContinuousParameter(0.0, 1.0)},
        objective_type="Minimize",
        strategy="Hyperband",
        max_jobs=12,
        max_parallel_jobs=2,
        random_seed=5,
        store=store_url,
        show_progress=False,
        strategy_config=StrategyConfig(HyperbandStrategyConfig(max_resource=27, min_resource=1)),
    )
    tuner.fit(epochs_27, job_name="hb-callable")
    jobs = tuner.store.list_training_jobs("hb-callable")
    assert {j.status for j in jobs} <= {"Completed", "Stopped"}
    assert any(j.status == "Stopped" for j in jobs)
    assert all(j.epochs_completed == 27 for j in jobs if j.status == "Completed")
    # told at the report after the rung's epoch (the tuner may take a report or two to answer)
    assert all(j.early_stopped and j.epochs_completed < 27 for j in jobs if j.status == "Stopped")
    assert "stopped by Hyperband at the rung of epoch" in next(
        j.failure_reason for j in jobs if j.status == "Stopped"
    )
