"""The Bayesian strategy's model past :data:`LARGE_N` observations: a GP on a local subset.

A GP conditioned on all of n observations costs O(n^3) to factor and O(n) per predicted point
(more than a second per suggestion at a few thousand jobs, minutes at ten thousand). Past
:data:`LARGE_N` observations with values, the model is fitted and conditioned on
:data:`SUBSET_SIZE` of them instead (a subset-of-data GP kept local, as trust-region BO, TuRBO,
keeps its model local), so a suggestion costs the same at 1,000 jobs as at 10,000:

- the :data:`N_LOCAL` observations nearest the *centre*: of the :data:`N_CENTRES` best observed
  values, the one whose neighbourhood is best on average (so one lucky draw of a noisy
  objective does not pull the model to it);
- the :data:`N_BEST` lowest values anywhere (other good basins stay in view);
- a seeded uniform sample of the rest: the global trend, so that the model still knows where
  little has been tried and exploring goes on.

With thousands of observations the neighbourhood is dense, so the local model resolves the
basin far more finely than a global sample of the same size would; its kernel
hyperparameters are fitted on the :data:`N_FIT` observations nearest the centre, so its length
scales and noise are the basin's. Everything else (acquisition, pending jobs, categoricals,
no repeats) is the Bayesian strategy's as below ``LARGE_N``. Pure: the same data and generator
give the same model.

A local model refines one basin; with thousands of jobs it can stay in a poor one for good.
So, once there are ``LARGE_N`` values, the search restarts when it stalls, as TuRBO restarts
a trust region that has shrunk away: :func:`restart_point` cuts the history (in creation
order) into *epochs*, a new one beginning after ``patience`` values without improving on the
current one's best, and the Bayesian strategy models only the current epoch's observations
(a fresh Sobol design first, with a new scramble per epoch). The tuning job's best is still
the best of all epochs, and nothing tried is suggested again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sagetune.strategies.gp import GaussianProcess, gp_targets

LARGE_N = 512  # from this many observations with values on, the model is local_model's
SUBSET_SIZE = 384  # observations the model is conditioned on
N_LOCAL = 256  # of which: nearest the centre
N_BEST = 32  # lowest values anywhere; the rest is a uniform sample
N_FIT = 128  # nearest the centre: the kernel hyperparameters are fitted on these
N_CENTRES = 16  # best observations considered as the centre
_K_SMOOTH = 8  # neighbours averaged when scoring a candidate centre
RESTART_TOL = 1e-3  # an improvement beats the epoch's best by this share of its value range


def restart_patience(d: int) -> int:
    """Values without improvement after which an epoch ends, for ``d`` tuned ranges."""
    return max(256, 16 * d)


def restart_point(y: Sequence[float], patience: int) -> tuple[int, int]:
    """The current epoch of a history of values, and the index of its first value.

    An epoch starts with its first value; a later value improves it when it is below the
    epoch's best by more than :data:`RESTART_TOL` of the epoch's value range so far; after
    ``patience`` values in a row that do not, the next value starts a new epoch.

    Args:
        y: values to minimise, in creation order.
        patience: values without improvement that end an epoch.

    Returns:
        ``(epoch, start)``: the number of epochs before the current one, and the index in
        ``y`` where the current one starts (``len(y)`` when it has no value yet).
    """
    epoch = start = last = 0
    best = lo = hi = 0.0
    for t, v in enumerate(map(float, y)):  # plain floats: a tight loop
        if t == start:
            best = lo = hi = v
            last = t
            continue
        if v < best - RESTART_TOL * (hi - lo):
            best, last = v, t
        lo, hi = min(lo, v), max(hi, v)
        if t - last >= patience:
            epoch, start = epoch + 1, t + 1
    return epoch, start


def model_subset(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of the observations the local model is conditioned on, nearest the centre first.

    Args:
        x: encoded observations on the unit cube, shape ``(n, d)``.
        y: their (warped) values to minimise, shape ``(n,)``.
        rng: source of the uniform part of the subset.

    Returns:
        ``min(n, SUBSET_SIZE)`` distinct indices: the ``N_LOCAL`` nearest the centre in order
        of distance, then the best and the uniform sample in index order.
    """
    n = len(y)
    order = np.argsort(y, kind="stable")
    sq = (x * x).sum(1)
    tops = order[: min(N_CENTRES, n)]
    d2 = sq[tops][:, None] + sq[None, :] - 2.0 * x[tops] @ x.T  # (centres, n)
    k = min(_K_SMOOTH, n - 1)
    near = np.argpartition(d2, k, axis=1)[:, : k + 1]
    # Stable tie-break (the lowest index) so the choice does not depend on the platform.
    c = int(np.argmin(y[near].mean(1)))
    local = np.argsort(d2[c], kind="stable")[: min(N_LOCAL, n)]
    chosen = np.zeros(n, dtype=bool)
    chosen[local] = True
    chosen[order[:N_BEST]] = True
    rest = np.flatnonzero(~chosen)
    extra = rng.choice(rest, size=min(len(rest), SUBSET_SIZE - int(chosen.sum())), replace=False)
    chosen[local] = False
    others = np.flatnonzero(chosen)
    return np.concatenate([local, others, np.sort(extra)])


def local_model(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> GaussianProcess:
    """The GP on :func:`model_subset`'s observations, hyperparameters fitted near the centre.

    Args:
        x: encoded observations on the unit cube, shape ``(n, d)``.
        y: their values as the GP models them (:func:`~.gp.gp_targets`), shape ``(n,)``.
        rng: source of the subset's uniform part and of the fit's random restarts.

    Returns:
        A conditioned GP whose ``x`` and ``y`` are the subset (values re-warped on it).
    """
    idx = model_subset(x, y, rng)
    xs, ys = x[idx], gp_targets(y[idx])
    # The subset is nearest-first, so the first N_FIT rows are the centre's neighbourhood.
    hyper = GaussianProcess.fit(xs[:N_FIT], ys[:N_FIT], rng, n_restarts=0).hyper
    return GaussianProcess(xs, ys, hyper)
