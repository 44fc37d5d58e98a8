"""Benchmark problems: standard test functions, synthetic tuning-shaped spaces and real tasks.

Every objective takes a dict of hyperparameters and returns a value to MINIMISE, as sagetune's
strategies see it (the AUC and accuracy problems return ``-AUC`` / ``-accuracy``).

The suite covers: low-dimensional smooth (Branin), multimodal (Ackley 5-D and 8-D, Levy 4-D,
Hartmann6, Shekel 4-D, Michalewicz 5-D, Styblinski-Tang 5-D, Rastrigin 5-D), 10-25
dimensional with few active ranges (Rosenbrock 10-D, Hartmann6 in 20-D, Branin in 25-D),
log-scaled "learning-rate" ranges (``lr_sgd``), mixed integer/categorical spaces
(``mixed_net``, ``lr_optimizer``), noisy objectives (``noisy_hartmann6``,
``noisy_branin_in25``) and four real tuning tasks on data sets bundled with scikit-learn
(XGBoost, SVM, histogram gradient boosting, MLP; nothing downloaded).

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
- Ackley (5-D on ``[-32.768, 32.768]``, minimum 0 at the origin) and Levy (4-D on
  ``[-10, 10]``, minimum 0 at ``(1, ..., 1)``), as in the Virtual Library of Simulation
  Experiments (https://www.sfu.ca/~ssurjano/ackley.html, .../levy.html).
- Rosenbrock 10-D on ``[-5, 10]`` (minimum 0 at ``(1, ..., 1)``; values span ten orders of
  magnitude, which tests output warping).
- ``hartmann6_in20``: Hartmann6 on six of twenty ``[0, 1]`` ranges; the other fourteen do
  nothing (tests learned relevance per range in 20-D).
- ``lr_sgd``: a synthetic validation loss over SGD-style ranges, four of them logarithmic
  (learning rate, weight decay, batch size, warm-up), with momentum on a linear range. The best
  effective learning rate ``lr / (1 - momentum)`` grows with the batch size, and above a
  threshold training "diverges" to a flat loss of 5. Minimum 0.3.
- ``mixed_net``: a synthetic network-tuning loss over a logarithmic learning rate, integer
  layers and (logarithmic) units, dropout, and two categoricals (optimiser, activation) whose
  values shift both the loss and the best learning rate. Minimum 0.
- ``noisy_hartmann6``: Hartmann6 observed with Gaussian noise of standard deviation 0.1; the
  benchmark scores a run by the TRUE value of the configuration with the best observed value
  (what a user would deploy).
- ``svm_digits``: minus the 3-fold CV accuracy of an RBF SVM on scikit-learn's digits
  (``C`` and ``gamma`` logarithmic).
- ``hgb_diabetes``: 3-fold CV mean squared error (divided by 1000) of scikit-learn's
  ``HistGradientBoostingRegressor`` on the bundled diabetes data, five ranges (learning rate,
  leaves, minimum leaf size, L2 penalty, feature fraction), integers and logarithmic ranges.
- ``branin_in25``: Branin on two of twenty-five ``[0, 1]`` ranges (rescaled to its box); the
  other twenty-three do nothing (few active ranges among many, minimum 0.397887).
  ``noisy_branin_in25`` observes it with Gaussian noise of standard deviation 1.
- Shekel 4-D (``m = 10``) on ``[0, 10]^4``, minimum -10.536443 near (4, 4, 4, 4), with nine other
  narrow basins (Shekel 1971; https://www.sfu.ca/~ssurjano/shekel.html).
- Michalewicz 5-D (``m = 10``) on ``[0, pi]^5``, minimum -4.687658, steep ridges and ``d!``
  local minima (Michalewicz 1992; https://www.sfu.ca/~ssurjano/michal.html).
- Styblinski-Tang 5-D on ``[-5, 5]^5``, minimum -39.16617 per dimension at -2.903534, with a
  second basin per dimension near 2.75 (Styblinski & Tang 1990;
  https://www.sfu.ca/~ssurjano/stybtang.html).
- Rastrigin 5-D on ``[-5.12, 5.12]^5``, minimum 0 at the origin, a regular grid of local
  minima (Rastrigin 1974; https://www.sfu.ca/~ssurjano/rastr.html).
- Ackley 8-D, as Ackley 5-D in eight dimensions.
- ``ackley5_off``, ``ackley8_off`` and ``rastrigin5_off``: the same functions on boxes of the
  same widths moved off the origin (``[-20, 45.536]``, ``[-3.5, 6.74]``), so that the optimum
  is not at the box's centre, which some methods try first (Ax's first trial is the centre).
- ``lr_optimizer``: a synthetic loss over a logarithmic learning rate and weight decay, an
  integer (logarithmic) batch size and an optimiser choice. SGD has a broad, easy basin 0.18
  above the optimum; Adam's basin is the best but narrow and at a learning rate a hundred
  times smaller, and each optimiser diverges (a flat loss of 1.5) above its own threshold, so
  a search that settles on SGD's learning rates never sees Adam at its best. Minimum 0.
- ``mlp_digits``: minus the validation accuracy (one seeded 70/30 split) of scikit-learn's
  ``MLPClassifier`` (one hidden layer, 15 epochs) on the bundled digits, tuning the units,
  the L2 penalty, the initial learning rate (logarithmic) and the solver (``adam`` or
  ``sgd``, whose best learning rates differ by orders of magnitude).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from sagetune.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    SearchSpace,
)

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
        noise_sd: standard deviation of Gaussian noise added to each observed value (the
            objective itself stays noiseless, and is used to score the chosen configuration).
    """

    name: str
    objective: Objective
    space: SearchSpace
    optimum: float | None = None
    default_seeds: int | None = None
    noise_sd: float = 0.0


def branin(p: Mapping[str, Any]) -> float:
    """Branin-Hoo function (minimum 0.397887)."""
    x1, x2 = float(p["x1"]), float(p["x2"])
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


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
    return xgb_auc(p, n_estimators=60, folds_seed=0)


def xgb_auc(p: Mapping[str, Any], n_estimators: int, folds_seed: int) -> float:
    """Minus the 3-fold CV ROC AUC of ``n_estimators`` XGBoost trees on breast_cancer."""
    # Imported here so that the synthetic problems need neither xgboost nor scikit-learn.
    import xgboost as xgb
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x, y = _breast_cancer()
    clf = xgb.XGBClassifier(
        n_estimators=n_estimators,
        learning_rate=float(p["eta"]),
        reg_alpha=float(p["alpha"]),
        max_depth=int(p["max_depth"]),
        min_child_weight=float(p["min_child_weight"]),
        n_jobs=1,
        verbosity=0,
        tree_method="hist",
    )
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=folds_seed)
    return -float(np.mean(cross_val_score(clf, x, y, cv=cv, scoring="roc_auc")))


def ackley(p: Mapping[str, Any]) -> float:
    """Ackley function in as many dimensions as ranges (minimum 0 at the origin)."""
    x = np.array([float(v) for v in p.values()])
    a, b, c = 20.0, 0.2, 2.0 * math.pi
    return float(
        -a * math.exp(-b * math.sqrt(np.mean(x * x)))
        - math.exp(np.mean(np.cos(c * x)))
        + a
        + math.e
    )


def levy(p: Mapping[str, Any]) -> float:
    """Levy function in as many dimensions as ranges (minimum 0 at (1, ..., 1))."""
    w = 1.0 + (np.array([float(v) for v in p.values()]) - 1.0) / 4.0
    core = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:-1] + 1) ** 2))
    return float(
        np.sin(np.pi * w[0]) ** 2 + core + (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2)
    )


def rosenbrock(p: Mapping[str, Any]) -> float:
    """Rosenbrock function in as many dimensions as ranges (minimum 0 at (1, ..., 1))."""
    x = np.array([float(v) for v in p.values()])
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


_H6_IN20 = (3, 7, 9, 12, 15, 18)  # the ranges that matter; the rest are ignored


def hartmann6_in20(p: Mapping[str, Any]) -> float:
    """Hartmann6 of six of twenty ranges (minimum -3.32237)."""
    return hartmann6({f"x{i}": p[f"x{j}"] for i, j in enumerate(_H6_IN20)})


def lr_sgd(p: Mapping[str, Any]) -> float:
    """Synthetic validation loss of SGD training (minimum 0.3); see the module docstring."""
    lr, mom = float(p["lr"]), float(p["momentum"])
    log_eff = math.log10(lr / (1.0 - mom))
    log_bs = math.log2(int(p["batch_size"]))
    best_eff = -2.0 + 0.3 * (log_bs - 6.0)  # larger batches take larger steps
    if log_eff > best_eff + 1.5:
        return 5.0  # diverged
    return (
        0.3
        + 0.15 * (log_eff - best_eff) ** 2
        + 0.04 * (math.log10(float(p["weight_decay"])) + 4.0) ** 2
        + 0.01 * (log_bs - 7.0) ** 2
        + 0.05 * (math.log10(float(p["warmup"])) - 2.0) ** 2 * (1.0 + max(log_eff + 2, 0))
    )


_OPT_SHIFT = {
    "adam": (0.0, -3.0),
    "rmsprop": (0.1, -3.5),
    "sgd": (0.25, -1.0),
    "adagrad": (0.45, -2.0),
}  # optimiser -> (loss offset, best log10 lr)
_ACT_SHIFT = {"relu": 0.0, "tanh": 0.15, "sigmoid": 0.4}


def mixed_net(p: Mapping[str, Any]) -> float:
    """Synthetic network loss over mixed ranges (minimum 0); see the module docstring."""
    offset, best_lr = _OPT_SHIFT[str(p["optimizer"])]
    act = str(p["activation"])
    layers = int(p["layers"])
    deep_penalty = 2.0 if act == "sigmoid" else 1.0  # vanishing gradients
    return (
        offset
        + _ACT_SHIFT[act]
        + 0.3 * (math.log10(float(p["lr"])) - best_lr) ** 2
        + 0.05 * deep_penalty * (layers - 3) ** 2
        + 0.04 * (math.log2(int(p["units"])) - 8.0) ** 2
        + 2.0 * (float(p["dropout"]) - 0.1 * (layers - 1)) ** 2
    )


@cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x / 16.0, y


def svm_digits(p: Mapping[str, Any]) -> float:
    """Minus the 3-fold CV accuracy of an RBF SVM on digits (seeded folds)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.svm import SVC

    x, y = _digits()
    clf = SVC(C=float(p["C"]), gamma=float(p["gamma"]))
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    return -float(np.mean(cross_val_score(clf, x, y, cv=cv)))


@cache
def _diabetes() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_diabetes

    return load_diabetes(return_X_y=True)


def hgb_diabetes(p: Mapping[str, Any]) -> float:
    """3-fold CV MSE / 1000 of HistGradientBoostingRegressor on diabetes (one thread)."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold, cross_val_score
    from threadpoolctl import threadpool_limits

    x, y = _diabetes()
    reg = HistGradientBoostingRegressor(
        learning_rate=float(p["learning_rate"]),
        max_leaf_nodes=int(p["max_leaf_nodes"]),
        min_samples_leaf=int(p["min_samples_leaf"]),
        l2_regularization=float(p["l2_regularization"]),
        max_features=float(p["max_features"]),
        max_iter=100,
        early_stopping=False,
        random_state=0,
    )
    cv = KFold(n_splits=3, shuffle=True, random_state=0)
    with threadpool_limits(1):  # deterministic and fair under parallel runs
        mse = -np.mean(cross_val_score(reg, x, y, cv=cv, scoring="neg_mean_squared_error"))
    return float(mse) / 1000.0


_BRANIN_IN25 = (4, 17)  # the two ranges that matter, as (x1, x2); the rest are ignored


def branin_in25(p: Mapping[str, Any]) -> float:
    """Branin of two of twenty-five unit ranges, rescaled to its box (minimum 0.397887)."""
    u1, u2 = (float(p[f"x{j}"]) for j in _BRANIN_IN25)
    return branin({"x1": -5.0 + 15.0 * u1, "x2": 15.0 * u2})


_SHEKEL_BETA = 0.1 * np.array([1, 2, 2, 4, 4, 6, 3, 7, 5, 5], dtype=float)
_SHEKEL_C = np.array(
    [
        [4.0, 1.0, 8.0, 6.0, 3.0, 2.0, 5.0, 8.0, 6.0, 7.0],
        [4.0, 1.0, 8.0, 6.0, 7.0, 9.0, 3.0, 1.0, 2.0, 3.6],
        [4.0, 1.0, 8.0, 6.0, 3.0, 2.0, 5.0, 8.0, 6.0, 7.0],
        [4.0, 1.0, 8.0, 6.0, 7.0, 9.0, 3.0, 1.0, 2.0, 3.6],
    ]
)


def shekel(p: Mapping[str, Any]) -> float:
    """Shekel function with m = 10 in 4-D (minimum -10.536443 near (4, 4, 4, 4))."""
    x = np.array([float(v) for v in p.values()])
    return float(-np.sum(1.0 / (np.sum((x[:, None] - _SHEKEL_C) ** 2, axis=0) + _SHEKEL_BETA)))


def michalewicz(p: Mapping[str, Any]) -> float:
    """Michalewicz function (m = 10) in as many dimensions as ranges (5-D minimum -4.687658)."""
    x = np.array([float(v) for v in p.values()])
    i = np.arange(1, len(x) + 1)
    return float(-np.sum(np.sin(x) * np.sin(i * x * x / math.pi) ** 20))


def styblinski_tang(p: Mapping[str, Any]) -> float:
    """Styblinski-Tang function (minimum -39.16617 per dimension at -2.903534)."""
    x = np.array([float(v) for v in p.values()])
    return float(0.5 * np.sum(x**4 - 16.0 * x**2 + 5.0 * x))


def rastrigin(p: Mapping[str, Any]) -> float:
    """Rastrigin function in as many dimensions as ranges (minimum 0 at the origin)."""
    x = np.array([float(v) for v in p.values()])
    return float(10.0 * len(x) + np.sum(x * x - 10.0 * np.cos(2.0 * math.pi * x)))


_LR_OPT = {
    "sgd": (0.18, -1.0, 0.15),
    "adam": (0.0, -3.3, 1.2),
    "rmsprop": (0.08, -3.8, 0.8),
    "adagrad": (0.3, -1.7, 0.3),
}  # optimiser -> (loss offset, best log10 lr at batch 64, curvature in log10 lr)


def lr_optimizer(p: Mapping[str, Any]) -> float:
    """Synthetic loss of a learning rate and an optimiser choice (minimum 0); see above."""
    offset, best, curv = _LR_OPT[str(p["optimizer"])]
    log_bs = math.log2(int(p["batch_size"]))
    best += 0.15 * (log_bs - 6.0)  # larger batches take larger steps
    log_lr = math.log10(float(p["lr"]))
    if log_lr > best + 1.2:
        return 1.5  # diverged
    return (
        offset
        + curv * (log_lr - best) ** 2
        + 0.03 * (math.log10(float(p["weight_decay"])) + 4.0) ** 2
        + 0.01 * (log_bs - 6.0) ** 2
    )


def mlp_digits(p: Mapping[str, Any]) -> float:
    """Minus the validation accuracy of a one-layer MLP on digits (15 epochs, seeded split)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    x, y = _digits()
    # One seeded split rather than cross-validation keeps a job near a tenth of a second.
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    clf = MLPClassifier(
        hidden_layer_sizes=(int(p["units"]),),
        alpha=float(p["alpha"]),
        learning_rate_init=float(p["learning_rate_init"]),
        solver=str(p["solver"]),
        batch_size=128,
        max_iter=15,
        random_state=0,
    )
    # Fifteen epochs rarely converge: that is the budget, not a fault worth a warning.
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_tr, y_tr)
    return -float(clf.score(x_va, y_va))


def _box(names: list[str], lo: float, hi: float) -> SearchSpace:
    return SearchSpace({n: ContinuousParameter(lo, hi, "Linear") for n in names})


PROBLEMS: dict[str, Problem] = {
    "branin": Problem(
        "branin",
        branin,
        SearchSpace(
            {
                "x1": ContinuousParameter(-5.0, 10.0, "Linear"),
                "x2": ContinuousParameter(0.0, 15.0, "Linear"),
            }
        ),
        optimum=0.397887,
    ),
    "hartmann6": Problem(
        "hartmann6",
        hartmann6,
        SearchSpace({f"x{i}": ContinuousParameter(0.0, 1.0, "Linear") for i in range(6)}),
        optimum=-3.32237,
    ),
    "xgb_breast_cancer_auc": Problem(
        "xgb_breast_cancer_auc",
        xgb_breast_cancer_auc,
        SearchSpace(
            {
                "eta": ContinuousParameter(0.001, 1.0, "Logarithmic"),
                "alpha": ContinuousParameter(1e-4, 10.0, "Logarithmic"),
                "max_depth": IntegerParameter(1, 10, "Linear"),
                "min_child_weight": ContinuousParameter(0.1, 20.0, "Logarithmic"),
            }
        ),
        optimum=None,
    ),
    "ackley5": Problem(
        "ackley5", ackley, _box([f"x{i}" for i in range(5)], -32.768, 32.768), optimum=0.0
    ),
    "levy4": Problem("levy4", levy, _box([f"x{i}" for i in range(4)], -10.0, 10.0), optimum=0.0),
    "rosenbrock10": Problem(
        "rosenbrock10", rosenbrock, _box([f"x{i}" for i in range(10)], -5.0, 10.0), optimum=0.0
    ),
    "hartmann6_in20": Problem(
        "hartmann6_in20",
        hartmann6_in20,
        _box([f"x{i}" for i in range(20)], 0.0, 1.0),
        optimum=-3.32237,
    ),
    "lr_sgd": Problem(
        "lr_sgd",
        lr_sgd,
        SearchSpace(
            {
                "lr": ContinuousParameter(1e-6, 1.0, "Logarithmic"),
                "momentum": ContinuousParameter(0.0, 0.99, "Linear"),
                "weight_decay": ContinuousParameter(1e-7, 1e-1, "Logarithmic"),
                "batch_size": IntegerParameter(8, 1024, "Logarithmic"),
                "warmup": ContinuousParameter(1.0, 1e4, "Logarithmic"),
            }
        ),
        optimum=0.3,
    ),
    "mixed_net": Problem(
        "mixed_net",
        mixed_net,
        SearchSpace(
            {
                "lr": ContinuousParameter(1e-5, 1.0, "Logarithmic"),
                "layers": IntegerParameter(1, 8, "Linear"),
                "units": IntegerParameter(16, 1024, "Logarithmic"),
                "dropout": ContinuousParameter(0.0, 0.8, "Linear"),
                "optimizer": CategoricalParameter(["sgd", "adam", "rmsprop", "adagrad"]),
                "activation": CategoricalParameter(["relu", "tanh", "sigmoid"]),
            }
        ),
        optimum=0.0,
    ),
    "noisy_hartmann6": Problem(
        "noisy_hartmann6",
        hartmann6,
        SearchSpace({f"x{i}": ContinuousParameter(0.0, 1.0, "Linear") for i in range(6)}),
        optimum=-3.32237,
        noise_sd=0.1,
    ),
    "svm_digits": Problem(
        "svm_digits",
        svm_digits,
        SearchSpace(
            {
                "C": ContinuousParameter(1e-3, 1e3, "Logarithmic"),
                "gamma": ContinuousParameter(1e-6, 1.0, "Logarithmic"),
            }
        ),
        optimum=None,
    ),
    "hgb_diabetes": Problem(
        "hgb_diabetes",
        hgb_diabetes,
        SearchSpace(
            {
                "learning_rate": ContinuousParameter(1e-3, 1.0, "Logarithmic"),
                "max_leaf_nodes": IntegerParameter(2, 128, "Logarithmic"),
                "min_samples_leaf": IntegerParameter(1, 100, "Logarithmic"),
                "l2_regularization": ContinuousParameter(1e-4, 100.0, "Logarithmic"),
                "max_features": ContinuousParameter(0.1, 1.0, "Linear"),
            }
        ),
        optimum=None,
    ),
    "branin_in25": Problem(
        "branin_in25",
        branin_in25,
        _box([f"x{i}" for i in range(25)], 0.0, 1.0),
        optimum=0.397887,
    ),
    "noisy_branin_in25": Problem(
        "noisy_branin_in25",
        branin_in25,
        _box([f"x{i}" for i in range(25)], 0.0, 1.0),
        optimum=0.397887,
        noise_sd=1.0,
    ),
    "shekel4": Problem(
        "shekel4", shekel, _box([f"x{i}" for i in range(4)], 0.0, 10.0), optimum=-10.5364432
    ),
    "michalewicz5": Problem(
        "michalewicz5",
        michalewicz,
        _box([f"x{i}" for i in range(5)], 0.0, math.pi),
        optimum=-4.6876582,
    ),
    "styblinski_tang5": Problem(
        "styblinski_tang5",
        styblinski_tang,
        _box([f"x{i}" for i in range(5)], -5.0, 5.0),
        optimum=-39.166166 * 5,
    ),
    "rastrigin5": Problem(
        "rastrigin5", rastrigin, _box([f"x{i}" for i in range(5)], -5.12, 5.12), optimum=0.0
    ),
    "ackley8": Problem(
        "ackley8", ackley, _box([f"x{i}" for i in range(8)], -32.768, 32.768), optimum=0.0
    ),
    "ackley5_off": Problem(
        "ackley5_off", ackley, _box([f"x{i}" for i in range(5)], -20.0, 45.536), optimum=0.0
    ),
    "ackley8_off": Problem(
        "ackley8_off", ackley, _box([f"x{i}" for i in range(8)], -20.0, 45.536), optimum=0.0
    ),
    "rastrigin5_off": Problem(
        "rastrigin5_off", rastrigin, _box([f"x{i}" for i in range(5)], -3.5, 6.74), optimum=0.0
    ),
    "lr_optimizer": Problem(
        "lr_optimizer",
        lr_optimizer,
        SearchSpace(
            {
                "lr": ContinuousParameter(1e-6, 1.0, "Logarithmic"),
                "weight_decay": ContinuousParameter(1e-7, 1e-1, "Logarithmic"),
                "batch_size": IntegerParameter(16, 512, "Logarithmic"),
                "optimizer": CategoricalParameter(["sgd", "adam", "rmsprop", "adagrad"]),
            }
        ),
        optimum=0.0,
    ),
    "mlp_digits": Problem(
        "mlp_digits",
        mlp_digits,
        SearchSpace(
            {
                "units": IntegerParameter(8, 64, "Logarithmic"),
                "alpha": ContinuousParameter(1e-6, 1.0, "Logarithmic"),
                "learning_rate_init": ContinuousParameter(1e-5, 1.0, "Logarithmic"),
                "solver": CategoricalParameter(["sgd", "adam"]),
            }
        ),
        optimum=None,
    ),
}
