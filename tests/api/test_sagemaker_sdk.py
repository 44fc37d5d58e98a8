"""The SageMaker Python SDK v2, unchanged, reads tuning jobs from ``sagetune serve``.

The SDK runs in an interpreter of its own (``.venv-sdk``, made by tests/setup.sh), as a user's
notebook would: ``sdk_client.py`` attaches to each tuning job and prints what it read.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jobs import local_command_request, two_definitions_request
from test_boto3 import KEY_ID, SECRET, Server

from sagetune import (
    CategoricalParameter,
    ContinuousParameter,
    HyperbandStrategyConfig,
    HyperparameterTuner,
    IntegerParameter,
    StrategyConfig,
    TuningJobAnalytics,
    WarmStartConfig,
    WarmStartTypes,
    service,
)
from sagetune.store import open_store

ROOT = Path(__file__).resolve().parents[2]
SDK_PYTHON = ROOT / ".venv-sdk" / "bin" / "python"
CLIENT = Path(__file__).with_name("sdk_client.py")
RANGES = {"lr": ContinuousParameter(0.001, 0.5, "Logarithmic"), "depth": IntegerParameter(1, 6)}


def auc(hp: dict[str, Any]) -> float:
    return 0.9 - (hp["lr"] - 0.1) ** 2 - 0.01 * (hp["depth"] - 3) ** 2


def auc_by_epoch(hp: dict[str, Any], report: Any) -> float:
    for epoch in range(1, 10):
        report(epoch=epoch, auc=auc(hp) - 0.1 / epoch)
    return auc(hp) - 0.1 / 9


def tune(store: Any, name: str, train: Any, **kw: Any) -> None:
    settings: dict[str, Any] = {
        "hyperparameter_ranges": RANGES,
        "max_jobs": 3,
        "random_seed": 7,
        "store": store,
        "show_progress": False,
        **kw,
    }
    HyperparameterTuner("auc", **settings).fit(train, job_name=name)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Tuning jobs of every kind, finished, behind a server."""
    if not SDK_PYTHON.exists():
        pytest.fail(f"{SDK_PYTHON} is missing: run tests/setup.sh (make test does)")
    folder = tmp_path_factory.mktemp("sdk")
    store_url = f"sqlite:///{folder / 'sdk.db'}"
    store = open_store(store_url)
    tune(store, "bayesian", auc, strategy="Bayesian")
    tune(store, "random", auc, strategy="Random")
    tune(
        store,
        "grid",
        auc,
        strategy="Grid",
        max_jobs=None,
        hyperparameter_ranges={
            "lr": CategoricalParameter([0.05, 0.1]),
            "depth": IntegerParameter(2, 3),
        },
    )
    tune(
        store,
        "hyperband",
        auc_by_epoch,
        strategy="Hyperband",
        max_jobs=4,
        strategy_config=StrategyConfig(HyperbandStrategyConfig(max_resource=9, min_resource=1)),
    )
    tune(
        store,
        "warm",
        auc,
        strategy="Bayesian",
        warm_start_config=WarmStartConfig(
            WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents={"bayesian"}
        ),
    )
    (folder / "train.py").write_text(
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('--lr', type=float)\np.add_argument('--depth', type=int)\n"
        "a, _ = p.parse_known_args()\n"
        "print(f'validation:auc={0.9 - (a.lr - 0.1) ** 2:.5f}', flush=True)\n"
    )
    for request in (local_command_request("command"), two_definitions_request("multi")):
        spec = service.create_tuning_job(store, request, base_dir=folder)
        assert service.run_tuning_job(store, spec.name).status == "Completed"
    store.close()
    server = Server(folder, store_url)
    server.start()
    yield server
    server.stop()


KINDS = ["bayesian", "random", "grid", "hyperband", "warm", "command", "multi"]


def read_with_the_sdk(server: Server, endpoint: str, names: list[str]) -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(server.folder),
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if endpoint == "env":
        env["AWS_ENDPOINT_URL_SAGEMAKER"] = server.url
    res = subprocess.run(
        [str(SDK_PYTHON), str(CLIENT), server.url if endpoint == "session" else "env", *names],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=server.folder,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_attach_reads_every_kind_of_tuning_job(served: Server) -> None:
    read = read_with_the_sdk(served, "session", KINDS)
    store = open_store(served.store_url)
    for name in KINDS:
        got = read[name]
        ours = TuningJobAnalytics(name, store=store)
        df = ours.dataframe()
        assert got["status"] == "Completed", name
        best = ours.spec.best_training_job(store.list_training_jobs(name))
        assert best is not None and got["best_training_job"] == best.name, name
        assert got["rows"] == got["rows_again"] == len(df), name
        assert got["final_values"] == pytest.approx(sorted(df["FinalObjectiveValue"].dropna())), (
            name
        )
        for column in ("TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue"):
            assert column in got["columns"], (name, got["columns"])
        spec = ours.spec
        assert got["strategy"] == spec.strategy and got["max_jobs"] == spec.max_jobs, name
        if spec.named_definitions:
            assert got["ranges"] == {d.name: sorted(d.space.names) for d in spec.definitions}
        else:
            assert got["ranges"] == sorted(spec.space.names), name
            assert got["objective_metric_name"] == spec.objective.metric_name, name


def test_the_endpoint_from_the_environment_alone(served: Server) -> None:
    read = read_with_the_sdk(served, "env", ["bayesian", "multi"])
    assert read["bayesian"]["status"] == read["multi"]["status"] == "Completed"
    assert read["bayesian"]["rows"] == 3
