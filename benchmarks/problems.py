"""Benchmark problems: two standard test functions and one small real tuning task.

Every objective takes a dict of hyperparameters and returns a value to MINIMISE, as sagetune's
strategies see it (the AUC problem returns ``-AUC``).

- Branin (Branin-Hoo), as in Dixon & Szegő (1978), "The global optimization problem: an
  introduction", and the Virtual Library of Simulation Experiments (Surjanovic & Bingham,
  https://www.sfu.ca/~ssurjano/branin.html): on ``x1 in [-5, 10]``, ``x2 in [0, 15]``, with
  ``a=1, b=5.1/(4 pi^2), c=5/pi, r=6, s=10, t=1/(8 pi)``; global minimum 0.397887 at three
  points.
- Hartmann 6-D, as in Hartmann (1972) and Dixon & Szegő (1978)
  (https://www.sfu.ca/~ssurjano/hart6.html): on ``[0, 1]^6``; global minimum -3.32237 at
  (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573).
- ``xgb_breast_cancer_auc``: 3-fold stratified cross-validated ROC AUC of a 60-tree XGBoost
  classifier on scikit-learn's bundled Wisconsin breast cancer data (no download), tuning
  ``eta``, ``alpha``, ``max_depth`` and ``min_child_weight`` (the names of SageMaker's XGBoost
  algorithm). Its optimum is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from sagetune.space import ContinuousParameter, IntegerParameter, SearchSpace

Objective = Callable[[Mapping[str, Any]], float]


@dataclass(frozen=True)
class Problem:
    """A function to minimise over a sagetune search space.

    Attributes:
        name: identifier used on the command line and in results.
        objective: hyperparameters -> value to minimise.
        space: the ranges, as a tuning request would give them.
        optimum: the known global minimum, or ``None`` when unknown.
        default_seeds: seeds to run when fewer than asked are wanted because a job is slow
            (``None``: as many as asked).
    """

    name: str
    objective: Objective
    space: SearchSpace
    optimum: float | None = None
    default_seeds: int | None = None


def branin(p: Mapping[str, Any]) -> float:
    """Branin-Hoo function (minimum 0.397887)."""
    x1, x2 = float(p["x1"]), float(p["x2"])
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array([
    [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
    [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
    [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
    [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
])
_H6_P = 1e-4 * np.array([
    [1312, 1696, 5569, 124, 8283, 5886],
    [2329, 4135, 8307, 3736, 1004, 9991],
    [2348, 1451, 3522, 2883, 3047, 6650],
    [4047, 8828, 8732, 5743, 1091, 381],
])


def hartmann6(p: Mapping[str, Any]) -> float:
    """Hartmann 6-D function (minimum -3.32237)."""
    x = np.array([float(p[f"x{i}"]) for i in range(6)])
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


@cache
def _breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    # Loaded once per process: the data set is bundled with scikit-learn.
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    return x, y


def xgb_breast_cancer_auc(p: Mapping[str, Any]) -> float:
    """Minus the 3-fold CV ROC AUC of XGBoost on breast_cancer (single-threaded, seeded folds)."""
    # Imported here so that the synthetic problems need neither xgboost nor scikit-learn.
    import xgboost as xgb
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x, y = _breast_cancer()
    clf = xgb.XGBClassifier(
        n_estimators=60, learning_rate=float(p["eta"]), reg_alpha=float(p["alpha"]),
        max_depth=int(p["max_depth"]), min_child_weight=float(p["min_child_weight"]),
        n_jobs=1, verbosity=0, tree_method="hist",
    )
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    return -float(np.mean(cross_val_score(clf, x, y, cv=cv, scoring="roc_auc")))


PROBLEMS: dict[str, Problem] = {
    "branin": Problem(
        "branin", branin,
        SearchSpace({"x1": ContinuousParameter(-5.0, 10.0, "Linear"),
                     "x2": ContinuousParameter(0.0, 15.0, "Linear")}),
        optimum=0.397887,
    ),
    "hartmann6": Problem(
        "hartmann6", hartmann6,
        SearchSpace({f"x{i}": ContinuousParameter(0.0, 1.0, "Linear") for i in range(6)}),
        optimum=-3.32237,
    ),
    "xgb_breast_cancer_auc": Problem(
        "xgb_breast_cancer_auc", xgb_breast_cancer_auc,
        SearchSpace({"eta": ContinuousParameter(0.001, 1.0, "Logarithmic"),
                     "alpha": ContinuousParameter(1e-4, 10.0, "Logarithmic"),
                     "max_depth": IntegerParameter(1, 10, "Linear"),
                     "min_child_weight": ContinuousParameter(0.1, 20.0, "Logarithmic")}),
        optimum=None,
        default_seeds=5,  # a job costs ~0.1-0.5 s; 5 seeds keep a full run short
    ),
}
