"""Every validation rule gives a ValidationError naming the field and the rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sagetune import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
    ResourceInUse,
    ValidationError,
    parse_request,
)
from sagetune.store import open_store

RANGES = "HyperParameterTuningJobConfig.ParameterRanges"


def good_request() -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": "my-job-1",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize",
                "MetricName": "validation:auc",
            },
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {
                        "Name": "eta",
                        "MinValue": "0.001",
                        "MaxValue": "1",
                        "ScalingType": "Logarithmic",
                    }
                ],
                "IntegerParameterRanges": [
                    {"Name": "max_depth", "MinValue": "1", "MaxValue": "10", "ScalingType": "Auto"}
                ],
                "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"num_round": "100"},
            "RoleArn": "arn:aws:iam::123456789012:role/x",
            "ResourceConfig": {
                "InstanceType": "ml.m5.xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 10,
            },
        },
    }


def test_good_request_parses_and_keeps_cloud_fields() -> None:
    spec = parse_request(good_request())
    assert spec.max_jobs == 10 and spec.max_parallel_jobs == 2 and spec.maximize
    assert list(spec.space.ranges) == ["eta", "max_depth", "booster"]
    assert spec.to_request()["TrainingJobDefinition"]["RoleArn"].startswith("arn:aws:iam")


def _edit(path: str, value: Any) -> dict[str, Any]:
    req = copy.deepcopy(good_request())
    node: Any = req
    keys = path.split("/")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return req


_DELETE = object()
CFG = "HyperParameterTuningJobConfig"
CONT = f"{CFG}/ParameterRanges/ContinuousParameterRanges"
INT = f"{CFG}/ParameterRanges/IntegerParameterRanges"
CAT = f"{CFG}/ParameterRanges/CategoricalParameterRanges"

CASES = [
    (
        "log needs min > 0",
        _edit(f"{CONT}/0/MinValue", "0"),
        f"{RANGES}.ContinuousParameterRanges[eta]: ScalingType Logarithmic requires MinValue > 0, "
        f"got 0.0",
    ),
    (
        "min <= max",
        _edit(f"{CONT}/0/MaxValue", "0.0001"),
        f"{RANGES}.ContinuousParameterRanges[eta]: MinValue must be <= MaxValue",
    ),
    (
        "reverse log bounds",
        _edit(
            f"{CONT}/0",
            {
                "Name": "momentum",
                "MinValue": "0.9",
                "MaxValue": "1.0",
                "ScalingType": "ReverseLogarithmic",
            },
        ),
        f"{RANGES}.ContinuousParameterRanges[momentum]: ScalingType ReverseLogarithmic requires "
        f"0 <= MinValue < MaxValue < 1",
    ),
    (
        "reverse log negative min",
        _edit(
            f"{CONT}/0",
            {
                "Name": "m",
                "MinValue": "-0.1",
                "MaxValue": "0.5",
                "ScalingType": "ReverseLogarithmic",
            },
        ),
        "requires 0 <= MinValue < MaxValue < 1",
    ),
    (
        "reverse log integer",
        _edit(f"{INT}/0/ScalingType", "ReverseLogarithmic"),
        f"{RANGES}.IntegerParameterRanges[max_depth]: ScalingType ReverseLogarithmic is only "
        f"supported for continuous ranges",
    ),
    (
        "integer bounds are integers",
        _edit(f"{INT}/0/MaxValue", "10.5"),
        f"{RANGES}.IntegerParameterRanges[max_depth].MaxValue: must be an integer, got '10.5'",
    ),
    (
        "bounds are numbers",
        _edit(f"{CONT}/0/MinValue", "abc"),
        f"{RANGES}.ContinuousParameterRanges[eta].MinValue: must be a number, got 'abc'",
    ),
    (
        "scaling enum",
        _edit(f"{CONT}/0/ScalingType", "Log"),
        f"{RANGES}.ContinuousParameterRanges[eta].ScalingType: must be one of Auto, Linear, "
        f"Logarithmic, ReverseLogarithmic, got 'Log'",
    ),
    (
        "unique names",
        _edit(f"{CAT}/0/Name", "eta"),
        f"{RANGES}.CategoricalParameterRanges[eta]: hyperparameter names must be unique across all "
        f"ranges",
    ),
    (
        "categorical values non-empty",
        _edit(f"{CAT}/0/Values", []),
        f"{RANGES}.CategoricalParameterRanges[booster].Values: must be a non-empty list",
    ),
    (
        "categorical values unique",
        _edit(f"{CAT}/0/Values", ["a", "a"]),
        "Values: values must be unique",
    ),
    (
        "categorical at most 30",
        _edit(f"{CAT}/0/Values", [str(i) for i in range(31)]),
        "Values: at most 30 values are allowed, got 31",
    ),
    (
        "parallel <= max jobs",
        _edit(f"{CFG}/ResourceLimits/MaxParallelTrainingJobs", 20),
        "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs: must be <= "
        "MaxNumberOfTrainingJobs (10), got 20",
    ),
    (
        "max jobs >= 1",
        _edit(f"{CFG}/ResourceLimits/MaxNumberOfTrainingJobs", 0),
        "ResourceLimits.MaxNumberOfTrainingJobs: must be >= 1, got 0",
    ),
    (
        "max jobs required",
        _edit(f"{CFG}/ResourceLimits/MaxNumberOfTrainingJobs", _DELETE),
        "ResourceLimits.MaxNumberOfTrainingJobs: is required",
    ),
    (
        "max jobs integer",
        _edit(f"{CFG}/ResourceLimits/MaxNumberOfTrainingJobs", "ten"),
        "ResourceLimits.MaxNumberOfTrainingJobs: must be an integer, got 'ten'",
    ),
    (
        "strategy enum",
        _edit(f"{CFG}/Strategy", "Genetic"),
        "HyperParameterTuningJobConfig.Strategy: must be one of Bayesian, Random, Grid, Hyperband",
    ),
    (
        "objective type enum",
        _edit(f"{CFG}/HyperParameterTuningJobObjective/Type", "Max"),
        "HyperParameterTuningJobObjective.Type: must be one of Maximize, Minimize, got 'Max'",
    ),
    (
        "objective metric required",
        _edit(f"{CFG}/HyperParameterTuningJobObjective/MetricName", ""),
        "HyperParameterTuningJobObjective.MetricName: is required",
    ),
    (
        "grid takes no continuous",
        _edit(f"{CFG}/Strategy", "Grid"),
        f"{RANGES}.ContinuousParameterRanges[eta]: the Grid strategy takes only categorical",
    ),
    (
        "job name pattern",
        _edit("HyperParameterTuningJobName", "bad_name!"),
        "HyperParameterTuningJobName: must be 1 to 32 letters, digits or hyphens",
    ),
    (
        "job name length",
        _edit("HyperParameterTuningJobName", "x" * 33),
        "HyperParameterTuningJobName: must be 1 to 32",
    ),
    (
        "static and tuned",
        _edit("TrainingJobDefinition/StaticHyperParameters", {"eta": "0.1"}),
        "TrainingJobDefinition.StaticHyperParameters[eta]: a hyperparameter cannot be both static "
        "and tuned",
    ),
    (
        "not improving minimum",
        _edit(
            f"{CFG}/TuningJobCompletionCriteria",
            {"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 2}},
        ),
        "BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving: must be >= 3, got 2",
    ),
    (
        "convergence flag enum",
        _edit(
            f"{CFG}/TuningJobCompletionCriteria",
            {"ConvergenceDetected": {"CompleteOnConvergence": "Yes"}},
        ),
        "ConvergenceDetected.CompleteOnConvergence: must be one of Disabled, Enabled",
    ),
    (
        "random seed >= 0",
        _edit(f"{CFG}/RandomSeed", -1),
        "HyperParameterTuningJobConfig.RandomSeed: must be >= 0, got -1",
    ),
    (
        "no ranges",
        _edit(f"{CFG}/ParameterRanges", {}),
        f"{RANGES}: at least one hyperparameter range is required",
    ),
    (
        "strategy config only for hyperband",
        _edit(f"{CFG}/StrategyConfig", {"HyperbandStrategyConfig": {}}),
        "HyperParameterTuningJobConfig.StrategyConfig: is only allowed with the Hyperband",
    ),
    ("config required", _edit(CFG, _DELETE), "HyperParameterTuningJobConfig: is required"),
]


@pytest.mark.parametrize("request_body,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_names_field_and_rule(request_body: dict, expected: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_request(request_body)
    assert any(expected in e for e in err.value.errors), err.value.errors
    assert isinstance(err.value, ValueError)


def test_grid_max_jobs_must_equal_number_of_combinations() -> None:
    req = good_request()
    cfg = req["HyperParameterTuningJobConfig"]
    cfg["Strategy"] = "Grid"
    del cfg["ParameterRanges"]["ContinuousParameterRanges"]
    with pytest.raises(ValidationError) as err:
        parse_request(req)  # 10 integers x 2 categories = 20 combinations, 10 given
    assert (
        "HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs: with the Grid "
        "strategy it must equal the number of distinct combinations of the ranges (20), "
        "got 10"
    ) in str(err.value)
    del cfg["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    assert parse_request(req).max_jobs == 20


def test_every_error_is_reported_at_once() -> None:
    req = _edit(f"{CONT}/0/MinValue", "0")
    req["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] = 20
    req["HyperParameterTuningJobConfig"]["Strategy"] = "Nope"
    with pytest.raises(ValidationError) as err:
        parse_request(req)
    assert len(err.value.errors) == 3
    assert "3 validation errors" in str(err.value)


def test_sdk_rejects_with_the_same_messages() -> None:
    with pytest.raises(
        ValidationError,
        match=r"ContinuousParameterRanges\[learning_rate\]: "
        r"ScalingType Logarithmic requires MinValue > 0, got 0.0",
    ):
        HyperparameterTuner(
            "loss", {"learning_rate": ContinuousParameter(0.0, 1.0, "Logarithmic")}, max_jobs=5
        )
    with pytest.raises(
        ValidationError,
        match="MaxParallelTrainingJobs: must be <= "
        r"MaxNumberOfTrainingJobs \(3\), got 4",
    ):
        HyperparameterTuner("loss", {"x": IntegerParameter(1, 5)}, max_jobs=3, max_parallel_jobs=4)
    with pytest.raises(ValidationError, match=r"hyperparameter_ranges\[x\]: must be a "):
        HyperparameterTuner("loss", {"x": (0, 1)}, max_jobs=3)  # type: ignore[dict-item]
    with pytest.raises(ValidationError, match="Grid strategy takes only categorical"):
        HyperparameterTuner("loss", {"x": ContinuousParameter(0, 1)}, strategy="Grid")


def test_unpicklable_training_function_says_how_to_fix(store_url: str) -> None:
    import threading

    lock = threading.Lock()

    def train(hp: dict) -> float:
        with lock:
            return hp["x"]

    tuner = HyperparameterTuner(
        "loss",
        {"x": CategoricalParameter([1, 2])},
        strategy="Grid",
        objective_type="Minimize",
        store=store_url,
    )
    with pytest.raises(
        ValidationError,
        match="cannot be sent to a worker process.*create such objects inside the function",
    ):
        tuner.fit(train, job_name="unpicklable")
    assert open_store(store_url).list_tuning_jobs() == []


def test_rejected_request_changes_nothing_stored(store_url: str) -> None:
    tuner = HyperparameterTuner(
        "loss",
        {"x": CategoricalParameter([1, 2])},
        strategy="Grid",
        objective_type="Minimize",
        store=store_url,
    )
    tuner.fit(lambda hp: float(hp["x"]), job_name="first")
    store = open_store(store_url)
    before = (store.get_tuning_job("first"), store.list_training_jobs("first"))
    with pytest.raises(ResourceInUse, match="a tuning job named .first. already exists"):
        tuner.fit(lambda hp: 0.0, job_name="first")
    with pytest.raises(ValidationError, match="HyperParameterTuningJobName: must be"):
        tuner.fit(lambda hp: 0.0, job_name="not valid")
    assert (store.get_tuning_job("first"), store.list_training_jobs("first")) == before
    assert [r.name for r in store.list_tuning_jobs()] == ["first"]
