"""The SDK end to end: real worker processes and a real SQLite file."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from sagetune import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
    TuningJobAnalytics,
    TuningJobCompletionCriteriaConfig,
)
from sagetune.analytics import COST_COLUMNS
from sagetune.store import open_store

SPACE = {
    "x": ContinuousParameter(-5.0, 5.0),
    "n": IntegerParameter(0, 3),
    "c": CategoricalParameter(["a", "b"]),
}


def quadratic(hp: dict) -> dict:
    return {"loss": (hp["x"] - 1.0) ** 2 + hp["n"] + (0.0 if hp["c"] == "a" else 0.5), "other": 1.0}


def tuner(store_url: str, **kw) -> HyperparameterTuner:
    args = dict(
        objective_type="Minimize",
        strategy="Random",
        max_jobs=6,
        random_seed=7,
        store=store_url,
        show_progress=False,
    )
    args.update(kw)
    return HyperparameterTuner(
        "loss", kw.pop("ranges", SPACE), **{k: v for k, v in args.items() if k != "ranges"}
    )


def test_fit_runs_every_job_and_answers_like_sagemaker(store_url: str) -> None:
    t = tuner(store_url, max_jobs=8, max_parallel_jobs=3)
    t.fit(quadratic, job_name="quad")
    d = t.describe()
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["HyperParameterTuningJobArn"] == (
        "arn:aws:sagemaker:local:000000000000:hyper-parameter-tuning-job/quad"
    )
    assert d["TrainingJobStatusCounters"] == {
        "Completed": 8,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    assert d["ObjectiveStatusCounters"] == {"Succeeded": 8, "Pending": 0, "Failed": 0}
    best = d["BestTrainingJob"]
    df = t.analytics().dataframe()
    assert best["TrainingJobName"] == t.best_training_job()
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Minimize",
        "MetricName": "loss",
        "Value": df["FinalObjectiveValue"].min(),
    }
    assert set(best["TunedHyperParameters"]) == {"x", "n", "c"}
    assert all(isinstance(v, str) for v in best["TunedHyperParameters"].values())
    assert d["CreationTime"] <= best["TrainingStartTime"] <= best["TrainingEndTime"]
    assert d["CreationTime"].tzinfo is not None

    assert list(df.columns) == [
        "x",
        "n",
        "c",
        "TrainingJobName",
        "TrainingJobStatus",
        "FinalObjectiveValue",
        "TrainingStartTime",
        "TrainingEndTime",
        "TrainingElapsedTimeSeconds",
        *COST_COLUMNS,
    ]
    assert len(df) == 8 and (df["TrainingJobStatus"] == "Completed").all()
    assert df["TrainingJobName"].str.match(r"^quad-\d{3}-[0-9a-f]{8}$").all()
    expected = [quadratic(r)["loss"] for r in df[["x", "n", "c"]].to_dict("records")]
    assert df["FinalObjectiveValue"].tolist() == pytest.approx(expected)
    assert (df["TrainingElapsedTimeSeconds"] >= 0).all()
    assert isinstance(df["TrainingStartTime"].iloc[0], pd.Timestamp)
    # Analytics read the store, not the tuner: a fresh reader sees the same.
    again = TuningJobAnalytics("quad", store=store_url).dataframe()
    assert again["TrainingJobName"].tolist() == df["TrainingJobName"].tolist()


def _sequence(store_url: str, name: str, strategy: str, seed: int) -> list[dict]:
    t = tuner(store_url, strategy=strategy, random_seed=seed, max_jobs=7)
    t.fit(quadratic, job_name=name)
    return [j.hyperparameters for j in open_store(store_url).list_training_jobs(name)]


@pytest.mark.parametrize("strategy", ["Random", "Bayesian"])
def test_same_seed_same_suggestions_in_the_same_order(store_url: str, strategy: str) -> None:
    a = _sequence(store_url, "seed-a", strategy, 11)
    b = _sequence(store_url, "seed-b", strategy, 11)
    c = _sequence(store_url, "seed-c", strategy, 12)
    assert a == b
    assert a != c


def both_alive(hp: dict) -> float:
    """Waits until every job of the batch has started: only true parallelism gets through."""
    folder = Path(hp["folder"])
    (folder / f"{hp['i']}.{os.getpid()}").touch()
    deadline = time.time() + 30
    x = 0.0
    while len(list(folder.iterdir())) < 3:  # busy, CPU-bound wait
        x += math.sqrt(time.time())
        if time.time() > deadline:
            raise TimeoutError("the other training jobs never ran at the same time")
    return float(hp["i"])


def test_cpu_bound_jobs_run_in_parallel_processes(store_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "alive"
    folder.mkdir()
    t = HyperparameterTuner(
        "loss",
        {"i": CategoricalParameter([1, 2, 3])},
        strategy="Grid",
        objective_type="Minimize",
        max_parallel_jobs=3,
        store=store_url,
        static_hyperparameters={"folder": str(folder)},
        show_progress=False,
    )
    t.fit(both_alive, job_name="parallel")
    d = t.describe()
    assert d["TrainingJobStatusCounters"]["Completed"] == 3, d
    pids = {p.name.split(".")[1] for p in folder.iterdir()}
    assert len(pids) == 3 and str(os.getpid()) not in pids


def flaky(hp: dict):
    kind = hp["kind"]
    if kind == "raises":
        print("about to fail")
        raise ValueError("learning rate too high")
    if kind == "nan":
        return {"loss": float("nan")}
    if kind == "missing":
        return {"accuracy": 0.5}
    if kind == "text":
        return "hello"
    if kind == "exit":
        os._exit(3)
    return {"loss": 1.0}


def test_failing_jobs_are_recorded_and_the_tuning_job_goes_on(store_url: str) -> None:
    kinds = ["raises", "nan", "missing", "text", "exit", "ok"]
    t = HyperparameterTuner(
        "loss",
        {"kind": CategoricalParameter(kinds)},
        strategy="Grid",
        objective_type="Minimize",
        max_parallel_jobs=2,
        store=store_url,
        show_progress=False,
    )
    t.fit(flaky, job_name="flaky")
    jobs = {j.hyperparameters["kind"]: j for j in open_store(store_url).list_training_jobs("flaky")}
    assert {k: j.status for k, j in jobs.items()} == {
        "raises": "Failed",
        "nan": "Failed",
        "missing": "Failed",
        "text": "Failed",
        "exit": "Failed",
        "ok": "Completed",
    }
    reasons = {k: j.failure_reason for k, j in jobs.items()}
    assert "ValueError: learning rate too high" in reasons["raises"]
    assert "about to fail" in reasons["raises"]  # the log's tail
    assert "objective metric 'loss' is nan" in reasons["nan"]
    assert "objective metric 'loss' not found" in reasons["missing"]
    assert "train returned str" in reasons["text"]
    assert "the training process failed with exit code 3" in reasons["exit"]
    d = t.describe()
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["TrainingJobStatusCounters"]["NonRetryableError"] == 5
    assert d["ObjectiveStatusCounters"] == {"Succeeded": 1, "Pending": 0, "Failed": 5}
    assert d["BestTrainingJob"]["TrainingJobName"] == jobs["ok"].name


def test_all_jobs_failing_fails_the_tuning_job(store_url: str) -> None:
    t = tuner(store_url, max_jobs=3)
    t.fit(lambda hp: {"nothing": 1.0}, job_name="allfail")
    d = t.describe()
    assert d["HyperParameterTuningJobStatus"] == "Failed"
    assert "All training jobs failed" in d["FailureReason"]
    with pytest.raises(RuntimeError, match="no training job with an objective value"):
        t.best_training_job()


def test_failed_jobs_count_toward_max_jobs(store_url: str) -> None:
    t = tuner(store_url, max_jobs=5)
    t.fit(lambda hp: 1 / 0 if hp["n"] % 2 else {"loss": 1.0}, job_name="count")
    assert len(open_store(store_url).list_training_jobs("count")) == 5


def test_grid_walks_each_combination_once_in_parallel(store_url: str) -> None:
    ranges = {"a": CategoricalParameter(["x", "y", "z"]), "b": IntegerParameter(1, 4)}
    t = HyperparameterTuner(
        "loss",
        ranges,
        strategy="Grid",
        objective_type="Minimize",
        max_parallel_jobs=4,
        store=store_url,
        show_progress=False,
    )
    t.fit(lambda hp: float(hp["b"]), job_name="grid")
    combos = [
        (j.hyperparameters["a"], j.hyperparameters["b"])
        for j in open_store(store_url).list_training_jobs("grid")
    ]
    assert sorted(combos) == sorted((a, b) for a in "xyz" for b in range(1, 5))
    assert (
        len(combos)
        == 12
        == t.describe()["HyperParameterTuningJobConfig"]["ResourceLimits"].get(
            "MaxNumberOfTrainingJobs", 12
        )
    )


def test_target_objective_value_ends_the_job_early(store_url: str) -> None:
    t = tuner(
        store_url,
        max_jobs=40,
        completion_criteria=TuningJobCompletionCriteriaConfig(target_objective_metric_value=100.0),
    )
    t.fit(quadratic, job_name="target")
    d = t.describe()
    assert d["TrainingJobStatusCounters"]["Completed"] == 1  # any point beats 100
    assert d["CompletionReason"] == "TargetObjectiveMetricValue reached"
    assert d["HyperParameterTuningJobStatus"] == "Completed"


def test_best_objective_not_improving_ends_the_job(store_url: str) -> None:
    t = tuner(
        store_url,
        max_jobs=40,
        completion_criteria={
            "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 4}
        },
    )
    t.fit(lambda hp: {"loss": 3.0}, job_name="flat")
    d = t.describe()
    assert d["TrainingJobStatusCounters"]["Completed"] == 5  # the first, then 4 not improving
    assert d["TuningJobCompletionDetails"]["NumberOfTrainingJobsObjectiveNotImproving"] == 4


def test_convergence_ends_the_job(store_url: str) -> None:
    t = tuner(
        store_url,
        max_jobs=40,
        completion_criteria=TuningJobCompletionCriteriaConfig(complete_on_convergence=True),
    )
    t.fit(lambda hp: {"loss": 3.0}, job_name="conv")
    d = t.describe()
    assert d["TrainingJobStatusCounters"]["Completed"] == 10
    assert d["CompletionReason"] == "ConvergenceDetected"
    assert "ConvergenceDetectedTime" in d["TuningJobCompletionDetails"]


def sleepy(hp: dict) -> float:
    time.sleep(0.6)
    return hp["x"]


def test_max_runtime_stops_running_jobs(store_url: str) -> None:
    t = tuner(store_url, max_jobs=100, max_parallel_jobs=2, max_runtime_in_seconds=2)
    start = time.time()
    t.fit(sleepy, job_name="runtime")
    d = t.describe()
    assert d["CompletionReason"] == "MaxRuntimeInSeconds reached"
    assert d["TrainingJobStatusCounters"]["Completed"] < 100
    assert time.time() - start < 30
    jobs = open_store(store_url).list_training_jobs("runtime")
    assert all(j.finished for j in jobs)


def test_reader_process_never_sees_a_locked_database(store_url: str, tmp_path: Path) -> None:
    reader = tmp_path / "reader.py"
    reader.write_text(
        textwrap.dedent(f"""
        import time
        from sagetune import TuningJobAnalytics
        from sagetune.store import open_store
        store = open_store({store_url!r})
        reads, deadline = 0, time.time() + 60
        while time.time() < deadline:
            names = [r.name for r in store.list_tuning_jobs()]
            if "busy" in names:
                TuningJobAnalytics("busy", store=store).dataframe()
                reads += 1
                if store.get_tuning_job("busy").status != "InProgress":
                    break
        print(reads)
    """)
    )
    proc = subprocess.Popen(
        [sys.executable, str(reader)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    t = tuner(store_url, max_jobs=60, max_parallel_jobs=2)
    t.fit(quadratic, job_name="busy")
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert "locked" not in err
    assert int(out.strip()) > 0


def test_a_function_defined_in_a_script_without_main_guard(tmp_path: Path) -> None:
    script = tmp_path / "tune_me.py"
    script.write_text(
        textwrap.dedent(f"""
        import sagetune
        OFFSET = 2.0
        def train(hp):
            return {{"loss": (hp["x"] - OFFSET) ** 2}}
        print("script body ran")
        tuner = sagetune.HyperparameterTuner(
            "loss", {{"x": sagetune.ContinuousParameter(0, 4)}}, objective_type="Minimize",
            strategy="Random", max_jobs=4, max_parallel_jobs=2,
            store="sqlite:///{tmp_path / "script.db"}", show_progress=False)
        tuner.fit(train, job_name="script")
        print(tuner.describe()["TrainingJobStatusCounters"]["Completed"])
    """)
    )
    res = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    # The body ran once (in the tuner process only) and every job completed.
    assert res.stdout.split() == ["script", "body", "ran", "4"]


def test_logs_of_callables_are_kept_per_job(store_url: str) -> None:
    def chatty(hp: dict) -> float:
        print(f"training with x={hp['x']}")
        return hp["x"]

    t = tuner(store_url, max_jobs=2)
    t.fit(chatty, job_name="chatty")
    for job in open_store(store_url).list_training_jobs("chatty"):
        assert job.log_path is not None
        assert f"training with x={job.hyperparameters['x']}" in Path(job.log_path).read_text()


def test_default_store_is_under_sagetune_home(tmp_path: Path) -> None:
    t = HyperparameterTuner(
        "loss",
        {"x": CategoricalParameter([1])},
        strategy="Grid",
        objective_type="Minimize",
        show_progress=False,
    )
    t.fit(lambda hp: 1.0, job_name="home")
    assert t.store.url == f"sqlite:///{tmp_path / 'home' / 'sagetune.db'}"
    assert (tmp_path / "home" / "sagetune.db").exists()


def test_ctrl_c_stops_the_tuning_job_and_records_it(tmp_path: Path) -> None:
    script = tmp_path / "interrupt.py"
    db = tmp_path / "int.db"
    script.write_text(
        textwrap.dedent(f"""
        import time, sagetune
        def train(hp):
            time.sleep(30)
            return 1.0
        t = sagetune.HyperparameterTuner("loss", {{"x": sagetune.ContinuousParameter(0, 1)}},
            strategy="Random", max_jobs=4, max_parallel_jobs=2, store="sqlite:///{db}",
            show_progress=True)
        t.fit(train, job_name="interrupted")
    """)
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    store = None
    deadline = time.time() + 60
    while time.time() < deadline:
        if db.exists():
            store = open_store(f"sqlite:///{db}")
            jobs = store.list_training_jobs("interrupted") if store.list_tuning_jobs() else []
            if len(jobs) == 2 and all(j.started_at for j in jobs):
                break
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(2)  # SIGINT, as Ctrl-C
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert store is not None
    assert store.get_tuning_job("interrupted").status == "Stopped"
    jobs = store.list_training_jobs("interrupted")
    assert [j.status for j in jobs] == ["Stopped", "Stopped"]
    assert "interrupted" in (jobs[0].failure_reason or "")


def test_live_progress_shows_the_counters_and_the_best(tmp_path: Path) -> None:
    script = tmp_path / "progress.py"
    script.write_text(
        textwrap.dedent(f"""
        import sagetune
        t = sagetune.HyperparameterTuner("loss", {{"x": sagetune.IntegerParameter(1, 3)}},
            objective_type="Minimize", strategy="Grid", store="sqlite:///{tmp_path / "p.db"}",
            show_progress=True)
        t.fit(lambda hp: float(hp["x"]), job_name="shown")
    """)
    )
    res = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert res.returncode == 0, res.stderr
    assert "shown Completed" in res.stderr
    assert "3/3 jobs" in res.stderr and "Completed 3" in res.stderr
    assert "best loss = 1 (shown-001-" in res.stderr


def test_attach_reads_back_the_tuner_that_ran_the_job(store_url: str) -> None:
    from sagetune import HyperbandStrategyConfig, StrategyConfig

    def epochs(hp: dict, report) -> dict:
        for k in range(1, 4):
            report(epoch=k, loss=quadratic(hp)["loss"] + 1.0 / k)
        return {"loss": quadratic(hp)["loss"] + 1.0 / 3}

    t = tuner(
        store_url,
        strategy="Hyperband",
        max_jobs=4,
        max_parallel_jobs=2,
        max_runtime_in_seconds=600,
        strategy_config=StrategyConfig(HyperbandStrategyConfig(max_resource=3)),
        completion_criteria=TuningJobCompletionCriteriaConfig(target_objective_metric_value=-1.0),
    )
    t.fit(epochs, job_name="hb-attach")
    again = HyperparameterTuner.attach("hb-attach", store=store_url)
    stored = open_store(store_url).get_tuning_job("hb-attach").request
    assert (
        again.request("hb-attach")["HyperParameterTuningJobConfig"]
        == stored["HyperParameterTuningJobConfig"]
    )
    assert again.best_training_job() == t.best_training_job()
    assert len(again.analytics().dataframe()) == 4
