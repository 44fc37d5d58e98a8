"""Hyperparameter importance by functional ANOVA on a random forest (fANOVA).

As in Hutter, Hoos and Leyton-Brown (2014), and Optuna's default importance evaluator: a
random forest (scikit-learn's) is fitted to the objective over the search space scaled to the
unit cube; for each tree, the variance of its prediction over the whole space (uniform
measure) is split into the parts explained by each hyperparameter alone: the variance of the
tree's marginal prediction along that hyperparameter, averaged over all the others. A
hyperparameter's importance is its share of the tree's variance, averaged over the trees; the
spread across trees is its uncertainty. The shares are normalised to sum to 1 (as Optuna
reports them); what interactions explain is left out of every share.

The marginal of one tree along one axis is computed in one walk of the tree: a leaf adds its
value, weighted by the fraction of the other axes its cell covers, to every interval of the
axis the cell spans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_TREES = 64
MAX_DEPTH = 64
MIN_SAMPLES_LEAF = 1
MAX_ROWS = 500  # jobs used at most (a seeded sample of larger tuning jobs)
# The method in one line, as the importance plots name it.
SHORT_DESCRIPTION = (
    f"fANOVA on a random forest ({N_TREES} trees): each hyperparameter's share of the "
    "variance it explains alone"
)


@dataclass(frozen=True)
class Importance:
    """Per column of the inputs: the mean share of variance and its spread across trees."""

    mean: np.ndarray
    std: np.ndarray


def fanova(x: np.ndarray, y: np.ndarray, n_trees: int = N_TREES, seed: int = 0) -> Importance:
    """fANOVA importance of each column of ``x`` (values in [0, 1]) for ``y``.

    Returns all zeros when ``y`` is constant or there are fewer than 2 rows.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, d = x.shape
    if n < 2 or d == 0 or np.ptp(y) == 0:
        return Importance(np.zeros(d), np.zeros(d))
    from sklearn.ensemble import RandomForestRegressor

    if n > MAX_ROWS:  # the forest and its walk grow with the rows; a sample tells as much
        keep = np.sort(np.random.default_rng(seed).choice(n, MAX_ROWS, replace=False))
        x, y = x[keep], y[keep]

    forest = RandomForestRegressor(
        n_estimators=n_trees,
        max_depth=MAX_DEPTH,
        min_samples_leaf=MIN_SAMPLES_LEAF,
        max_features=1.0,
        bootstrap=True,
        random_state=seed,
        n_jobs=1,
    ).fit(x, y)
    shares = []
    for estimator in forest.estimators_:
        share = _tree_shares(estimator.tree_, d)
        if share is not None:
            shares.append(share)
    if not shares:
        return Importance(np.zeros(d), np.zeros(d))
    per_tree = np.array(shares)
    totals = per_tree.sum(axis=1, keepdims=True)
    normalised = np.divide(per_tree, totals, out=np.zeros_like(per_tree), where=totals > 0)
    return Importance(normalised.mean(axis=0), normalised.std(axis=0))


def _tree_shares(tree: object, d: int) -> np.ndarray | None:
    """Each axis's share of one tree's variance over the unit cube (None: a constant tree)."""
    left = tree.children_left  # type: ignore[attr-defined]
    right = tree.children_right  # type: ignore[attr-defined]
    feature = tree.feature  # type: ignore[attr-defined]
    threshold = np.clip(tree.threshold, 0.0, 1.0)  # type: ignore[attr-defined]
    value = tree.value[:, 0, 0]  # type: ignore[attr-defined]

    # Every node's cell, a level of the tree at a time; the leaves' cells and volumes give
    # the tree's mean and variance.
    n_nodes = len(left)
    lo, hi = np.zeros((n_nodes, d)), np.ones((n_nodes, d))
    frontier = np.array([0])
    while frontier.size:
        inner = frontier[left[frontier] != -1]
        if not inner.size:
            break
        f = feature[inner]
        cut = np.clip(threshold[inner], lo[inner, f], hi[inner, f])
        below, above = left[inner], right[inner]
        lo[below], hi[below] = lo[inner], hi[inner]
        lo[above], hi[above] = lo[inner], hi[inner]
        hi[below, f] = cut
        lo[above, f] = cut
        frontier = np.concatenate((below, above))
    is_leaf = left == -1
    los, his, values = lo[is_leaf], hi[is_leaf], value[is_leaf]
    volume = np.prod(his - los, axis=1)
    total = float(volume.sum())
    if total <= 0:
        return None
    mean = float(np.dot(volume, values) / total)
    variance = float(np.dot(volume, (values - mean) ** 2) / total)
    if variance <= 1e-300:
        return None

    shares = np.zeros(d)
    for axis in range(d):
        cuts = np.unique(np.concatenate(([0.0, 1.0], threshold[feature == axis])))
        widths = np.diff(cuts)
        span = his[:, axis] - los[:, axis]
        used = span > 0
        # A cell covers [lo, hi) of this axis; per unit of it, its weight over the other axes.
        # Added to every interval it spans at once, through a difference array.
        start = np.searchsorted(cuts, los[used, axis])
        stop = np.searchsorted(cuts, his[used, axis])
        weight = values[used] * volume[used] / span[used]
        steps = np.zeros(len(cuts))
        np.add.at(steps, start, weight)
        np.add.at(steps, stop, -weight)
        marginal = np.cumsum(steps)[:-1]
        shares[axis] = float(np.dot(widths, (marginal - mean) ** 2)) / variance
    return shares
