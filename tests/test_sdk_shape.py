"""HyperparameterTuner in the SageMaker Python SDK's shape: argument order and names,
fit(wait=False), wait(), stop_tuning_job(), the warm-start tuners, best_estimator()."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from sagetune import ContinuousParameter, HyperparameterTuner, IntegerParameter
from sagetune.errors import ValidationError
from sagetune.store import open_store

RANGES = {"x": ContinuousParameter(0, 1), "n": IntegerParameter(1, 4)}


def score(hp: dict[str, Any]) -> float:
    return -((hp["x"] - 0.3) ** 2) - 0.01 * hp["n"]


def slow(hp: dict[str, Any]) -> float:
    time.sleep(30)
    return hp["x"]


def with_model(hp: dict[str, Any], model_dir: str) -> float:
    Path(model_dir, "hp.json").write_text(json.dumps(hp))
    return score(hp)


def _store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shape.db'}"


def test_the_sdk_argument_order_with_tags_and_its_names(tmp_path: Path) -> None:
    tuner = HyperparameterTuner(
        score,
        "score",
        RANGES,
        None,
        "Random",
        "Maximize",
        4,
        2,
        tags=[{"Key": "team", "Value": "search"}],
        base_tuning_job_name="shape",
        completion_criteria_config={"TargetObjectiveMetricValue": 10.0},
        random_seed=5,
        store=_store(tmp_path),
        show_progress=False,
    )
    assert (tuner.strategy, tuner.max_jobs, tuner.max_parallel_jobs) == ("Random", 4, 2)
    tuner.fit()
    name = tuner.latest_tuning_job
    assert name is not None and name.startswith("shape-")
    described = tuner.describe()
    assert described["TrainingJobStatusCounters"]["Completed"] == 4
    assert described["HyperParameterTuningJobConfig"]["TuningJobCompletionCriteria"] == {
        "TargetObjectiveMetricValue": 10.0
    }
    record = open_store(_store(tmp_path)).get_tuning_job(name)
    assert record.request["Tags"] == [{"Key": "team", "Value": "search"}]
    # The same as the metric-first form, seed for seed.
    again = HyperparameterTuner(
        "score",
        RANGES,
        strategy="Random",
        max_jobs=4,
        max_parallel_jobs=2,
        random_seed=5,
        store=_store(tmp_path),
        show_progress=False,
    )
    again.fit(score, job_name="metric-first")
    first = [j.hyperparameters for j in tuner.store.list_training_jobs(name)]
    second = [j.hyperparameters for j in tuner.store.list_training_jobs("metric-first")]
    assert sorted(map(str, first)) == sorted(map(str, second))


@pytest.mark.parametrize(
    "args,kwargs,message",
    [
        ((score,), {}, "objective_metric_name: is required"),
        ((score, "score"), {}, "hyperparameter_ranges: is required"),
        ((42, "score", RANGES), {}, "estimator: must be a training function"),
        (
            (score, "score", RANGES),
            {"completion_criteria": {}, "completion_criteria_config": {}},
            "completion_criteria_config: give it or completion_criteria",
        ),
    ],
)
def test_a_misplaced_argument_names_itself(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        HyperparameterTuner(*args, **kwargs, store="sqlite://")


def test_metric_definitions_are_only_for_scripts(tmp_path: Path) -> None:
    tuner = HyperparameterTuner(
        score, "score", RANGES, [{"Name": "score", "Regex": "s=(.*)"}], store=_store(tmp_path)
    )
    with pytest.raises(ValidationError, match="metric_definitions: only for a script-mode"):
        tuner.fit()


def test_metric_definitions_and_inputs_reach_a_script_definition(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.txt").write_text("1\n")
    (tmp_path / "train.py").write_text(
        "import argparse, os\n"
        "p = argparse.ArgumentParser(); p.add_argument('--x', type=float)\n"
        "p.add_argument('--n', type=int); a = p.parse_args()\n"
        "rows = open(os.path.join(os.environ['SM_CHANNEL_TRAIN'], 'rows.txt')).read()\n"
        "print(f'score={-(a.x - 0.3) ** 2 + len(rows)}')\n"
    )
    definition = {
        "StaticHyperParameters": {
            "sagemaker_program": "train.py",
            "sagemaker_submit_directory": str(tmp_path),
        }
    }
    tuner = HyperparameterTuner(
        definition,
        "score",
        RANGES,
        metric_definitions=[{"Name": "score", "Regex": r"score=([-0-9.e]+)"}],
        strategy="Random",
        max_jobs=2,
        store=_store(tmp_path),
        show_progress=False,
    )
    tuner.fit({"train": str(tmp_path / "data")}, job_name="scripted")
    jobs = tuner.store.list_training_jobs("scripted")
    assert [j.status for j in jobs] == ["Completed", "Completed"], jobs[0].failure_reason
    assert all(j.objective is not None and j.objective > 1 for j in jobs)


def test_fit_without_waiting_then_wait(tmp_path: Path) -> None:
    tuner = HyperparameterTuner(
        score, "score", RANGES, strategy="Random", max_jobs=3, store=_store(tmp_path)
    )
    started = time.monotonic()
    tuner.fit(job_name="later", wait=False)
    assert tuner.store.get_tuning_job("later").status == "InProgress"
    assert tuner.wait(poll=0.2, timeout=120) == "Completed"
    assert time.monotonic() - started < 120
    assert len(tuner.store.list_training_jobs("later")) == 3


def test_stop_tuning_job_stops_a_running_one(tmp_path: Path) -> None:
    tuner = HyperparameterTuner(
        slow,
        "x",
        RANGES,
        strategy="Random",
        max_jobs=4,
        max_parallel_jobs=2,
        store=_store(tmp_path),
    )
    tuner.fit(job_name="stopped", wait=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not tuner.store.list_training_jobs("stopped"):
        time.sleep(0.2)
    tuner.stop_tuning_job()
    assert tuner.wait(poll=0.2, timeout=60) == "Stopped"


def test_an_in_memory_store_cannot_run_in_the_background() -> None:
    tuner = HyperparameterTuner(score, "score", RANGES, store="sqlite://")
    with pytest.raises(ValidationError, match="in-memory store"):
        tuner.fit(wait=False)


def test_warm_start_tuners_and_best_estimator(tmp_path: Path) -> None:
    parent = HyperparameterTuner(
        with_model,
        "score",
        RANGES,
        strategy="Random",
        max_jobs=3,
        random_seed=1,
        store=_store(tmp_path),
        show_progress=False,
    )
    parent.fit(job_name="parent")
    best = parent.best_estimator()
    assert best.training_job_name == parent.best_training_job()
    assert best.model_data.endswith(f"/parent/{best.training_job_name}/output/model.tar.gz")
    stored = json.loads((best.model_dir(tmp_path / "m") / "hp.json").read_text())
    assert stored == parent.store.get_training_job(best.training_job_name).hyperparameters
    assert float(best.hyperparameters["x"]) == stored["x"]

    child = parent.identical_dataset_and_algorithm_tuner(additional_parents={"parent"})
    assert child.warm_start_config == {
        "WarmStartType": "IdenticalDataAndAlgorithm",
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent"}],
    }
    child.fit(job_name="child")
    assert child.describe()["WarmStartConfig"]["WarmStartType"] == "IdenticalDataAndAlgorithm"
    assert parent.latest_tuning_job == "parent"  # the parent tuner is left as it was

    transfer = parent.transfer_learning_tuner(estimator=score)
    assert transfer.estimator is score
    assert transfer.warm_start_config["WarmStartType"] == "TransferLearning"


def reporting(hp: dict[str, Any], report: Any) -> float:
    for epoch in range(1, 200):
        report(epoch=epoch, score=hp["x"] + epoch / 1000, extra=float(epoch))
        time.sleep(0.2)
    return hp["x"]


def test_a_stopped_job_keeps_the_metrics_it_reported(tmp_path: Path) -> None:
    from sagetune import api

    tuner = HyperparameterTuner(
        reporting, "score", RANGES, strategy="Random", max_jobs=1, store=_store(tmp_path)
    )
    tuner.fit(job_name="kept", wait=False)
    store = tuner.store
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        jobs = store.list_training_jobs("kept")
        if jobs and len(store.metric_points([jobs[0].name])) >= 6:
            break
        time.sleep(0.2)
    name = store.list_training_jobs("kept")[0].name
    backend = api.Backend(store)
    api.call(backend, "StopTrainingJob", {"TrainingJobName": name})
    assert tuner.wait(poll=0.2, timeout=60) == "Completed"
    job = store.get_training_job(name)
    assert job.status == "Stopped"
    assert set(job.final_metrics) == {"score", "extra"} and job.final_metrics["extra"] >= 3
    described = api.call(backend, "DescribeTrainingJob", {"TrainingJobName": name})
    assert {m["MetricName"] for m in described["FinalMetricDataList"]} == {"score", "extra"}
