"""Finished tuning jobs of every kind, for the answer tests: a Python callable, a
``LocalCommand`` with nothing but its command and metrics, and two named definitions."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sagetune import ContinuousParameter, HyperparameterTuner, IntegerParameter, service
from sagetune.store import Store

SCRIPT = """
import argparse
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--depth", type=int, default=3)
a, _ = p.parse_known_args()
print(f"validation:auc={0.9 - (a.lr - 0.1) ** 2 - 0.01 * (a.depth - 3) ** 2:.5f}", flush=True)
"""

METRICS = [{"Name": "validation:auc", "Regex": r"validation:auc=([-0-9\.eE+]+)"}]
RANGES = {
    "ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0.01", "MaxValue": "0.5"}],
    "IntegerParameterRanges": [{"Name": "depth", "MinValue": "1", "MaxValue": "5"}],
}


def quadratic(hp: dict[str, Any]) -> float:
    return 0.9 - (hp["lr"] - 0.1) ** 2


def local_command_request(name: str, max_jobs: int = 2) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize",
                "MetricName": "validation:auc",
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": max_jobs,
                "MaxParallelTrainingJobs": min(2, max_jobs),
            },
            "ParameterRanges": copy.deepcopy(RANGES),
            "RandomSeed": 3,
        },
        "TrainingJobDefinition": {
            "LocalCommand": "python train.py",
            "AlgorithmSpecification": {"MetricDefinitions": METRICS},
            "StaticHyperParameters": {"epochs": 2, "rate": 0.5, "note": "as given"},
        },
    }


def two_definitions_request(name: str) -> dict[str, Any]:
    req = local_command_request(name)
    config = req["HyperParameterTuningJobConfig"]
    del config["ParameterRanges"]
    del config["HyperParameterTuningJobObjective"]
    base = req.pop("TrainingJobDefinition")
    req["TrainingJobDefinitions"] = [
        {
            **copy.deepcopy(base),
            "DefinitionName": d,
            "TuningObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
            "HyperParameterRanges": copy.deepcopy(RANGES),
        }
        for d in ("first", "second")
    ]
    return req


def make_jobs(store: Store, folder: Path) -> list[str]:
    """Run one tuning job of each kind to its end in ``store``; their names."""
    (folder / "train.py").write_text(SCRIPT)
    HyperparameterTuner(
        "auc",
        {"lr": ContinuousParameter(0.01, 0.5), "depth": IntegerParameter(1, 5)},
        strategy="Random",
        max_jobs=2,
        max_parallel_jobs=1,
        random_seed=1,
        store=store,
        show_progress=False,
        static_hyperparameters={"epochs": 3},
    ).fit(quadratic, job_name="callable")
    for req in (local_command_request("command"), two_definitions_request("multi")):
        spec = service.create_tuning_job(store, req, base_dir=folder)
        service.run_tuning_job(store, spec.name)
    return ["callable", "command", "multi"]
