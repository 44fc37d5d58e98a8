"""Run by the SageMaker Python SDK's own interpreter (.venv-sdk), not sagetune's: a tuning
notebook's cells, unchanged, pointed at ``sagetune serve`` and an S3 server by environment
variables alone (AWS_ENDPOINT_URL_SAGEMAKER, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_STS,
credentials, region). Prints one JSON object with what the SDK saw.

Usage: sdk_flow.py xgboost TRAIN_CSV VALIDATION_CSV MODEL_OUT
       sdk_flow.py sklearn SOURCE_DIR TRAIN_CSV MODEL_OUT
"""

from __future__ import annotations

import json
import os
import sys
import warnings

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
warnings.simplefilter("ignore")

import boto3  # noqa: E402
import sagemaker  # noqa: E402
from sagemaker.estimator import Estimator  # noqa: E402
from sagemaker.inputs import TrainingInput  # noqa: E402
from sagemaker.sklearn import SKLearn  # noqa: E402
from sagemaker.tuner import (  # noqa: E402
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
)

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def download(uri: str, to: str) -> None:
    bucket, key = uri[len("s3://") :].split("/", 1)
    boto3.client("s3").download_file(bucket, key, to)


def summary(tuner: HyperparameterTuner, output_path: str, model_out: str) -> dict:
    frame = tuner.analytics().dataframe()
    best = tuner.best_training_job()
    estimator = tuner.best_estimator()
    model_data = estimator.model_data
    download(model_data, model_out)
    return {
        "tuning_job": tuner.latest_tuning_job.name,
        "status": tuner.describe()["HyperParameterTuningJobStatus"],
        "rows": len(frame),
        "columns": list(frame.columns),
        "final_values": [float(v) for v in frame["FinalObjectiveValue"]],
        "training_jobs": sorted(frame["TrainingJobName"]),
        "best_training_job": best,
        "best_estimator": type(estimator).__name__,
        "best_hyperparameters": {k: str(v) for k, v in estimator.hyperparameters().items()},
        "model_data": model_data,
        "output_path": output_path,
    }


def xgboost(sess: sagemaker.Session, train: str, validation: str, model_out: str) -> dict:
    region = sess.boto_region_name
    bucket = sess.default_bucket()
    train_uri = sess.upload_data(train, bucket=bucket, key_prefix="xgb/train")
    val_uri = sess.upload_data(validation, bucket=bucket, key_prefix="xgb/validation")
    output_path = f"s3://{bucket}/xgb/output"
    est = Estimator(
        image_uri=sagemaker.image_uris.retrieve("xgboost", region, "1.7-1"),
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path=output_path,
        sagemaker_session=sess,
    )
    est.set_hyperparameters(
        eval_metric="auc",
        objective="binary:logistic",
        num_round=10,
        rate_drop=0.3,
        tweedie_variance_power=1.4,
    )
    tuner = HyperparameterTuner(
        est,
        "validation:auc",
        {
            "eta": ContinuousParameter(0, 1),
            "alpha": ContinuousParameter(0, 2),
            "min_child_weight": ContinuousParameter(1, 10),
            "max_depth": IntegerParameter(1, 10),
        },
        max_jobs=4,
        max_parallel_jobs=2,
    )
    tuner.fit(
        {
            "train": TrainingInput(train_uri, content_type="csv"),
            "validation": TrainingInput(val_uri, content_type="csv"),
        },
        include_cls_metadata=False,
    )
    return {
        "bucket": bucket,
        "train_uri": train_uri,
        **summary(tuner, output_path, model_out),
    }


def sklearn(sess: sagemaker.Session, source_dir: str, train: str, model_out: str) -> dict:
    bucket = sess.default_bucket()
    train_uri = sess.upload_data(train, bucket=bucket, key_prefix="sk/train")
    output_path = f"s3://{bucket}/sk/output"
    est = SKLearn(
        entry_point="train.py",
        source_dir=source_dir,
        framework_version="1.2-1",
        py_version="py3",
        instance_type="ml.m5.large",
        instance_count=1,
        role=ROLE,
        metric_definitions=[{"Name": "validation:accuracy", "Regex": "accuracy=([0-9.]+)"}],
        hyperparameters={"max-iter": 200},
        output_path=output_path,
        sagemaker_session=sess,
    )
    tuner = HyperparameterTuner(
        est,
        "validation:accuracy",
        {
            "C": ContinuousParameter(0.01, 10, "Logarithmic"),
            "penalty-power": IntegerParameter(1, 2),
        },
        metric_definitions=[{"Name": "validation:accuracy", "Regex": "accuracy=([0-9.]+)"}],
        max_jobs=3,
        max_parallel_jobs=2,
    )
    tuner.fit({"train": TrainingInput(train_uri, content_type="text/csv")})
    return {"bucket": bucket, "train_uri": train_uri, **summary(tuner, output_path, model_out)}


def main() -> None:
    sess = sagemaker.Session()
    kind, *args = sys.argv[1:]
    result = xgboost(sess, *args) if kind == "xgboost" else sklearn(sess, *args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
