"""A SageMaker tuning notebook, unchanged, against ``sagetune serve`` and a local S3.

The SageMaker Python SDK v2 runs in its own interpreter (``.venv-sdk``) as ``sdk_flow.py``,
pointed at the two servers by environment variables only: it uploads data with its session,
tunes the built-in XGBoost image and a framework estimator's script, reads the analytics and
the best estimator, and downloads the best model. The tests then open that model here.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from s3_server import S3Server
from test_boto3 import KEY_ID, SECRET, Server

ROOT = Path(__file__).resolve().parents[2]
SDK_PYTHON = ROOT / ".venv-sdk" / "bin" / "python"
FLOW = Path(__file__).with_name("sdk_flow.py")

if not SDK_PYTHON.exists():
    pytest.skip(
        f"{SDK_PYTHON} is missing: run tests/setup.sh (make test does)", allow_module_level=True
    )

TRAIN_SCRIPT = """
import argparse, os
import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

p = argparse.ArgumentParser()
p.add_argument("--C", type=float, default=1.0)
p.add_argument("--penalty-power", type=int, default=2)
p.add_argument("--max-iter", type=int, default=100)
p.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
a, _ = p.parse_known_args()
folder = os.environ["SM_CHANNEL_TRAIN"]
data = np.vstack([np.loadtxt(os.path.join(folder, f), delimiter=",") for f in os.listdir(folder)])
y, x = data[:, 0], data[:, 1:]
x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9)
xt, xv, yt, yv = train_test_split(x, y, test_size=0.3, random_state=0)
model = LogisticRegression(C=a.C, penalty="l%d" % a.penalty_power, solver="liblinear",
                           max_iter=a.max_iter).fit(xt, yt)
print("accuracy=%.5f" % model.score(xv, yv), flush=True)
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
"""


BUCKET = "sagemaker-us-east-1-123456789012"
# The SDK asks STS for the account behind sagemaker-{region}-{account} at a hard-coded
# https://sts.{region}.amazonaws.com (an explicit endpoint_url beats AWS_ENDPOINT_URL_STS), so
# the default bucket is named in the SDK's own config file instead, the one that
# SAGEMAKER_USER_CONFIG_OVERRIDE names.
SDK_CONFIG = f"""SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      Session:
        DefaultS3Bucket: {BUCKET}
"""


def s3_env(s3: S3Server) -> dict[str, str]:
    """The S3 (and STS) endpoint, one key pair (moto takes any; sagetune checks its own), a
    region, and nothing from the machine's ~/.aws."""
    return {
        "AWS_ENDPOINT_URL_S3": s3.endpoint,
        "AWS_ENDPOINT_URL_STS": s3.endpoint,
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def notebook_env(server: Server, s3: S3Server, home: Path) -> dict[str, str]:
    """Everything the notebook is told: the S3 side and sagetune's endpoint."""
    config = home / "sagemaker-config.yaml"
    config.write_text(SDK_CONFIG)
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
        "AWS_ENDPOINT_URL_SAGEMAKER": server.url,
        **s3_env(s3),
    }


@pytest.fixture(scope="module")
def served(
    s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, S3Server]]:
    """``sagetune serve`` whose training jobs read and write the moto S3 server."""
    s3_server.reset()
    folder = tmp_path_factory.mktemp("sdk-flow")
    store_url = f"sqlite:///{folder / 'flow.db'}"
    server = Server(folder, store_url, env=s3_env(s3_server))
    server.start()
    try:
        yield server, s3_server
    finally:
        server.stop()


def breast_cancer(folder: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """Training and validation CSVs (label first, no header) and the validation arrays."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True)
    xt, xv, yt, yv = train_test_split(x, y, test_size=0.3, random_state=1, stratify=y)
    train, validation = folder / "train.csv", folder / "validation.csv"
    np.savetxt(train, np.column_stack([yt, xt]), delimiter=",", fmt="%.6g")
    np.savetxt(validation, np.column_stack([yv, xv]), delimiter=",", fmt="%.6g")
    return train, validation, xv, yv


@dataclass
class Flows:
    """Both notebooks, run at once (the SDK polls every 5 s: most of their time is waiting);
    ``results`` holds what each printed, by scenario."""

    folder: Path
    xv: np.ndarray
    yv: np.ndarray
    results: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def flows(served: tuple[Server, S3Server], tmp_path_factory: pytest.TempPathFactory) -> Flows:
    server, s3 = served
    folder = tmp_path_factory.mktemp("notebooks")
    train, validation, xv, yv = breast_cancer(folder)
    source = folder / "code"
    source.mkdir()
    (source / "train.py").write_text(TRAIN_SCRIPT)
    commands = {
        "xgboost": [str(train), str(validation), str(folder / "xgboost.tar.gz")],
        "sklearn": [str(source), str(train), str(folder / "sklearn.tar.gz")],
    }
    env = notebook_env(server, s3, folder)
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        for kind, args in commands.items():
            procs[kind] = subprocess.Popen(
                [str(SDK_PYTHON), str(FLOW), kind, *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=folder,
            )
        outputs = {kind: proc.communicate(timeout=150) for kind, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    log = (server.folder / "server.log").read_text()[-3000:]
    results = {}
    for kind, (out, err) in outputs.items():
        assert procs[kind].returncode == 0, (
            f"{kind}:\n{out[-3000:]}{err[-3000:]}\n--- server ---\n{log}"
        )
        results[kind] = json.loads(out.strip().splitlines()[-1])
    return Flows(folder, xv, yv, results)


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {
            m.name.removeprefix("./"): tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


@pytest.mark.filterwarnings("ignore:.*Unknown file format")
def test_builtin_xgboost_notebook(flows: Flows) -> None:
    import xgboost
    from sklearn.metrics import roc_auc_score

    got = flows.results["xgboost"]
    assert got["bucket"] == BUCKET
    assert got["status"] == "Completed"
    assert got["rows"] == 4 and len(set(got["training_jobs"])) == 4
    assert all(isinstance(v, float) and 0.5 < v <= 1 for v in got["final_values"])
    assert got["best_training_job"] in got["training_jobs"]
    assert got["best_estimator"] == "Estimator"
    assert got["model_data"] == (
        f"{got['output_path']}/{got['best_training_job']}/output/model.tar.gz"
    )
    files = members(flows.folder / "xgboost.tar.gz")
    assert "xgboost-model" in files
    (flows.folder / "xgboost-model").write_bytes(files["xgboost-model"])
    booster = xgboost.Booster(model_file=str(flows.folder / "xgboost-model"))
    predicted = booster.predict(xgboost.DMatrix(flows.xv))
    assert roc_auc_score(flows.yv, predicted) > 0.9


def test_framework_script_notebook(flows: Flows) -> None:
    got = flows.results["sklearn"]
    assert got["status"] == "Completed" and got["rows"] == 3
    assert all(0.8 < v <= 1 for v in got["final_values"])
    assert got["best_training_job"] in got["training_jobs"]
    assert got["best_estimator"] == "SKLearn"
    assert got["model_data"] == (
        f"{got['output_path']}/{got['best_training_job']}/output/model.tar.gz"
    )
    assert "model.joblib" in members(flows.folder / "sklearn.tar.gz")
