"""SageMaker's built-in XGBoost algorithm, run locally on the ``xgboost`` library.

Run ``python -m sagetune.algorithms.xgboost`` in a job folder laid out like ``/opt/ml``. The
contract is the one of the SageMaker XGBoost container (``sagemaker-xgboost:3.0-5``, XGBoost
3.0.5; see :data:`XGBOOST_VERSION`) in algorithm mode:

- Hyperparameters come from ``<SM_INPUT_CONFIG_DIR>/hyperparameters.json`` (every value a
  string, possibly JSON-encoded as the SageMaker Python SDK writes them). They are checked
  against :data:`HYPERPARAMETERS` as the container checks them: ``num_round`` is required, an
  unknown name is an error, each value must parse and lie in its range, and a few rules tie
  hyperparameters together (``num_class`` for ``multi:*`` objectives, ``auc`` only for binary
  and ranking objectives, ...). Hyperparameters that only matter to another booster or
  objective (``rate_drop`` with ``gbtree``) are accepted, as there.
- Data: the ``train`` channel (required) and ``validation`` (optional), every file under the
  channel's folder (subfolders too; names starting with ``.`` or ``_`` are skipped). The
  content type is the ``train`` channel's ``ContentType`` in ``inputdataconfig.json``:
  ``text/csv``/``csv`` (label in the first column, no header, optional ``;label_size=1``;
  with ``csv_weights=1`` the second column is the instance weight) or
  ``text/libsvm``/``text/x-libsvm``/``libsvm`` (the default when none is given, as in the
  container). Parquet and recordio-protobuf are refused.
- Each boosting round prints one line on stdout, as XGBoost's evaluation monitor prints it in
  the container: ``[3]<TAB>train-auc:0.99000<TAB>validation-auc:0.97000`` (CloudWatch shows the
  tabs as ``#011``). :data:`METRIC_DEFINITIONS` holds the regexes of the predefined objective
  metrics (``validation:auc``, ``train:rmse``, ...); they match either form. The container's
  own metrics that XGBoost lacks (``accuracy``, ``f1``, ``mse``, ``r2``, ...) are computed
  here too when ``eval_metric`` or ``_tuning_objective_metric`` names them.
- ``early_stopping_rounds`` stops on the ``validation`` channel (the last evaluation set),
  on the tuning objective metric when there is one, else the last ``eval_metric``, else
  XGBoost's default metric for the objective; the best iteration is the model kept.
- The model is ``<SM_MODEL_DIR>/xgboost-model`` in the format the container's
  ``Booster.save_model`` gives a name without extension (UBJSON, XGBoost's default binary
  JSON since 2.1), loadable with ``xgboost.Booster(model_file=...)``.
- With a checkpoint folder (``SM_CHECKPOINT_DIR``, else ``LocalPath`` in
  ``checkpointconfig.json``, else an existing ``/opt/ml/checkpoints``) the booster is saved
  after every round as ``xgboost-checkpoint.<round>``, keeping the newest five; a run that
  finds checkpoints resumes from the newest and trains only the remaining rounds, as a
  resumed spot-interrupted job does. Round numbers count from the start of the job, so the
  resumed run's first line is ``[<checkpoint round + 1>]``, as the container's
  checkpoint-aware printer showed it (3.0-5 hands printing to XGBoost's own monitor, which
  restarts at ``[0]``; its loader still reads the ``xgboost-checkpoint.<round>`` files written
  here).
- A bad hyperparameter or bad data prints the reason on stderr, writes it to
  ``<SM_OUTPUT_DIR>/failure`` (SageMaker's failure reason) and exits with status 1.

Not carried over: k-fold cross validation (``_kfold``), Pipe input mode, distributed and
Dask/GPU training, parquet and recordio-protobuf input, and the container's SageMaker
Debugger hook.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
import signal
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the library is imported only when a job runs
    import xgboost

__all__ = [
    "CHECKPOINT_FILENAME",
    "HYPERPARAMETERS",
    "METRIC_DEFINITIONS",
    "METRIC_DIRECTIONS",
    "MODEL_NAME",
    "OBJECTIVE_METRICS",
    "XGBOOST_VERSION",
    "AlgorithmError",
    "Hyperparameter",
    "Interval",
    "check_hyperparameters",
    "image_matches",
    "main",
]

XGBOOST_VERSION = "3.0-5"
"""The SageMaker XGBoost container version (image tag) whose contract this module mirrors;
it runs XGBoost 3.0.5. Training here uses whichever ``xgboost`` (2.0 or later) is installed."""

MODEL_NAME = "xgboost-model"
CHECKPOINT_FILENAME = "xgboost-checkpoint"
CHECKPOINTS_TO_KEEP = 5
_TEMP_SUFFIX = ".sagemaker-ignore"  # files SageMaker's checkpoint uploader leaves alone
_UPLOADING_SUFFIX = ".sagemaker-uploading"
_UPLOADED_SUFFIX = ".sagemaker-uploaded"

log = logging.getLogger("sagetune.algorithms.xgboost")


class AlgorithmError(Exception):
    """A reason the job fails that is the user's to fix: hyperparameters, data, content type."""


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------

# The container's metric names (constants/xgb_constants.py) and which way each improves.
_MAXIMIZE = (
    "accuracy",
    "auc",
    "aucpr",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "map",
    "ndcg",
    "precision",
    "r2",
    "recall",
    "precision_macro",
    "precision_micro",
    "recall_macro",
    "recall_micro",
)
_MINIMIZE = (
    "aft-nloglik",
    "cox-nloglik",
    "error",
    "gamma-deviance",
    "gamma-nloglik",
    "interval-regression-accuracy",
    "logloss",
    "mae",
    "mape",
    "merror",
    "mlogloss",
    "mphe",
    "mse",
    "poisson-nloglik",
    "rmse",
    "rmsle",
    "tweedie-nloglik",
)
_METRIC_NAMES = _MAXIMIZE + _MINIMIZE
_CHANNELS = ("validation", "train")
# One value as XGBoost prints it ("0.97000", "1.2e-05", "nan", "-inf").
_VALUE = r"([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|nan|inf))"


def _metric_regex(channel: str, metric: str) -> str:
    # The container's own regexes are ".*\[[0-9]+\].*#011validation-auc:(\S+)"; a separator
    # here is a real TAB (stdout) or "#011" (how CloudWatch shows one), and the value stops
    # at the next separator either way.
    return rf".*\[[0-9]+\].*(?:\t|#011){re.escape(channel)}-{re.escape(metric)}:{_VALUE}"


METRIC_DEFINITIONS: dict[str, str] = {
    f"{channel}:{metric}": _metric_regex(channel, metric)
    for channel in _CHANNELS
    for metric in _METRIC_NAMES
}
"""Every predefined objective metric of the algorithm -> a regex whose one group is the
metric's value in a round's line. The container declares ``validation:<name>`` for each of its
33 metric names (SageMaker's "Tune an XGBoost model" page documents 12 of them:
accuracy, auc, error, f1, logloss, mae, map, merror, mlogloss, mse, ndcg, rmse); the same
names on the ``train`` channel (``train:auc``) are here too."""

METRIC_DIRECTIONS: dict[str, str] = {
    name: "Maximize" if name.split(":", 1)[1] in _MAXIMIZE else "Minimize"
    for name in METRIC_DEFINITIONS
}
"""Each predefined objective metric -> ``Maximize`` or ``Minimize``, as the container
declares them."""

OBJECTIVE_METRICS = tuple(METRIC_DEFINITIONS)


def _class_labels(pred: np.ndarray, objective: str) -> np.ndarray:
    """Class labels from the predictions XGBoost hands a custom metric under a built-in
    objective (transformed ones): argmax over class probabilities, ``multi:softmax``'s labels
    as they are, raw margins of ``binary:logitraw`` above 0, probabilities above 0.5."""
    if pred.ndim == 2 and pred.shape[1] > 1:
        return np.argmax(pred, axis=1)
    flat = pred.reshape(-1)
    if objective == "multi:softmax":
        return np.rint(flat).astype(int)
    threshold = 0.0 if objective == "binary:logitraw" else 0.5
    return (flat > threshold).astype(int)


def _confusion(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class (sorted union of labels and predictions): true positives, predicted, actual."""
    classes = np.union1d(y, p)
    tp = np.array([np.sum((y == c) & (p == c)) for c in classes], dtype=float)
    predicted = np.array([np.sum(p == c) for c in classes], dtype=float)
    actual = np.array([np.sum(y == c) for c in classes], dtype=float)
    return tp, predicted, actual


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _binary_positive(y: np.ndarray, p: np.ndarray, name: str) -> tuple[float, float, float]:
    """True positives, predicted positives and actual positives for class 1 (binary average)."""
    if np.union1d(y, p).size > 2:
        raise AlgorithmError(
            f"eval_metric {name}: Target is multiclass but average='binary'; use "
            f"{name}_macro or {name}_micro for multi-class objectives"
        )
    return float(np.sum((y == 1) & (p == 1))), float(np.sum(p == 1)), float(np.sum(y == 1))


def _precision(y: np.ndarray, p: np.ndarray, average: str) -> float:
    tp, predicted, actual = _confusion(y, p)
    if average == "micro":
        return float(tp.sum() / predicted.sum()) if predicted.sum() else 0.0
    return float(np.mean(_ratio(tp, predicted)))


def _recall(y: np.ndarray, p: np.ndarray, average: str) -> float:
    tp, predicted, actual = _confusion(y, p)
    if average == "micro":
        return float(tp.sum() / actual.sum()) if actual.sum() else 0.0
    present = actual > 0
    return float(np.mean(_ratio(tp, actual)[present])) if present.any() else 0.0


def _f1_macro(y: np.ndarray, p: np.ndarray) -> float:
    tp, predicted, actual = _confusion(y, p)
    return float(np.mean(_ratio(2 * tp, predicted + actual)))


def _f1_binary(y: np.ndarray, p: np.ndarray) -> float:
    tp, predicted, actual = _binary_positive(y, p, "f1_binary")
    return 2 * tp / (predicted + actual) if predicted + actual else 0.0


def _precision_binary(y: np.ndarray, p: np.ndarray) -> float:
    tp, predicted, _ = _binary_positive(y, p, "precision")
    return tp / predicted if predicted else 0.0


def _recall_binary(y: np.ndarray, p: np.ndarray) -> float:
    tp, _, actual = _binary_positive(y, p, "recall")
    return tp / actual if actual else 0.0


def _balanced_accuracy(y: np.ndarray, p: np.ndarray) -> float:
    tp, _, actual = _confusion(y, p)
    present = actual > 0
    return float(np.mean(tp[present] / actual[present])) if present.any() else 0.0


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    total = float(np.sum((y - y.mean()) ** 2))
    residual = float(np.sum((y - pred) ** 2))
    if total == 0.0:
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total


_Metric = Callable[[np.ndarray, np.ndarray], float]

# The metrics the container computes itself (metrics/custom_metrics.py) rather than XGBoost:
# name -> (on class labels?, function of (labels, predictions)). Class metrics see the class
# labels the predictions stand for; the regression ones see the prediction itself.
_CUSTOM_METRICS: dict[str, tuple[bool, _Metric]] = {
    "accuracy": (True, lambda y, p: float(np.mean(y == p))),
    "balanced_accuracy": (True, _balanced_accuracy),
    "f1": (True, _f1_macro),
    "f1_binary": (True, _f1_binary),
    "f1_macro": (True, _f1_macro),
    "mse": (False, lambda y, p: float(np.mean((y - p) ** 2))),
    "rmse": (False, lambda y, p: float(np.sqrt(np.mean((y - p) ** 2)))),
    "mae": (False, lambda y, p: float(np.mean(np.abs(y - p)))),
    "precision": (True, _precision_binary),
    "precision_macro": (True, lambda y, p: _precision(y, p, "macro")),
    "precision_micro": (True, lambda y, p: _precision(y, p, "micro")),
    "r2": (False, _r2),
    "recall": (True, _recall_binary),
    "recall_macro": (True, lambda y, p: _recall(y, p, "macro")),
    "recall_micro": (True, lambda y, p: _recall(y, p, "micro")),
}


def _custom_metric(
    names: Sequence[str], objective: str
) -> Callable[[np.ndarray, Any], list[tuple[str, float]]]:
    """XGBoost's ``custom_metric`` computing the container's own metrics ``names``."""

    def evaluate(pred: np.ndarray, dmatrix: Any) -> list[tuple[str, float]]:
        y = np.asarray(dmatrix.get_label(), dtype=float)
        pred = np.asarray(pred, dtype=float)
        results = []
        for name in names:
            on_labels, fn = _CUSTOM_METRICS[name]
            if pred.size == 0:
                results.append((name, 0.0))
            elif on_labels:
                results.append((name, fn(y.astype(int), _class_labels(pred, objective))))
            else:
                results.append((name, fn(y, pred.reshape(y.shape[0], -1)[:, 0])))
        return results

    return evaluate


# --------------------------------------------------------------------------------------------
# Hyperparameters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A range of numbers; ``None`` bounds are unbounded, ``*_open`` excludes the bound."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True

    def __str__(self) -> str:
        low = "(-inf" if self.low is None else f"{'(' if self.low_open else '['}{_num(self.low)}"
        high = (
            "+inf)" if self.high is None else f"{_num(self.high)}{')' if self.high_open else ']'}"
        )
        return f"{low}, {high}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter of the algorithm.

    ``kind`` is how its string is read: ``integer``, ``continuous``, ``categorical`` (one of
    ``rule``'s values), ``list`` (comma-separated, each one of ``rule``'s values, or any
    metric name for ``eval_metric``), ``tuple`` (a Python tuple of ``rule``'s values, as
    ``monotone_constraints``), ``nested`` (a list of lists of feature indices, as
    ``interaction_constraints``). ``default`` is the value XGBoost (or the container) uses
    when it is not given, as documented; ``None`` when there is none. ``tunable`` is what the
    container declares tunable.
    """

    name: str
    kind: str
    rule: Interval | tuple[str, ...] | tuple[int, ...] | None = None
    default: str | None = None
    required: bool = False
    tunable: bool = False


def _hp(
    name: str,
    kind: str,
    rule: Interval | tuple[Any, ...] | None = None,
    default: str | None = None,
    *,
    required: bool = False,
    tunable: bool = False,
) -> tuple[str, Hyperparameter]:
    return name, Hyperparameter(name, kind, rule, default, required, tunable)


_I = Interval
_TREE_UPDATERS = (
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    "grow_skmaker",
    "sync",
    "refresh",
    "prune",
    "grow_quantile_histmaker",
)
_TREE_BUILD_UPDATERS = (
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    "grow_quantile_histmaker",
)
_LINEAR_UPDATERS = ("shotgun", "coord_descent")
_OBJECTIVES = (
    "aft_loss_distribution",
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "count:poisson",
    "multi:softmax",
    "multi:softprob",
    "rank:pairwise",
    "rank:ndcg",
    "rank:map",
    "reg:linear",
    "reg:squarederror",
    "reg:logistic",
    "reg:gamma",
    "reg:pseudohubererror",
    "reg:squaredlogerror",
    "reg:absoluteerror",
    "reg:tweedie",
    "survival:aft",
    "survival:cox",
)
_TRUE_FALSE = ("true", "false")

HYPERPARAMETERS: dict[str, Hyperparameter] = dict(
    [
        _hp("num_round", "integer", _I(1), required=True, tunable=True),
        _hp("csv_weights", "integer", _I(0, 1), "0"),
        _hp("early_stopping_rounds", "integer", _I(1)),
        _hp("booster", "categorical", ("gbtree", "gblinear", "dart"), "gbtree"),
        _hp("verbosity", "integer", _I(0, 3), "1"),
        _hp("nthread", "integer", _I(1)),
        _hp("eta", "continuous", _I(0, 1), "0.3", tunable=True),
        _hp("gamma", "continuous", _I(0), "0", tunable=True),
        _hp("max_depth", "integer", _I(0), "6", tunable=True),
        _hp("min_child_weight", "continuous", _I(0), "1", tunable=True),
        _hp("max_delta_step", "continuous", _I(0), "0", tunable=True),
        _hp("subsample", "continuous", _I(0, 1, low_open=True), "1", tunable=True),
        _hp("colsample_bytree", "continuous", _I(0, 1, low_open=True), "1", tunable=True),
        _hp("colsample_bylevel", "continuous", _I(0, 1, low_open=True), "1", tunable=True),
        _hp("colsample_bynode", "continuous", _I(0, 1, low_open=True), "1", tunable=True),
        _hp("lambda", "continuous", _I(0), "1", tunable=True),
        _hp("alpha", "continuous", _I(0), "0", tunable=True),
        _hp("tree_method", "categorical", ("auto", "exact", "approx", "hist", "gpu_hist"), "auto"),
        _hp("sketch_eps", "continuous", _I(0, 1, low_open=True, high_open=True), "0.03"),
        _hp("scale_pos_weight", "continuous", _I(0, low_open=True), "1"),
        _hp("updater", "list", _TREE_UPDATERS + _LINEAR_UPDATERS),
        _hp("dsplit", "categorical", ("row", "col"), "row"),
        _hp("refresh_leaf", "integer", _I(0, 1), "1"),
        _hp("process_type", "categorical", ("default", "update"), "default"),
        _hp("grow_policy", "categorical", ("depthwise", "lossguide"), "depthwise"),
        _hp("max_leaves", "integer", _I(0), "0"),
        _hp("max_bin", "integer", _I(0), "256"),
        _hp("predictor", "categorical", ("auto", "cpu_predictor", "gpu_predictor"), "auto"),
        _hp("monotone_constraints", "tuple", (-1, 0, 1)),
        _hp("interaction_constraints", "nested", _I(1)),
        _hp("sample_type", "categorical", ("uniform", "weighted"), "uniform"),
        _hp("normalize_type", "categorical", ("tree", "forest"), "tree"),
        _hp("rate_drop", "continuous", _I(0, 1), "0"),
        _hp("one_drop", "integer", _I(0, 1), "0"),
        _hp("skip_drop", "continuous", _I(0, 1), "0"),
        _hp("lambda_bias", "continuous", _I(0, 1), "0"),
        _hp("tweedie_variance_power", "continuous", _I(1, 2, True, True), "1.5"),
        _hp("objective", "categorical", _OBJECTIVES, "reg:squarederror"),
        _hp("num_class", "integer", _I(2)),
        _hp("base_score", "continuous", _I(0), "0.5"),
        _hp("_kfold", "integer", _I(2)),
        _hp("_num_cv_round", "integer", _I(1), "1"),
        _hp("_tuning_objective_metric", "categorical", OBJECTIVE_METRICS),
        _hp("eval_metric", "list", _METRIC_NAMES),
        _hp("seed", "integer", _I(-(2**31), 2**31 - 1, True, True), "0"),
        _hp("num_parallel_tree", "integer", _I(1), "1"),
        _hp("save_model_on_termination", "categorical", _TRUE_FALSE, "false"),
        _hp("aft_loss_distribution", "categorical", ("normal", "logistic", "extreme"), "normal"),
        _hp("aft_loss_distribution_scale", "continuous", _I(0), "1"),
        _hp("deterministic_histogram", "categorical", _TRUE_FALSE, "true"),
        _hp("sampling_method", "categorical", ("uniform", "gradient_based"), "uniform"),
        _hp("prob_buffer_row", "integer", _I(1, low_open=True), "1"),
        _hp("use_dask_gpu_training", "categorical", _TRUE_FALSE, "false"),
    ]
)
"""Every hyperparameter the container's validation accepts (its
``algorithm_mode/hyperparameter_validation.py``), with its kind, allowed values and
documented default."""

ALIASES: dict[str, str] = {
    "learning_rate": "eta",
    "min_split_loss": "gamma",
    "reg_lambda": "lambda",
    "reg_alpha": "alpha",
}
"""XGBoost's other names for four hyperparameters, accepted as the container accepts them."""

# Consumed by the algorithm itself rather than passed on to XGBoost.
_NOT_XGBOOST_PARAMS = (
    "num_round",
    "csv_weights",
    "early_stopping_rounds",
    "save_model_on_termination",
    "_tuning_objective_metric",
    "_kfold",
    "_num_cv_round",
    "use_dask_gpu_training",
)


def _decode(value: Any) -> Any:
    """A value as SageMaker's training toolkit reads it (as ``training.hyperparameter_value``):
    JSON-decoded where it is JSON (``'"binary:logistic"'`` -> ``binary:logistic``). Kept here
    rather than imported: a job runs this file alone, as a container runs its algorithm,
    without importing the sagetune package."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _text(value: Any) -> str:
    """The decoded value as the string the container's parsers see."""
    value = _decode(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def _is_reserved(name: str) -> bool:
    # The training toolkit's own settings (sagemaker_program, sagemaker_estimator_module, ...)
    # are not the algorithm's to check.
    return name.startswith("sagemaker_")


def _metric_item_error(item: str) -> str | None:
    if "<function" in item:
        return f"user defined evaluation metric {item} is not supported"
    if "@" in item:
        name, _, threshold = item.partition("@")
        if name.strip() not in ("error", "ndcg", "map"):
            return (
                f"metric '{item}' is not supported; a metric with a threshold ('name@t') must "
                "be one of error, ndcg, map"
            )
        try:
            float(threshold.strip())
        except ValueError:
            return f"threshold 't' in '{name.strip()}@t' must be a number, got '{threshold}'"
        return None
    if item not in _METRIC_NAMES:
        return f"'{item}' is not one of {', '.join(_METRIC_NAMES)}"
    return None


def _parse(hp: Hyperparameter, text: str) -> tuple[Any, str | None]:
    """(parsed value, error) for one hyperparameter's string."""
    name = hp.name
    if hp.kind == "integer":
        try:
            number = float(text)
        except ValueError:
            return None, f"{name}: must be an integer, got '{text}'"
        if not number.is_integer():
            return None, f"{name}: must be an integer, got '{text}'"
        value: Any = int(number)
        if value not in hp.rule:  # type: ignore[operator]
            return None, f"{name}: must be in {hp.rule}, got {text}"
        return value, None
    if hp.kind == "continuous":
        try:
            value = float(text)
        except ValueError:
            return None, f"{name}: must be a number, got '{text}'"
        if value not in hp.rule:  # type: ignore[operator]
            return None, f"{name}: must be in {hp.rule}, got {text}"
        return value, None
    if hp.kind == "categorical":
        assert isinstance(hp.rule, tuple)
        if text not in hp.rule:
            return None, f"{name}: must be one of {', '.join(map(str, hp.rule))}, got '{text}'"
        return text, None
    if hp.kind == "list":
        items = [item.strip() for item in text.split(",")]
        for item in items:
            if name == "eval_metric":
                problem = _metric_item_error(item)
                if problem:
                    return None, f"{name}: {problem}"
            elif isinstance(hp.rule, tuple) and item not in hp.rule:
                allowed = ", ".join(map(str, hp.rule))
                return None, f"{name}: '{item}' is not one of {allowed}"
        return items, None
    if hp.kind == "tuple":  # "(1,-1,0)"
        try:
            parsed = _literal(text)
            values = tuple(parsed) if isinstance(parsed, list | tuple) else (parsed,)
        except ValueError:
            return None, f"{name}: must be a tuple such as (1,-1,0), got '{text}'"
        if any(isinstance(v, bool) or v not in hp.rule for v in values):  # type: ignore[operator]
            return None, f"{name}: each value must be one of -1, 0, 1, got '{text}'"
        return text, None
    if hp.kind == "nested":  # "[[0, 1], [2, 3]]"
        try:
            parsed = _literal(text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, list | tuple) or not all(
            isinstance(group, list | tuple) for group in parsed
        ):
            return None, f"{name}: must be a list of lists such as [[0, 1], [2]], got '{text}'"
        if any(not isinstance(i, int) or i not in hp.rule for g in parsed for i in g):  # type: ignore[operator]
            return None, f"{name}: each feature index must be in {hp.rule}, got '{text}'"
        return text, None
    return text, None


def _literal(text: str) -> Any:
    import ast

    try:
        return ast.literal_eval(text)
    except (SyntaxError, ValueError) as exc:
        raise ValueError(text) from exc


def _dependency_errors(values: Mapping[str, Any], tuned: Mapping[str, Any]) -> list[str]:
    """The container's rules tying hyperparameters together, on the static values (and the
    categorical values of tuned ones)."""
    errors: list[str] = []

    def candidates(name: str) -> list[Any]:
        if name in values:
            return [values[name]]
        spec = tuned.get(name)
        if spec is not None and not _is_bounds(spec):
            return list(spec)
        return []

    objectives = candidates("objective") or ["reg:squarederror"]
    has_num_class = "num_class" in values or "num_class" in tuned
    for objective in objectives:
        if objective in ("multi:softmax", "multi:softprob") and not has_num_class:
            errors.append(
                f"num_class: is required for multi-class classification (objective {objective})"
            )
            break

    for metrics in candidates("eval_metric"):
        items = metrics if isinstance(metrics, list) else _text(metrics).split(",")
        for objective in objectives:
            if "auc" in items and not objective.startswith(("binary:", "rank:")):
                errors.append(
                    "eval_metric: 'auc' can only be applied to classification and ranking "
                    f"problems (objective {objective})"
                )
                break
            if "aft-nloglik" in items and objective != "survival:aft":
                errors.append(
                    "eval_metric: 'aft-nloglik' can only be applied to the survival:aft "
                    f"objective (objective {objective})"
                )
                break

    tree_methods = candidates("tree_method") or [None]
    if "monotone_constraints" in values and any(t not in ("exact", "hist") for t in tree_methods):
        errors.append(
            "monotone_constraints: can be used only when tree_method is 'exact' or 'hist'"
        )
    if "interaction_constraints" in values and any(
        t not in ("exact", "hist", "approx") for t in tree_methods
    ):
        errors.append(
            "interaction_constraints: can be used only when tree_method is 'exact', 'hist' "
            "or 'approx'"
        )

    updater = values.get("updater")
    if updater:
        if values.get("booster") == "gblinear":
            if not (len(updater) == 1 and updater[0] in _LINEAR_UPDATERS):
                errors.append("updater: a linear updater must be one of shotgun, coord_descent")
        elif values.get("process_type") == "update":
            if not all(u in ("refresh", "prune") for u in updater):
                errors.append("updater: process_type 'update' works only with refresh and prune")
        elif not all(u in _TREE_UPDATERS for u in updater):
            errors.append(f"updater: tree updaters must be among {', '.join(_TREE_UPDATERS)}")
        elif sum(u in _TREE_BUILD_UPDATERS for u in updater) > 1:
            errors.append(
                "updater: only one tree grow plugin can be selected, one of "
                + ", ".join(_TREE_BUILD_UPDATERS)
            )
    return errors


def _is_bounds(spec: Any) -> bool:
    return (
        isinstance(spec, tuple)
        and len(spec) == 2
        and all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in spec)
    )


def _canonical(name: str) -> str:
    return ALIASES.get(name, name)


def _check(static: Mapping[str, Any], tuned: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(parsed static values under their canonical names, errors)."""
    errors: list[str] = []
    values: dict[str, Any] = {}
    given: set[str] = set()
    for raw_name, raw in static.items():
        if _is_reserved(raw_name):
            continue
        name = _canonical(raw_name)
        hp = HYPERPARAMETERS.get(name)
        if hp is None:
            errors.append(f"{raw_name}: is not a hyperparameter of the built-in XGBoost algorithm")
            continue
        given.add(name)
        value, error = _parse(hp, _text(raw))
        if error:
            errors.append(error.replace(name, raw_name, 1) if raw_name != name else error)
        else:
            values[name] = value

    canonical_tuned: dict[str, Any] = {}
    for raw_name, spec in tuned.items():
        name = _canonical(raw_name)
        hp = HYPERPARAMETERS.get(name)
        if hp is None:
            errors.append(f"{raw_name}: is not a hyperparameter of the built-in XGBoost algorithm")
            continue
        canonical_tuned[name] = spec
        errors.extend(_tuned_errors(raw_name, hp, spec))

    for hp in HYPERPARAMETERS.values():
        if hp.required and hp.name not in given and hp.name not in canonical_tuned:
            errors.append(f"{hp.name}: is required")
    errors.extend(_dependency_errors(values, canonical_tuned))
    return values, errors


def _tuned_errors(raw_name: str, hp: Hyperparameter, spec: Any) -> list[str]:
    if _is_bounds(spec):
        low, high = spec
        if hp.kind not in ("integer", "continuous"):
            return [f"{raw_name}: is {hp.kind}; tune it with a categorical range"]
        assert isinstance(hp.rule, Interval)
        outside = [b for b in (low, high) if b is not None and b not in hp.rule]
        if hp.kind == "integer":
            outside += [b for b in (low, high) if b is not None and not float(b).is_integer()]
        if outside:
            return [
                f"{raw_name}: must be in {hp.rule}, got the tuning range "
                f"[{_bound(low)}, {_bound(high)}]"
            ]
        return []
    if isinstance(spec, str) or not isinstance(spec, Iterable):
        return [f"{raw_name}: a tuning range must be (min, max) or a list of values"]
    errors = []
    for value in spec:
        _, error = _parse(hp, _text(value))
        if error:
            errors.append(error.replace(hp.name, raw_name, 1) + " (a tuned value)")
    return errors


def _bound(value: float | None) -> str:
    return "-inf" if value is None else _num(value)


def check_hyperparameters(
    static: Mapping[str, str],
    tuned: Mapping[str, tuple[float | None, float | None] | Sequence[str]],
) -> list[str]:
    """Check a training job's hyperparameters as the XGBoost container checks them.

    Args:
        static: the static hyperparameters, as strings (JSON-encoded ones are decoded as
            SageMaker's training toolkit decodes them); ``sagemaker_*`` names are skipped.
        tuned: the names being tuned -> ``(min, max)`` for a continuous or integer range
            (``None`` for an open end), or the values of a categorical range.

    Returns:
        One message per problem, each starting with the hyperparameter's name and saying
        which rule it breaks (``"eta: must be in [0, 1], got 1.5"``); empty when all is well.
    """
    return _check(static, tuned)[1]


# --------------------------------------------------------------------------------------------
# Image URIs
# --------------------------------------------------------------------------------------------

_IMAGE = re.compile(
    r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\."
    r"(?:amazonaws\.com|amazonaws\.com\.cn|c2s\.ic\.gov|sc2s\.sgov\.gov)"
    r"/(?:sagemaker-xgboost|xgboost)(?::[A-Za-z0-9_.-]+|@sha256:[0-9a-f]{64})?$"
)


def image_matches(uri: str) -> bool:
    """Whether ``uri`` is one of SageMaker's XGBoost algorithm images in any region or account:
    ``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/sagemaker-xgboost:<version>`` or the
    legacy ``.../xgboost:1`` (``:latest``, by digest, or untagged)."""
    return bool(_IMAGE.match(uri.strip()))


# --------------------------------------------------------------------------------------------
# Job folder
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Paths:
    config: Path
    input: Path
    model: Path
    output: Path
    output_data: Path
    checkpoints: Path | None

    def channel(self, name: str) -> Path:
        env = os.environ.get(f"SM_CHANNEL_{name.upper()}")
        return Path(env) if env else self.input / "data" / name


def _paths() -> _Paths:
    env = os.environ.get
    ml = Path("/opt/ml")
    input_dir = Path(env("SM_INPUT_DIR") or ml / "input")
    config = Path(env("SM_INPUT_CONFIG_DIR") or input_dir / "config")
    output = Path(env("SM_OUTPUT_DIR") or ml / "output")
    checkpoints: Path | None = None
    if env("SM_CHECKPOINT_DIR"):
        checkpoints = Path(env("SM_CHECKPOINT_DIR", ""))
    else:
        config_file = Path(env("SM_CHECKPOINT_CONFIG_FILE") or config / "checkpointconfig.json")
        if config_file.is_file():
            try:
                local = json.loads(config_file.read_text()).get("LocalPath")
            except (ValueError, AttributeError):
                local = None
            if local:
                checkpoints = Path(local)
        elif not env("SM_MODEL_DIR") and (ml / "checkpoints").is_dir():
            checkpoints = ml / "checkpoints"  # a real /opt/ml with checkpoints configured
    return _Paths(
        config=config,
        input=input_dir,
        model=Path(env("SM_MODEL_DIR") or ml / "model"),
        output=output,
        output_data=Path(env("SM_OUTPUT_DATA_DIR") or output / "data"),
        checkpoints=checkpoints,
    )


def _read_json(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise AlgorithmError(f"{what} {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise AlgorithmError(f"{what} {path} must hold a JSON object")
    return data


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

_CSV_TYPES = ("csv", "text/csv")
_LIBSVM_TYPES = ("libsvm", "text/libsvm", "text/x-libsvm")
_UNSUPPORTED_TYPES = {
    "parquet": "parquet",
    "application/x-parquet": "parquet",
    "recordio-protobuf": "recordio-protobuf",
    "application/x-recordio-protobuf": "recordio-protobuf",
}


def content_format(content_type: str | None) -> str:
    """``csv`` or ``libsvm`` for a channel's ``ContentType`` (``None``: libsvm, the
    container's default)."""
    if content_type is None:
        return "libsvm"
    main, *params = (part.strip() for part in content_type.lower().split(";"))
    if main in _CSV_TYPES:
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "label_size" and value.strip().strip('"') != "1":
                raise AlgorithmError(
                    f"{content_type} is not an accepted csv ContentType: the optional "
                    "parameter label_size must be 1"
                )
        return "csv"
    if main in _LIBSVM_TYPES:
        return "libsvm"
    if main in _UNSUPPORTED_TYPES:
        raise AlgorithmError(
            f"ContentType {content_type} ({_UNSUPPORTED_TYPES[main]}) is not supported by the "
            "local XGBoost algorithm; use text/csv or text/libsvm"
        )
    accepted = _CSV_TYPES + _LIBSVM_TYPES + tuple(_UNSUPPORTED_TYPES)
    raise AlgorithmError(f"{content_type} is not an accepted ContentType: {', '.join(accepted)}")


def _data_files(channel: str, folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise AlgorithmError(f"{channel} channel: {folder} is not a valid path")
    files = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(p.startswith((".", "_")) for p in parts) or not path.is_file():
            continue
        if ".cache" in path.name and ("dtrain" in path.name or "dval" in path.name):
            continue
        if path.stat().st_size > 0:
            files.append(path)
    return files


@dataclass
class _Table:
    """One channel's rows: features (dense or CSR), labels, weights and query ids."""

    features: Any
    labels: np.ndarray
    weights: np.ndarray | None
    qid: np.ndarray | None
    columns: int


def _sniff_delimiter(line: str, channel: str, path: Path) -> str:
    try:
        return csv.Sniffer().sniff(line, delimiters=",;\t| ").delimiter
    except csv.Error:
        if "," in line or not line.strip():
            return ","
        stripped = line.strip()
        try:
            float(stripped)
            return ","  # one column
        except ValueError:
            raise AlgorithmError(
                f"{channel} channel: could not determine the delimiter of file {path} from "
                f"its first line '{stripped[:50]}'"
            ) from None


def _read_csv_fast(path: Path, delimiter: str) -> np.ndarray | None:
    """The file's numbers, or ``None`` when it does not parse as a numeric table."""
    import pandas as pd

    try:
        frame = pd.read_csv(
            path, header=None, sep=delimiter, dtype=np.float64, skip_blank_lines=True
        )
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    return frame.to_numpy()


def _read_csv_rows(channel: str, path: Path, delimiter: str) -> list[list[float]]:
    rows: list[list[float]] = []
    with path.open(newline="", errors="replace") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter=delimiter), start=1):
            if not row or all(not cell.strip() for cell in row):
                continue
            try:
                values = [float(c) if c.strip() else math.nan for c in row]
            except ValueError:
                raise AlgorithmError(
                    f"{channel} channel: line {number} of file {path} is not numeric CSV "
                    f"(label in the first column, no header): '{delimiter.join(row)[:50]}'"
                ) from None
            if rows and len(values) != len(rows[0]):
                raise AlgorithmError(
                    f"{channel} channel: line {number} of file {path} has {len(values)} "
                    f"columns, the first has {len(rows[0])}"
                )
            rows.append(values)
    return rows


def _read_csv(channel: str, files: Sequence[Path], csv_weights: int) -> _Table:
    blocks = []
    for path in files:
        with path.open(errors="replace") as handle:
            first = handle.readline()
        delimiter = _sniff_delimiter(first, channel, path)
        fast = _read_csv_fast(path, delimiter)
        if fast is not None:
            rows: Any = fast
        else:  # read it row by row, to say where it goes wrong
            rows = _read_csv_rows(channel, path, delimiter)
        if len(rows) == 0:
            continue
        width = len(rows[0])
        if width < 2 + csv_weights:
            raise AlgorithmError(
                f"{channel} channel: file {path} has {width} column(s); it needs the label"
                + (", the weight" if csv_weights else "")
                + " and at least one feature"
            )
        blocks.append((path, np.asarray(rows, dtype=float)))
    if not blocks:
        raise AlgorithmError(f"{channel} channel: no data in its files")
    widths = {block.shape[1] for _, block in blocks}
    if len(widths) > 1:
        shapes = ", ".join(f"{p.name}: {b.shape[1]}" for p, b in blocks)
        raise AlgorithmError(f"{channel} channel: files differ in their columns ({shapes})")
    data = np.vstack([block for _, block in blocks])
    labels = data[:, 0]
    if np.isnan(labels).any():
        raise AlgorithmError(f"{channel} channel: a row has no label (first column)")
    first_feature = 1 + csv_weights
    weights = data[:, 1] if csv_weights else None
    features = data[:, first_feature:]
    return _Table(features, labels, weights, None, features.shape[1])


def _read_libsvm(channel: str, files: Sequence[Path]) -> _Table:
    from scipy import sparse

    labels: list[float] = []
    weights: list[float] = []
    qids: list[int] = []
    indices: list[int] = []
    values: list[float] = []
    indptr = [0]
    for path in files:
        with path.open(errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                tokens = text.split()
                try:
                    label, _, weight = tokens[0].partition(":")
                    labels.append(float(label))
                    weights.append(float(weight) if weight else 1.0)
                    for token in tokens[1:]:
                        key, sep, value = token.partition(":")
                        if not sep:
                            raise ValueError(token)
                        if key == "qid":
                            qids.append(int(value))
                            continue
                        index = int(key)
                        if index < 0:
                            raise ValueError(token)
                        indices.append(index)
                        values.append(float(value))
                except ValueError:
                    raise AlgorithmError(
                        f"{channel} channel: line {number} of file {path} is not LIBSVM "
                        f"(<label>[:<weight>] <index>:<value> ...): '{text[:50]}'"
                    ) from None
                indptr.append(len(indices))
    if not labels:
        raise AlgorithmError(f"{channel} channel: no data in its files")
    if qids and len(qids) != len(labels):
        raise AlgorithmError(f"{channel} channel: qid is given on some lines but not all")
    columns = (max(indices) + 1) if indices else 1
    matrix = sparse.csr_matrix(
        (np.asarray(values), np.asarray(indices), np.asarray(indptr)),
        shape=(len(labels), columns),
    )
    w = np.asarray(weights)
    return _Table(
        matrix,
        np.asarray(labels),
        None if np.all(w == 1.0) else w,
        np.asarray(qids) if qids else None,
        columns,
    )


def _read_channel(channel: str, folder: Path, fmt: str, csv_weights: int) -> _Table:
    files = _data_files(channel, folder)
    if not files:
        raise AlgorithmError(f"{channel} channel: no data in {folder}")
    return (
        _read_libsvm(channel, files) if fmt == "libsvm" else _read_csv(channel, files, csv_weights)
    )


def _dmatrix(xgb: Any, table: _Table, columns: int) -> Any:
    features = table.features
    if table.columns < columns:
        if hasattr(features, "tocsr"):
            features = features.tocsr().copy()
            features.resize((features.shape[0], columns))
        else:
            raise AlgorithmError(
                f"the channels differ in their feature columns ({table.columns} vs {columns})"
            )
    if table.qid is not None:
        order = np.argsort(table.qid, kind="stable")
        features = features[order]
        return xgb.DMatrix(
            features,
            label=table.labels[order],
            weight=None if table.weights is None else table.weights[order],
            qid=table.qid[order],
        )
    return xgb.DMatrix(features, label=table.labels, weight=table.weights)


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------

_CHECKPOINT = re.compile(rf"^{re.escape(CHECKPOINT_FILENAME)}\.([0-9]+)$")


def _checkpoints(folder: Path | None) -> list[tuple[int, Path]]:
    """(round, path) of the checkpoints in ``folder``, oldest first."""
    if folder is None or not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _CHECKPOINT.match(path.name)
        if match and path.is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def _load_checkpoint(xgb: Any, folder: Path | None) -> tuple[Any, int]:
    """(booster, rounds done) from the newest readable checkpoint; (None, 0) without one."""
    for round_, path in reversed(_checkpoints(folder)):
        try:
            booster = xgb.Booster()
            booster.load_model(bytearray(path.read_bytes()))
        except (xgb.core.XGBoostError, OSError):
            log.warning("Skipping unreadable checkpoint %s", path)
            continue
        log.info("Checkpoint loaded from %s; resuming from iteration %d", path, round_ + 1)
        return booster, round_ + 1
    return None, 0


def _save_atomically(booster: Any, folder: Path, name: str) -> None:
    """``booster.save_model(folder / name)`` (UBJSON, XGBoost's default for a name without
    extension), written to a temporary file first so a reader never sees half a model."""
    fd, temp = tempfile.mkstemp(dir=folder, suffix=_TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(booster.save_raw(raw_format="ubj"))
        os.replace(temp, folder / name)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def _monitor_callback(xgb: Any) -> Any:
    """Print each round's evaluation as XGBoost's ``EvaluationMonitor`` does
    (``[i]<TAB>train-auc:0.99000<TAB>validation-auc:0.97000``), counting rounds from the
    start of the job: a run resumed after 5 rounds prints ``[5]`` first."""

    class PrintEvaluation(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if evals_log:
                items = []
                for data, metrics in evals_log.items():
                    for metric, history in metrics.items():
                        score = history[-1][0] if isinstance(history[-1], tuple) else history[-1]
                        items.append(f"\t{data}-{metric}:{score:.5f}")
                print(f"[{model.num_boosted_rounds() - 1}]{''.join(items)}", flush=True)
            return False

    return PrintEvaluation()


def _checkpoint_callback(xgb: Any, folder: Path) -> Any:
    """Save the booster after every round as ``xgboost-checkpoint.<round>`` (rounds counted
    from the start of the job), keeping the newest :data:`CHECKPOINTS_TO_KEEP` (older ones
    are deleted unless SageMaker's uploader has marked them as being uploaded)."""

    class SaveCheckpoint(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            round_done = model.num_boosted_rounds() - 1
            folder.mkdir(parents=True, exist_ok=True)
            _save_atomically(model, folder, f"{CHECKPOINT_FILENAME}.{round_done}")
            for round_, path in _checkpoints(folder):
                if round_ > round_done - CHECKPOINTS_TO_KEEP:
                    break
                uploading = Path(f"{path}{_UPLOADING_SUFFIX}").exists()
                if uploading and not Path(f"{path}{_UPLOADED_SUFFIX}").exists():
                    continue
                path.unlink(missing_ok=True)
            return False

    return SaveCheckpoint()


def _intermediate_model_callback(xgb: Any, model_dir: Path) -> Any:
    """``save_model_on_termination``: the model so far is in the model folder after every
    round, and SIGTERM ends the job leaving it there."""

    class SaveIntermediateModel(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            _save_atomically(model, model_dir, MODEL_NAME)
            return False

    signal.signal(signal.SIGTERM, lambda signo, frame: os._exit(0))
    return SaveIntermediateModel()


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

# XGBoost messages that are the user's data or settings at fault (the container's list).
_USER_ERRORS = (
    "label must be in [0,1] for logistic regression",
    "label must be in [0, num_class)",
    "Target is multiclass but average='binary'",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "the dataset only contains pos or neg samples",
    "base_score must be in (0,1)",
    "label must be nonnegative",
    "Parameter reg_lambda should be greater equal to 0",
)


def _evaluation_plan(values: Mapping[str, Any]) -> tuple[list[str], list[str], str | None]:
    """(XGBoost's own eval metrics, the container's own ones, the early-stopping metric)."""
    objective = values.get("_tuning_objective_metric")
    tuning = [objective.split(":", 1)[1]] if objective else []
    eval_metric = list(values.get("eval_metric") or [])
    union = list(dict.fromkeys(eval_metric + tuning))
    custom = [m for m in union if m in _CUSTOM_METRICS]
    native = [m for m in union if m not in _CUSTOM_METRICS]
    stop_on = tuning[-1] if tuning else eval_metric[-1] if eval_metric else None
    return native, custom, stop_on


def train(paths: _Paths) -> None:
    """Run the training job laid out at ``paths``."""
    raw_hps = _read_json(paths.config / "hyperparameters.json", "hyperparameters file")
    values, errors = _check(raw_hps, {})
    if errors:
        raise AlgorithmError("; ".join(errors))
    if "_kfold" in values:
        raise AlgorithmError(
            "_kfold: cross validation is not supported by the local XGBoost algorithm"
        )

    data_config = _read_json(paths.config / "inputdataconfig.json", "input data config")
    for name, channel in data_config.items():
        mode = (channel or {}).get("TrainingInputMode", "File")
        if mode not in ("File", "FastFile"):
            raise AlgorithmError(
                f"{name} channel: TrainingInputMode {mode} is not supported by the local XGBoost "
                "algorithm; use File"
            )
    train_dir = paths.channel("train")
    if "train" not in data_config and not train_dir.exists():
        raise AlgorithmError("train channel: is required")
    fmt = content_format((data_config.get("train") or {}).get("ContentType"))
    csv_weights = int(values.get("csv_weights", 0))

    train_table = _read_channel("train", train_dir, fmt, csv_weights)
    val_dir = paths.channel("validation")
    val_table = None
    if "validation" in data_config or val_dir.exists():
        val_table = _read_channel("validation", val_dir, fmt, csv_weights)
    if val_table is not None and fmt == "csv" and val_table.columns != train_table.columns:
        raise AlgorithmError(
            f"validation channel: has {val_table.columns} feature columns, train has "
            f"{train_table.columns}"
        )

    import xgboost as xgb

    columns = max(train_table.columns, val_table.columns if val_table else 0)
    dtrain = _dmatrix(xgb, train_table, columns)
    evals = [(dtrain, "train")]
    dval = None
    if val_table is not None:
        dval = _dmatrix(xgb, val_table, columns)
        evals.append((dval, "validation"))
    log.info("Train matrix has %d rows and %d columns", dtrain.num_row(), dtrain.num_col())

    _run(xgb, values, dtrain, evals, dval is not None, paths)


def _run(
    xgb: Any,
    values: Mapping[str, Any],
    dtrain: xgboost.DMatrix,
    evals: list[tuple[xgboost.DMatrix, str]],
    has_validation: bool,
    paths: _Paths,
) -> None:
    params: dict[str, Any] = {
        k: v for k, v in values.items() if k not in _NOT_XGBOOST_PARAMS and k != "eval_metric"
    }
    if "updater" in params:
        params["updater"] = ",".join(params["updater"])
    native, custom, stop_on = _evaluation_plan(values)
    if native:
        params["eval_metric"] = native
    num_round = int(values["num_round"])

    booster, done = _load_checkpoint(xgb, paths.checkpoints)
    if booster is not None:
        done = booster.num_boosted_rounds()
    callbacks: list[Any] = [_monitor_callback(xgb)]
    if paths.checkpoints is not None:
        callbacks.append(_checkpoint_callback(xgb, paths.checkpoints))
    paths.model.mkdir(parents=True, exist_ok=True)
    if values.get("save_model_on_termination") == "true":
        callbacks.append(_intermediate_model_callback(xgb, paths.model))
    rounds = values.get("early_stopping_rounds")
    if rounds and has_validation:
        callbacks.append(
            xgb.callback.EarlyStopping(
                rounds=int(rounds),
                metric_name=stop_on,
                data_name="validation",
                maximize=(stop_on in _MAXIMIZE) if stop_on else None,
                save_best=True,
            )
        )
    try:
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=max(num_round - done, 0),
            evals=evals,
            custom_metric=(
                _custom_metric(custom, str(values.get("objective", "reg:squarederror")))
                if custom
                else None
            ),
            callbacks=callbacks,
            xgb_model=booster,
            verbose_eval=False,
        )
    except xgb.core.XGBoostError as exc:
        message = str(exc).strip()
        if any(known in message for known in _USER_ERRORS):
            raise AlgorithmError(message) from None
        raise AlgorithmError(f"XGB train call failed with exception:\n {message}") from None
    _save_atomically(booster, paths.model, MODEL_NAME)
    log.info("Stored trained model at %s", paths.model / MODEL_NAME)


def _fail(paths: _Paths, message: str) -> int:
    print(f"Error: {message}", file=sys.stderr, flush=True)
    try:
        paths.output.mkdir(parents=True, exist_ok=True)
        (paths.output / "failure").write_text(message + "\n")
    except OSError:
        pass
    return 1


def main() -> int:
    """The job's entry point; returns the process's exit status."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")
    paths = _paths()
    try:
        train(paths)
    except AlgorithmError as exc:
        return _fail(paths, str(exc))
    except ImportError as exc:
        return _fail(
            paths,
            f"the xgboost library is not installed ({exc}); install sagetune[xgboost]",
        )
    except MemoryError:
        return _fail(paths, "out of memory while loading the data or training")
    return 0


if __name__ == "__main__":
    sys.exit(main())
