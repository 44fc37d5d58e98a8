"""Shared helpers for CLI tests: run the real command, write real scripts and requests."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TRAIN_SCRIPT = """
import argparse, json, os, sys, time
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
p.add_argument("--depth", type=int)
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--sleep", type=float, default=0.0)
args, _ = p.parse_known_args()
for epoch in range(1, args.epochs + 1):
    auc = 0.9 - (args.lr - 0.1) ** 2 - 0.01 * (args.depth - 3) ** 2 + 0.01 * epoch
    print(f"epoch={epoch} validation:auc={auc:.5f} train:loss={1 / epoch:.4f}", flush=True)
    time.sleep(args.sleep)
"""


def sagetune(
    *args: str, store: str | None = None, timeout: float = 180, check: bool = False, **kw: Any
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "sagetune", *args]
    if store is not None:
        cmd += ["--store", store]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check:
        assert res.returncode == 0, res.stderr
    return res


def write_script(folder: Path, body: str = TRAIN_SCRIPT, name: str = "train.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


def request(
    name: str = "job",
    max_jobs: int = 4,
    parallel: int | None = None,
    strategy: str = "Random",
    static: dict[str, str] | None = None,
    **definition: Any,
) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize",
                "MetricName": "validation:auc",
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": max_jobs,
                "MaxParallelTrainingJobs": parallel or min(2, max_jobs),
            },
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {
                        "Name": "lr",
                        "MinValue": "0.001",
                        "MaxValue": "0.5",
                        "ScalingType": "Logarithmic",
                    }
                ],
                "IntegerParameterRanges": [{"Name": "depth", "MinValue": "1", "MaxValue": "6"}],
            },
            "RandomSeed": 1,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {
                "sagemaker_program": "train.py",
                "sagemaker_submit_directory": "src",
                **(static or {}),
            },
            "AlgorithmSpecification": {
                "TrainingImage": "123.dkr.ecr.us-east-1.amazonaws.com/xgb:latest",
                "TrainingInputMode": "File",
                "MetricDefinitions": [
                    {"Name": "validation:auc", "Regex": r"validation:auc=([-0-9\.eE+]+)"},
                    {"Name": "train:loss", "Regex": r"train:loss=([-0-9\.eE+]+)"},
                ],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "ResourceConfig": {
                "InstanceType": "ml.m5.xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 10,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 120},
            **definition,
        },
    }


def write_request(folder: Path, req: dict[str, Any], name: str = "request.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(req, indent=2))
    return path


def wait_for(predicate: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
