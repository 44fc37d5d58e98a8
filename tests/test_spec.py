"""The spec: the normalised request it stores, and reading it back without the disk."""

from __future__ import annotations

from pathlib import Path

from sagetune.spec import load_spec, parse_request
from sagetune.store.records import TrainingJobRecord, TuningJobRecord

MINIMAL = {
    "HyperParameterTuningJobName": "minimal",
    "HyperParameterTuningJobConfig": {
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {
            "ContinuousParameterRanges": [{"Name": "lr", "MinValue": 1e-4, "MaxValue": "0.1"}],
            "IntegerParameterRanges": [
                {"Name": "depth", "MinValue": "2", "MaxValue": 8, "ScalingType": "Linear"}
            ],
        },
    },
    "TrainingJobDefinition": {"VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}},
}


def record_of(request: dict, name: str = "minimal") -> TuningJobRecord:
    return TuningJobRecord(name, "Completed", request, 1, 0.0, 0.0)


def test_the_stored_form_has_every_default_filled_in(tmp_path: Path) -> None:
    stored = parse_request(MINIMAL, base_dir=tmp_path).to_request()
    config = stored["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["TrainingJobEarlyStoppingType"] == "Off"
    assert config["ParameterRanges"] == {
        "ContinuousParameterRanges": [
            {"Name": "lr", "MinValue": "0.0001", "MaxValue": "0.1", "ScalingType": "Auto"}
        ],
        "IntegerParameterRanges": [
            {"Name": "depth", "MinValue": "2", "MaxValue": "8", "ScalingType": "Linear"}
        ],
        "CategoricalParameterRanges": [],
    }
    assert stored["TrainingJobDefinition"]["StaticHyperParameters"] == {}
    assert stored["TrainingJobDefinition"]["VpcConfig"]["Subnets"] == ["subnet-1"]  # kept
    assert stored["LocalBaseDirectory"] == str(tmp_path.resolve())
    assert "TrainingJobEarlyStoppingType" not in MINIMAL["HyperParameterTuningJobConfig"]


def test_loading_the_stored_form_gives_the_same_spec_again(tmp_path: Path) -> None:
    spec = parse_request(MINIMAL, base_dir=tmp_path)
    again = load_spec(record_of(spec.to_request()))
    assert again.to_request() == spec.to_request()
    assert again.space.ranges == spec.space.ranges
    assert (again.max_jobs, again.strategy, again.objective) == (
        spec.max_jobs,
        spec.strategy,
        spec.objective,
    )


def test_a_grid_job_stores_its_number_of_training_jobs(tmp_path: Path) -> None:
    request = {
        **MINIMAL,
        "HyperParameterTuningJobConfig": {
            **MINIMAL["HyperParameterTuningJobConfig"],
            "Strategy": "Grid",
            "ResourceLimits": {"MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "CategoricalParameterRanges": [
                    {"Name": "booster", "Values": ["gbtree", "dart", "gblinear"]}
                ]
            },
        },
    }
    stored = parse_request(request, base_dir=tmp_path).to_request()
    assert stored["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 3


def test_the_spec_answers_what_readers_ask(tmp_path: Path) -> None:
    request = {**MINIMAL, "TrainingJobDefinition": {"StaticHyperParameters": {"epochs": "12"}}}
    spec = load_spec(record_of(parse_request(request, base_dir=tmp_path).to_request()))
    assert spec.objective.metric_name == "loss" and not spec.maximize
    assert spec.definition(None).static_hyperparameters == {"epochs": "12"}
    assert spec.planned_epochs() == 12
    jobs = [
        TrainingJobRecord(
            f"j-{i}", "minimal", i, "Completed", {"lr": 0.01, "depth": 3}, 0.0, objective=v
        )
        for i, v in enumerate([0.5, 0.2, 0.2, None], 1)
    ]
    best = spec.best_training_job(jobs)
    assert best is not None and best.name == "j-2"  # ties go to the earlier job


def test_a_missing_script_is_an_error_when_created_not_when_read(tmp_path: Path) -> None:
    request = {
        **MINIMAL,
        "TrainingJobDefinition": {
            "StaticHyperParameters": {
                "sagemaker_program": "train.py",
                "sagemaker_submit_directory": "gone",
            },
            "AlgorithmSpecification": {
                "MetricDefinitions": [{"Name": "loss", "Regex": "loss=([0-9.]+)"}]
            },
        },
    }
    try:
        parse_request(request, base_dir=tmp_path)
    except ValueError as exc:
        assert "sagemaker_submit_directory" in str(exc) and "does not exist" in str(exc)
    else:
        raise AssertionError("a missing submit directory was accepted")
    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "train.py").write_text("print('loss=1')")
    stored = parse_request(request, base_dir=tmp_path).to_request()
    (tmp_path / "gone" / "train.py").unlink()
    (tmp_path / "gone").rmdir()
    spec = load_spec(record_of(stored))
    script = spec.definitions[0].script
    assert script is not None and script.source == tmp_path.resolve() / "gone"
    assert script.entry_point == "train.py"


def test_a_request_nested_thousands_deep_is_a_validation_error_not_a_crash() -> None:
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["x"] = {}
        node = node["x"]
    request = {**MINIMAL, "Tags": [deep]}
    try:
        parse_request(request)
    except ValueError as exc:
        assert "nests lists and objects deeper than" in str(exc)
    else:
        raise AssertionError("a 5,000-deep request was accepted")
