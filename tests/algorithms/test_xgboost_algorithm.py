"""The local built-in XGBoost algorithm, run as SageMaker runs its container: a subprocess in a
folder laid out like /opt/ml, told where everything is through SM_* variables."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from sagetune.algorithms import xgboost as algo

SRC = Path(__file__).resolve().parents[2] / "src"


def _job(
    root: Path,
    hyperparameters: Mapping[str, str],
    channels: Mapping[str, Mapping[str, str]],
    checkpoints: Path | None = None,
) -> dict[str, str]:
    """Lay out ``root`` as /opt/ml and return the job's environment."""
    config = root / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(dict(hyperparameters)))
    (config / "inputdataconfig.json").write_text(
        json.dumps({name: {"TrainingInputMode": "File", **cfg} for name, cfg in channels.items()})
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "SM_INPUT_DIR": str(root / "input"),
        "SM_INPUT_CONFIG_DIR": str(config),
        "SM_MODEL_DIR": str(root / "model"),
        "SM_OUTPUT_DIR": str(root / "output"),
        "SM_OUTPUT_DATA_DIR": str(root / "output" / "data"),
    }
    for name in channels:
        env[f"SM_CHANNEL_{name.upper()}"] = str(root / "input" / "data" / name)
    env.pop("SM_CHECKPOINT_DIR", None)
    if checkpoints is not None:
        env["SM_CHECKPOINT_DIR"] = str(checkpoints)
    return env


def _run(root: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagetune.algorithms.xgboost"],
        cwd=root,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _write_csv(path: Path, X: np.ndarray, y: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.column_stack([y, X]), delimiter=",", fmt="%.6g")


def _values(stdout: str, metric: str) -> list[float]:
    regex = algo.METRIC_DEFINITIONS[metric]
    found = [re.search(regex, line) for line in stdout.splitlines()]
    return [float(m.group(1)) for m in found if m]


def _rounds(stdout: str) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(r"^\[([0-9]+)\]\t", stdout, re.MULTILINE)]


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    return X[order], y[order]


@pytest.fixture
def cancer_job(tmp_path: Path, cancer: tuple[np.ndarray, np.ndarray]) -> Path:
    X, y = cancer
    data = tmp_path / "input" / "data"
    # Two files in the train channel, one of them in a subfolder: all are read.
    _write_csv(data / "train" / "part-1.csv", X[:200], y[:200])
    _write_csv(data / "train" / "more" / "part-2.csv", X[200:400], y[200:400])
    _write_csv(data / "validation" / "validation.csv", X[400:], y[400:])
    return tmp_path


CSV = {"ContentType": "text/csv"}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*Unknown file format")
def test_binary_csv_prints_rounds_saves_model_and_resumes_from_checkpoints(
    cancer_job: Path, cancer: tuple[np.ndarray, np.ndarray]
) -> None:
    pytest.importorskip("xgboost")
    import xgboost

    checkpoints = cancer_job / "checkpoints"
    hps = {
        "num_round": "4",
        "objective": '"binary:logistic"',  # JSON-encoded, as the SageMaker Python SDK writes it
        "eval_metric": "auc,accuracy",
        "max_depth": "3",
        "eta": "0.3",
        # Only for other boosters/objectives, yet accepted (SageMaker's direct-marketing example).
        "rate_drop": "0.3",
        "tweedie_variance_power": "1.4",
    }
    env = _job(cancer_job, hps, {"train": CSV, "validation": {"ContentType": "csv;label_size=1"}})
    env["SM_CHECKPOINT_DIR"] = str(checkpoints)
    first = _run(cancer_job, env)
    assert first.returncode == 0, first.stderr
    assert _rounds(first.stdout) == [0, 1, 2, 3]
    line = first.stdout.splitlines()[0]
    assert re.fullmatch(
        r"\[0\]\ttrain-auc:[0-9.]+\ttrain-accuracy:[0-9.]+"
        r"\tvalidation-auc:[0-9.]+\tvalidation-accuracy:[0-9.]+",
        line,
    ), line
    auc = _values(first.stdout, "validation:auc")
    assert len(auc) == 4 and auc[-1] > 0.9
    assert _values(first.stdout, "validation:accuracy")[-1] > 0.85
    # CloudWatch shows the tabs as #011; the definitions match that form too.
    cloudwatch = line.replace("\t", "#011")
    for metric in ("validation:auc", "train:auc", "validation:accuracy"):
        match = re.search(algo.METRIC_DEFINITIONS[metric], cloudwatch)
        assert match and float(match.group(1)) == _values(line, metric)[0]

    model = cancer_job / "model" / algo.MODEL_NAME
    booster = xgboost.Booster(model_file=str(model))
    assert booster.num_boosted_rounds() == 4
    X, y = cancer
    predictions = booster.predict(xgboost.DMatrix(X[400:]))
    assert np.mean((predictions > 0.5) == y[400:]) > 0.85
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        f"xgboost-checkpoint.{i}" for i in range(4)
    ]

    # A restarted job (num_round raised, same checkpoints) continues after the newest one.
    hps["num_round"] = "10"
    env = _job(cancer_job, hps, {"train": CSV, "validation": CSV}, checkpoints)
    second = _run(cancer_job, env)
    assert second.returncode == 0, second.stderr
    assert _rounds(second.stdout) == list(range(4, 10))
    assert xgboost.Booster(model_file=str(model)).num_boosted_rounds() == 10
    kept = sorted(p.name for p in checkpoints.iterdir())
    assert kept == [f"xgboost-checkpoint.{i}" for i in range(5, 10)]  # the newest five


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*Unknown file format")
def test_multiclass_libsvm_with_the_default_content_type(tmp_path: Path) -> None:
    pytest.importorskip("xgboost")
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_iris(return_X_y=True)
    order = np.random.default_rng(1).permutation(len(y))
    X, y = X[order], y[order]
    data = tmp_path / "input" / "data"
    (data / "train").mkdir(parents=True)
    (data / "validation").mkdir(parents=True)
    datasets.dump_svmlight_file(X[:60], y[:60], str(data / "train" / "a.libsvm"))
    datasets.dump_svmlight_file(X[60:110], y[60:110], str(data / "train" / "b.libsvm"))
    datasets.dump_svmlight_file(X[110:], y[110:], str(data / "validation" / "v.libsvm"))
    hps = {
        "num_round": "5",
        "objective": "multi:softprob",
        "num_class": "3",
        "eval_metric": "mlogloss,merror,f1",
        "max_depth": "2",
    }
    # No ContentType: libsvm, the container's default.
    result = _run(tmp_path, _job(tmp_path, hps, {"train": {}, "validation": {}}))
    assert result.returncode == 0, result.stderr
    assert _rounds(result.stdout) == [0, 1, 2, 3, 4]
    merror = _values(result.stdout, "validation:merror")
    mlogloss = _values(result.stdout, "validation:mlogloss")
    f1 = _values(result.stdout, "validation:f1")
    assert len(merror) == len(mlogloss) == len(f1) == 5
    assert merror[-1] < 0.2 and f1[-1] > 0.8 and mlogloss[-1] < mlogloss[0]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*Unknown file format")
def test_regression_rmse_with_early_stopping(tmp_path: Path) -> None:
    pytest.importorskip("xgboost")
    import xgboost

    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_diabetes(return_X_y=True)
    data = tmp_path / "input" / "data"
    _write_csv(data / "train" / "train.csv", X[:350], y[:350])
    _write_csv(data / "validation" / "validation.csv", X[350:], y[350:])
    hps = {
        "num_round": "200",
        "objective": "reg:squarederror",
        "eta": "0.5",
        "eval_metric": "rmse",
        "early_stopping_rounds": "3",
        "_tuning_objective_metric": "validation:rmse",
    }
    result = _run(tmp_path, _job(tmp_path, hps, {"train": CSV, "validation": CSV}))
    assert result.returncode == 0, result.stderr
    rmse = _values(result.stdout, "validation:rmse")
    assert 3 < len(rmse) < 200  # stopped early
    assert 40 < min(rmse) < 80  # diabetes targets span 25..346
    assert _values(result.stdout, "train:rmse")[-1] < rmse[-1]
    booster = xgboost.Booster(model_file=str(tmp_path / "model" / algo.MODEL_NAME))
    assert booster.num_boosted_rounds() == int(np.argmin(rmse)) + 1  # the best round is kept


def _failure(root: Path) -> str:
    return (root / "output" / "failure").read_text()


def test_bad_eta_fails_the_job_with_a_reason(cancer_job: Path) -> None:
    result = _run(cancer_job, _job(cancer_job, {"num_round": "3", "eta": "1.5"}, {"train": CSV}))
    assert result.returncode == 1
    assert "eta" in _failure(cancer_job) and "[0, 1]" in _failure(cancer_job)
    assert "eta: must be in [0, 1], got 1.5" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_hyperparameter_fails_the_job(cancer_job: Path) -> None:
    result = _run(cancer_job, _job(cancer_job, {"num_round": "3", "foo": "1"}, {"train": CSV}))
    assert result.returncode == 1
    assert "foo: is not a hyperparameter of the built-in XGBoost algorithm" in _failure(cancer_job)
    assert "Traceback" not in result.stderr


def test_bad_data_and_unsupported_content_types_name_the_channel(cancer_job: Path) -> None:
    (cancer_job / "input" / "data" / "validation" / "broken.csv").write_text("a,b,c\n")
    hps = {"num_round": "3"}
    result = _run(cancer_job, _job(cancer_job, hps, {"train": CSV, "validation": CSV}))
    assert result.returncode == 1
    assert "validation channel" in _failure(cancer_job) and "broken.csv" in _failure(cancer_job)

    parquet = {"ContentType": "application/x-parquet"}
    result = _run(cancer_job, _job(cancer_job, hps, {"train": parquet}))
    assert result.returncode == 1
    assert "is not supported by the local XGBoost algorithm" in _failure(cancer_job)
    assert "Traceback" not in result.stderr


def test_check_hyperparameters() -> None:
    check = algo.check_hyperparameters
    # SageMaker's direct-marketing tuning example: dart/tweedie settings with binary:logistic.
    static = {
        "eval_metric": "auc",
        "objective": "binary:logistic",
        "num_round": "100",
        "rate_drop": "0.3",
        "tweedie_variance_power": "1.4",
    }
    tuned = {"eta": (0, 1), "min_child_weight": (1, 10), "alpha": (0, 2), "max_depth": (1, 10)}
    assert check(static, tuned) == []
    assert check({"num_round": '"10"', "objective": '"binary:logistic"'}, {}) == []

    errors = check({**static, "eta": "1.5"}, {"subsample": (0.0, 1.0), "max_depth": (1, 2.5)})
    assert "eta: must be in [0, 1], got 1.5" in errors
    assert any(e.startswith("subsample: must be in (0, 1]") for e in errors)
    assert any(e.startswith("max_depth:") for e in errors)
    assert check(static, {"booster": ["gbtree", "forest"]}) == [
        "booster: must be one of gbtree, gblinear, dart, got 'forest' (a tuned value)"
    ]
    assert check({"num_round": "5", "foo": "1"}, {}) == [
        "foo: is not a hyperparameter of the built-in XGBoost algorithm"
    ]
    assert check({}, {}) == ["num_round: is required"]
    assert check({}, {"num_round": (1, 50)}) == []
    assert check({"num_round": "0"}, {}) == ["num_round: must be in [1, +inf), got 0"]
    assert check({"num_round": "5", "max_depth": "two"}, {}) == [
        "max_depth: must be an integer, got 'two'"
    ]
    assert any(
        e.startswith("num_class:")
        for e in check({"num_round": "5", "objective": "multi:softmax"}, {})
    )
    assert check({"num_round": "5", "objective": "multi:softmax", "num_class": "3"}, {}) == []
    assert any(
        e.startswith("eval_metric:")
        for e in check(
            {"num_round": "5", "objective": "reg:squarederror", "eval_metric": "auc"}, {}
        )
    )
    assert (
        check({"num_round": "5", "eval_metric": "rmse,error@0.7", "learning_rate": "0.1"}, {}) == []
    )
    assert check({"num_round": "5", "eval_metric": "bogus"}, {})[0].startswith("eval_metric:")


def test_metric_definitions_and_images() -> None:
    for name in ("validation:auc", "validation:rmse", "validation:logloss", "validation:error"):
        assert name in algo.OBJECTIVE_METRICS
    for name in ("validation:mae", "validation:mse", "validation:merror", "validation:mlogloss"):
        assert name in algo.METRIC_DEFINITIONS
    for name in ("validation:aucpr", "validation:ndcg", "validation:map", "validation:f1"):
        assert name in algo.METRIC_DEFINITIONS
    assert (
        "validation:accuracy" in algo.METRIC_DEFINITIONS and "train:auc" in algo.METRIC_DEFINITIONS
    )
    line = "[7]\ttrain-auc:0.99000\tvalidation-auc:0.97000\tvalidation-aucpr:0.95000"
    for form in (line, line.replace("\t", "#011")):
        assert re.search(algo.METRIC_DEFINITIONS["validation:auc"], form).group(1) == "0.97000"  # type: ignore[union-attr]
        assert re.search(algo.METRIC_DEFINITIONS["validation:aucpr"], form).group(1) == "0.95000"  # type: ignore[union-attr]
        assert re.search(algo.METRIC_DEFINITIONS["validation:rmse"], form) is None
    assert algo.METRIC_DIRECTIONS["validation:auc"] == "Maximize"
    assert algo.METRIC_DIRECTIONS["validation:rmse"] == "Minimize"

    for uri in (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1",
        "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:3.0-5",
        "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1",
        "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest",
        "451049120500.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1",
    ):
        assert algo.image_matches(uri), uri
    for uri in (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1",
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost-extra:1",
        "docker.io/library/xgboost:1",
        "my-xgboost:latest",
    ):
        assert not algo.image_matches(uri), uri


def test_importable_without_the_xgboost_library() -> None:
    code = (
        "import sys; sys.modules['xgboost'] = None\n"
        "import sagetune, sagetune.algorithms.xgboost as a\n"
        "assert a.check_hyperparameters({'num_round': '5'}, {}) == []\n"
        "assert a.image_matches(a.__name__) is False and a.METRIC_DEFINITIONS\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_data_readers_report_the_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "train" / "data.csv"
    broken.parent.mkdir()
    broken.write_text("1,2,3\n0,4,5\n1,x,6\n")
    with pytest.raises(algo.AlgorithmError, match=r"train channel: line 3 of file .*data\.csv"):
        algo._read_channel("train", broken.parent, "csv", 0)
    # CSV read as libsvm (the default content type) is not libsvm.
    with pytest.raises(algo.AlgorithmError, match="is not LIBSVM"):
        algo._read_channel("train", broken.parent, "libsvm", 0)
    broken.write_text("1,0.5,3\n0,2,5\n")  # csv_weights=1: the second column is the weight
    table = algo._read_channel("train", broken.parent, "csv", 1)
    assert table.weights is not None and list(table.weights) == [0.5, 2.0]
    assert table.features.shape == (2, 1)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".hidden.csv").write_text("1,2\n")
    with pytest.raises(algo.AlgorithmError, match="validation channel: no data"):
        algo._read_channel("validation", tmp_path / "empty", "csv", 0)
    assert algo.content_format(None) == "libsvm"
    assert algo.content_format("text/csv; label_size=1") == "csv"
    assert algo.content_format("text/x-libsvm") == "libsvm"
    with pytest.raises(algo.AlgorithmError, match="not supported by the local XGBoost"):
        algo.content_format("application/x-recordio-protobuf")


def test_container_metrics_agree_with_scikit_learn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    binary_y, binary_p = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    multi_y, multi_p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    expected = {
        "accuracy": metrics.accuracy_score,
        "balanced_accuracy": metrics.balanced_accuracy_score,
        "f1": lambda y, p: metrics.f1_score(y, p, average="macro"),
        "f1_macro": lambda y, p: metrics.f1_score(y, p, average="macro"),
        "precision_macro": lambda y, p: metrics.precision_score(y, p, average="macro"),
        "precision_micro": lambda y, p: metrics.precision_score(y, p, average="micro"),
        "recall_macro": lambda y, p: metrics.recall_score(y, p, average="macro"),
        "recall_micro": lambda y, p: metrics.recall_score(y, p, average="micro"),
    }
    binary_only = {
        "f1_binary": metrics.f1_score,
        "precision": metrics.precision_score,
        "recall": metrics.recall_score,
    }
    for name, reference in {**expected, **binary_only}.items():
        ours = algo._CUSTOM_METRICS[name][1]
        assert ours(binary_y, binary_p) == pytest.approx(reference(binary_y, binary_p)), name
        if name in expected:
            assert ours(multi_y, multi_p) == pytest.approx(reference(multi_y, multi_p)), name
    y, pred = rng.normal(size=100), rng.normal(size=100)
    regression = {
        "mse": metrics.mean_squared_error,
        "rmse": lambda a, b: np.sqrt(metrics.mean_squared_error(a, b)),
        "mae": metrics.mean_absolute_error,
        "r2": metrics.r2_score,
    }
    for name, reference in regression.items():
        assert algo._CUSTOM_METRICS[name][1](y, pred) == pytest.approx(reference(y, pred)), name
    with pytest.raises(algo.AlgorithmError, match="multiclass"):
        algo._CUSTOM_METRICS["f1_binary"][1](multi_y, multi_p)
