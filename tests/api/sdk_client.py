"""Run by the SageMaker Python SDK's own interpreter (.venv-sdk), not sagetune's: a user's
notebook pointed at a sagetune endpoint. Prints one JSON object with what the SDK read.

Usage: client.py ENDPOINT|env NAME [NAME ...]
  ENDPOINT  an http://127.0.0.1:PORT URL for the session's SageMaker client, or ``env`` to rely
            on AWS_ENDPOINT_URL_SAGEMAKER alone (credentials and region from the environment).
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
from sagemaker.analytics import HyperparameterTuningJobAnalytics  # noqa: E402
from sagemaker.tuner import HyperparameterTuner  # noqa: E402


def session(endpoint: str) -> sagemaker.Session:
    if endpoint == "env":
        return sagemaker.Session()
    boto = boto3.Session(region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    client = boto.client("sagemaker", endpoint_url=endpoint)
    return sagemaker.Session(boto_session=boto, sagemaker_client=client)


def ranges_of(tuner: HyperparameterTuner) -> list[str] | dict[str, list[str]]:
    """The tuned names the SDK rebuilt (per estimator for several definitions)."""
    if tuner.estimator is not None:
        return sorted(r["Name"] for rs in tuner.hyperparameter_ranges().values() for r in rs)
    return {
        name: sorted(r["Name"] for rs in ranges.values() for r in rs)
        for name, ranges in tuner.hyperparameter_ranges_dict().items()
    }


def read(sess: sagemaker.Session, name: str) -> dict:
    tuner = HyperparameterTuner.attach(name, sagemaker_session=sess)
    frame = tuner.analytics().dataframe()
    again = HyperparameterTuningJobAnalytics(name, sagemaker_session=sess).dataframe()
    described = tuner.describe()
    estimator = tuner.estimator or next(iter(tuner.estimator_dict.values()))
    return {
        "best_training_job": tuner.best_training_job(),
        "status": described["HyperParameterTuningJobStatus"],
        "strategy": tuner.strategy,
        "max_jobs": tuner.max_jobs,
        "objective_metric_name": tuner.objective_metric_name
        or (tuner.objective_metric_name_dict or {}),
        "ranges": ranges_of(tuner),
        "estimator": type(estimator).__name__,
        "columns": list(frame.columns),
        "rows": len(frame),
        "rows_again": len(again),
        "final_values": sorted(float(v) for v in frame["FinalObjectiveValue"].dropna()),
    }


def main() -> None:
    sess = session(sys.argv[1])
    print(json.dumps({name: read(sess, name) for name in sys.argv[2:]}))


if __name__ == "__main__":
    main()
