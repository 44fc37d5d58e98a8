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
"""

from __future__ import annotations

import numpy as np

from sagetune.strategies.gp import GaussianProcess, warp_values

LARGE_N = 512  # from this many observations with values on, the model is local_model's
SUBSET_SIZE = 384  # observations the model is conditioned on
N_LOCAL = 256  # of which: nearest the centre
N_BEST = 32  # lowest values anywhere; the rest is a uniform sample
N_FIT = 128  # nearest the centre: the kernel hyperparameters are fitted on these
N_CENTRES = 16  # best observations considered as the centre
_K_SMOOTH = 8  # neighbours averaged when scoring a candidate centre


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
        y: their warped values, shape ``(n,)``.
        rng: source of the subset's uniform part and of the fit's random restarts.

    Returns:
        A conditioned GP whose ``x`` and ``y`` are the subset (values re-standardised on it).
    """
    idx = model_subset(x, y, rng)
    xs, ys = x[idx], warp_values(y[idx])
    # The subset is nearest-first, so the first N_FIT rows are the centre's neighbourhood.
    hyper = GaussianProcess.fit(xs[:N_FIT], ys[:N_FIT], rng, n_restarts=0).hyper
    return GaussianProcess(xs, ys, hyper)
