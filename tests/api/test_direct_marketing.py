"""SageMaker's XGBoost direct-marketing tuning example, its request unchanged, against
``sagetune serve`` and a real S3 API server on loopback (moto).

The notebook (amazon-sagemaker-examples, hyperparameter_tuning/xgboost_direct_marketing,
"SageMaker APIs") uploads ``train/train.csv`` and ``validation/validation.csv`` under a prefix
and calls ``create_hyper_parameter_tuning_job`` with the built-in XGBoost image. Its bank data
cannot be downloaded here: scikit-learn's breast cancer data takes its place, in the same form
(label first, no header).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score
from test_boto3 import Server, client, wait_for

from sagetune import service
from sagetune.store import open_store

BUCKET, PREFIX = "sagemaker-us-east-1-123456789012", "sagemaker/DEMO-hpo-xgboost-dm"
REGION = "us-east-1"


def _csv(rows: np.ndarray) -> str:
    return "\n".join(",".join(f"{v:g}" for v in row) for row in rows) + "\n"


@pytest.fixture
def data() -> dict[str, np.ndarray]:
    x, y = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(1729).permutation(len(y))
    rows = np.column_stack([y, x])[order]
    n = len(rows)
    return {
        "train": rows[: int(0.7 * n)],
        "validation": rows[int(0.7 * n) : int(0.9 * n)],
        "test": rows[int(0.9 * n) :],
    }


@pytest.fixture
def served(tmp_path: Path, s3_env: Any) -> Iterator[Server]:
    """The server started after the S3 environment is set, so its training jobs use it."""
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'dm.db'}")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def notebook_request(tuning_job_name: str) -> dict[str, Any]:
    """The notebook's two dicts, as it passes them (only the role and the names are its
    variables)."""
    tuning_job_config = {
        "ParameterRanges": {
            "CategoricalParameterRanges": [],
            "ContinuousParameterRanges": [
                {"MaxValue": "1", "MinValue": "0", "Name": "eta"},
                {"MaxValue": "10", "MinValue": "1", "Name": "min_child_weight"},
                {"MaxValue": "2", "MinValue": "0", "Name": "alpha"},
            ],
            "IntegerParameterRanges": [{"MaxValue": "10", "MinValue": "1", "Name": "max_depth"}],
        },
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 20, "MaxParallelTrainingJobs": 3},
        "Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {"MetricName": "validation:auc", "Type": "Maximize"},
    }
    training_image = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"
    s3_input_train = f"s3://{BUCKET}/{PREFIX}/train"
    s3_input_validation = f"s3://{BUCKET}/{PREFIX}/validation/"
    channel = {
        "CompressionType": "None",
        "ContentType": "csv",
    }
    training_job_definition = {
        "AlgorithmSpecification": {"TrainingImage": training_image, "TrainingInputMode": "File"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                **channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataDistributionType": "FullyReplicated",
                        "S3DataType": "S3Prefix",
                        "S3Uri": s3_input_train,
                    }
                },
            },
            {
                "ChannelName": "validation",
                **channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataDistributionType": "FullyReplicated",
                        "S3DataType": "S3Prefix",
                        "S3Uri": s3_input_validation,
                    }
                },
            },
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/{PREFIX}/output"},
        "ResourceConfig": {
            "InstanceCount": 1,
            "InstanceType": "ml.m4.xlarge",
            "VolumeSizeInGB": 10,
        },
        "RoleArn": "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
        "StaticHyperParameters": {
            "eval_metric": "auc",
            "num_round": "100",
            "objective": "binary:logistic",
            "rate_drop": "0.3",
            "tweedie_variance_power": "1.4",
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 43200},
    }
    return {
        "HyperParameterTuningJobName": tuning_job_name,
        "HyperParameterTuningJobConfig": tuning_job_config,
        "TrainingJobDefinition": training_job_definition,
    }


def test_the_direct_marketing_request_runs_unchanged_on_s3_data(
    served: Server, s3_env: Any, data: dict[str, np.ndarray], tmp_path: Path
) -> None:
    s3_env.bucket(
        BUCKET,
        {
            f"{PREFIX}/train/train.csv": _csv(data["train"]),
            f"{PREFIX}/validation/validation.csv": _csv(data["validation"]),
        },
    )
    sm = client(served)
    name = "xgboost-tuningjob-01-12-00-00"
    sm.create_hyper_parameter_tuning_job(**notebook_request(name))

    def done() -> str:
        d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        status = d["HyperParameterTuningJobStatus"]
        return status if status in ("Completed", "Failed", "Stopped") else ""

    assert wait_for(done, 240, "the tuning job to end") == "Completed"
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert d["TrainingJobStatusCounters"]["Completed"] == 20
    best = d["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "validation:auc"
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] > 0.95

    # Every job's model.tar.gz is in S3 where DescribeTrainingJob says.
    s3 = s3_env.client()
    jobs = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=100
    )["TrainingJobSummaries"]
    assert len(jobs) == 20
    for job in jobs:
        described = sm.describe_training_job(TrainingJobName=job["TrainingJobName"])
        uri = described["ModelArtifacts"]["S3ModelArtifacts"]
        assert uri == f"s3://{BUCKET}/{PREFIX}/output/{job['TrainingJobName']}/output/model.tar.gz"
        s3.head_object(Bucket=BUCKET, Key=uri.split("/", 3)[3])

    # The channels were downloaded once for the tuning job, not once per training job.
    store = open_store(served.store_url)
    cache = store.tuning_job_dir(name) / ".cache"
    cached = [p for p in cache.rglob("*") if p.is_file()]
    assert len(cached) == 2, cached
    job_file = store.training_job_dir(name, jobs[0]["TrainingJobName"])
    train_copy = job_file / "input" / "data" / "train" / "train.csv"
    assert train_copy.stat().st_ino in {p.stat().st_ino for p in cached}

    # The best model, as the notebook's next step would load it: from S3.
    described = sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    key = described["ModelArtifacts"]["S3ModelArtifacts"].split("/", 3)[3]
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.getnames() == ["xgboost-model"]
        tar.extractall(tmp_path / "model", filter="data")
    booster = xgboost.Booster(model_file=str(tmp_path / "model" / "xgboost-model"))
    test = data["test"]
    predicted = booster.predict(xgboost.DMatrix(test[:, 1:]))
    assert roc_auc_score(test[:, 0], predicted) > 0.9

    # And through sagetune's own call, which reads it back the same way.
    (store.training_job_dir(name, best["TrainingJobName"]) / "output" / "model.tar.gz").unlink()
    folder = service.best_model(store, name, tmp_path / "best")
    assert (folder / "xgboost-model").read_bytes() == (
        tmp_path / "model" / "xgboost-model"
    ).read_bytes()
