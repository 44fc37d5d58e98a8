"""Several training job definitions (algorithms) in one tuning job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import request, sagetune, write_request, write_script

from sagetune.store import open_store

LINEAR = """
import argparse
p = argparse.ArgumentParser()
p.add_argument("--alpha", type=float)
p.add_argument("--penalty", type=str)
a, _ = p.parse_known_args()
print(f"val_auc: {0.8 - abs(a.alpha - 1) / 100 + (0.01 if a.penalty == 'l2' else 0):.5f}")
"""


def two_definitions(strategy: str = "Random", max_jobs: int | None = 10) -> dict[str, Any]:
    base = request("multi", max_jobs=max_jobs or 1, strategy=strategy)
    config = base["HyperParameterTuningJobConfig"]
    del config["ParameterRanges"]
    del config["HyperParameterTuningJobObjective"]
    if max_jobs is None:
        del config["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    boosted = dict(base.pop("TrainingJobDefinition"))
    boosted.update(
        DefinitionName="boosted",
        TuningObjective={"Type": "Maximize", "MetricName": "validation:auc"},
        HyperParameterRanges={
            "IntegerParameterRanges": [{"Name": "depth", "MinValue": "1", "MaxValue": "3"}],
            "CategoricalParameterRanges": [{"Name": "lr", "Values": ["0.05", "0.1"]}],
        },
    )
    linear = {
        "DefinitionName": "linear",
        "TuningObjective": {"Type": "Maximize", "MetricName": "val_auc"},
        "HyperParameterRanges": {
            "IntegerParameterRanges": [{"Name": "alpha", "MinValue": "0", "MaxValue": "2"}],
            "CategoricalParameterRanges": [{"Name": "penalty", "Values": ["l1", "l2"]}],
        },
        "StaticHyperParameters": {
            "sagemaker_program": "linear.py",
            "sagemaker_submit_directory": "src",
        },
        "AlgorithmSpecification": {
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "val_auc", "Regex": r"val_auc: ([0-9.]+)"}],
        },
    }
    base["TrainingJobDefinitions"] = [boosted, linear]
    return base


@pytest.fixture
def work(tmp_path: Path) -> Path:
    write_script(tmp_path / "src")
    write_script(tmp_path / "src", LINEAR, name="linear.py")
    return tmp_path


def test_jobs_of_both_definitions_run_with_their_own_ranges_and_metrics(work: Path) -> None:
    url = f"sqlite:///{work / 't.db'}"
    res = sagetune("tune", str(write_request(work, two_definitions())), store=url)
    assert res.returncode == 0, res.stderr
    jobs = open_store(url).list_training_jobs("multi")
    assert len(jobs) == 10 and all(j.status == "Completed" for j in jobs)
    by_def = {d: [j for j in jobs if j.definition_name == d] for d in ("boosted", "linear")}
    assert by_def["boosted"] and by_def["linear"]
    assert all(set(j.hyperparameters) == {"depth", "lr"} for j in by_def["boosted"])
    assert all(set(j.hyperparameters) == {"alpha", "penalty"} for j in by_def["linear"])
    assert all(set(j.final_metrics) == {"val_auc"} for j in by_def["linear"])
    listed = json.loads(
        sagetune(
            "list-training-jobs-for-hyper-parameter-tuning-job",
            "--hyper-parameter-tuning-job-name",
            "multi",
            store=url,
            check=True,
        ).stdout
    )["TrainingJobSummaries"]
    metric = {
        s["TrainingJobDefinitionName"]: s["FinalHyperParameterTuningJobObjectiveMetric"][
            "MetricName"
        ]
        for s in listed
    }
    assert metric == {"boosted": "validation:auc", "linear": "val_auc"}
    d = json.loads(
        sagetune(
            "describe-hyper-parameter-tuning-job",
            "--hyper-parameter-tuning-job-name",
            "multi",
            store=url,
            check=True,
        ).stdout
    )
    assert [x["DefinitionName"] for x in d["TrainingJobDefinitions"]] == ["boosted", "linear"]
    assert "BestTrainingJob" in d


def test_grid_walks_the_union_of_the_definitions_grids(work: Path) -> None:
    url = f"sqlite:///{work / 't.db'}"
    sagetune("tune", str(write_request(work, two_definitions("Grid", None))), store=url, check=True)
    jobs = open_store(url).list_training_jobs("multi")
    combos = sorted((j.definition_name, tuple(sorted(j.hyperparameters.items()))) for j in jobs)
    assert len(jobs) == 12 == len(set(combos))  # 3 x 2 + 3 x 2, not their product


@pytest.mark.parametrize(
    "edit,expected",
    [
        (
            lambda r: r["TrainingJobDefinitions"][1].update(DefinitionName="boosted"),
            "TrainingJobDefinitions[boosted].DefinitionName: definition names must be unique",
        ),
        (
            lambda r: r["TrainingJobDefinitions"][1]["TuningObjective"].update(Type="Minimize"),
            "TrainingJobDefinitions[linear].TuningObjective.Type: every definition must have "
            "the same Type (Maximize), got Minimize",
        ),
        (
            lambda r: r.update(TrainingJobDefinition={}),
            "TrainingJobDefinition: give TrainingJobDefinition or TrainingJobDefinitions, not both",
        ),
        (
            lambda r: r["TrainingJobDefinitions"][1]["HyperParameterRanges"][
                "IntegerParameterRanges"
            ][0].update(MinValue="5"),
            "TrainingJobDefinitions[linear].HyperParameterRanges.IntegerParameterRanges[alpha]: "
            "MinValue must be <= MaxValue",
        ),
        (
            lambda r: r["TrainingJobDefinitions"][1]["StaticHyperParameters"].pop(
                "sagemaker_program"
            ),
            "TrainingJobDefinitions[linear]: say how to start the training job",
        ),
    ],
)
def test_bad_definitions_are_refused(work: Path, edit, expected: str) -> None:
    req = two_definitions()
    edit(req)
    res = sagetune("tune", str(write_request(work, req)), store=f"sqlite:///{work / 't.db'}")
    assert res.returncode == 2 and expected in res.stderr, res.stderr


def test_analytics_dataframe_names_the_definition(work: Path) -> None:
    from sagetune import TuningJobAnalytics

    url = f"sqlite:///{work / 't.db'}"
    sagetune("tune", str(write_request(work, two_definitions(max_jobs=6))), store=url, check=True)
    df = TuningJobAnalytics("multi", store=url).dataframe()
    assert list(df.columns[:5]) == ["depth", "lr", "alpha", "penalty", "TrainingJobDefinitionName"]
    linear = df[df["TrainingJobDefinitionName"] == "linear"]
    assert linear["depth"].isna().all() and linear["alpha"].notna().all()
