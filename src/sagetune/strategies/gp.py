"""Gaussian-process regression and expected improvement on the unit cube (numpy/scipy only).

The pieces the Bayesian strategy is built from, independent of tuning jobs:

- :func:`warp_values`: a rank-preserving, outlier-resistant transform of the objective
  (robust scaling, logarithmic tails, Yeo-Johnson power chosen by likelihood, standardisation),
  so that one terrible value does not flatten the model; :func:`gp_targets`: the warped values
  shifted so that the zero prior mean is a pessimistic one.
- :class:`GaussianProcess`: zero-mean GP with an ARD Matérn 5/2 kernel, signal and noise
  variance, fitted by maximising the log marginal likelihood plus weak log-normal priors on the
  log hyperparameters (L-BFGS-B with analytic gradients, a few restarts).
- :func:`log_expected_improvement` and :func:`maximize_log_ei`: log EI (stable far into the
  tail, where plain EI underflows to zero and gives no gradient), optionally augmented by the
  noise variance, and its multi-start L-BFGS-B maximiser over the free columns of given
  starting rows.

Values are minimised throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize, special

_SQRT5 = math.sqrt(5.0)
_LOG_2PI = math.log(2.0 * math.pi)
_JITTER = 1e-9

# Bounds and priors of the log hyperparameters (inputs on the unit cube, outputs standardised).
_LOG_LS_BOUNDS = (math.log(0.01), math.log(30.0))
_LOG_SIGNAL_BOUNDS = (math.log(0.01), math.log(100.0))
_LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(1.0))
_LS_PRIOR_SD = 1.0
_SIGNAL_PRIOR = (0.0, 1.0)
_NOISE_PRIOR = (math.log(1e-3), 2.0)
# The kernel fit keeps a table of per-pair squared differences for up to this many encoded
# columns: faster than matrix products up to about two dozen (measured at 100 and 256 points),
# slower and large beyond (one-hot categoricals can give hundreds).
_PAIR_TABLE_MAX_COLUMNS = 24
# The quantile of the warped values at which gp_targets puts the GP's zero prior mean.
PRIOR_MEAN_QUANTILE = 0.9


def _ls_prior_mean(dim: int) -> float:
    # Longer length scales in more dimensions, since distances on the unit cube grow with the
    # number of ranges; but slower than sqrt(dim): in tuning problems only a few of many ranges
    # usually matter, and with a few dozen jobs a prior that grows like sqrt(dim) keeps those
    # few too smooth for too long (20 ranges, 6 relevant: see BENCHMARKS.md).
    return math.log(0.5) + 0.35 * math.log(max(dim, 1))


# --------------------------------------------------------------------------- objective warping


def warp_values(y: np.ndarray, tail: float = 4.0) -> np.ndarray:
    """Rank-preserving transform of raw objective values to a roughly standard-normal scale.

    Steps: non-finite values become the worst finite value; robust scaling by median and
    interquartile range; beyond ``tail`` robust units the tails grow only logarithmically (so a
    value a million times worse than the rest is merely "bad"); a Yeo-Johnson power transform
    whose exponent maximises the normal likelihood; finally zero mean and unit variance.

    Args:
        y: raw values (to minimise), shape ``(n,)``.
        tail: robust z-score beyond which tails are compressed logarithmically.

    Returns:
        Transformed values, same order; all zeros when the values are (numerically) all equal.
    """
    y = np.asarray(y, dtype=float).copy()
    finite = np.isfinite(y)
    if not finite.any():
        return np.zeros_like(y)
    lo, hi = y[finite].min(), y[finite].max()
    y[np.isnan(y) | (y == np.inf)] = hi
    y[y == -np.inf] = lo
    med = float(np.median(y))
    q25, q75 = np.percentile(y, [25, 75])
    scale = (q75 - q25) / 1.349
    if not scale > 1e-12 * max(1.0, abs(med)):
        scale = float(np.std(y))
    if not scale > 1e-12 * max(1.0, abs(med)):
        return np.zeros_like(y)
    z = (y - med) / scale
    over = np.abs(z) > tail
    z[over] = np.sign(z[over]) * (tail + np.log1p(np.abs(z[over]) - tail))
    if len(z) >= 4:
        lambdas = np.linspace(-1.0, 3.0, 41)
        lam = float(lambdas[int(np.nanargmax(_yeojohnson_llf(lambdas, z)))])
        z = _yeojohnson(z, np.array([lam]))[0]
    sd = float(np.std(z))
    if not sd > 1e-12:
        return np.zeros_like(y)
    return (z - z.mean()) / sd


def gp_targets(y: np.ndarray, quantile: float = PRIOR_MEAN_QUANTILE) -> np.ndarray:
    """Targets for the zero-mean GP: :func:`warp_values` minus their ``quantile``.

    The GP's prior mean, which its predictions return to away from the data, is then that
    quantile of the values seen (the 90th: worse than nine in ten), not their average. With
    an average prior mean, an unexplored region promises an average value with the full
    prior variance, and expected improvement is largest where the data are farthest: the
    corners of the box, where 6-23 % of the jobs of a 40-job run had every range on a bound
    on 11 of 14 benchmark problems whose optima are inside (Ax's default: 0-6 %). With a
    pessimistic prior mean the model expects little from far away unless its trend says
    otherwise, and the search goes where the data point (BENCHMARKS.md, "Quality on the
    extended suite").

    Args:
        y: raw values (to minimise), shape ``(n,)``.
        quantile: which quantile of the warped values the prior mean is placed at.

    Returns:
        Warped values shifted by a constant, same order (all zeros when all are equal).
    """
    w = warp_values(y)
    return w - float(np.quantile(w, quantile))


def _yeojohnson(z: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """Yeo-Johnson transforms of ``z`` for every exponent at once, shape ``(len(lambdas), n)``."""
    lam = lambdas[:, None]
    pos = z >= 0
    out = np.empty((len(lambdas), len(z)))
    zp, zn = np.log1p(z[pos]), np.log1p(-z[~pos])
    near0, near2 = np.abs(lam) < 1e-12, np.abs(lam - 2.0) < 1e-12
    safe0, safe2 = np.where(near0, 1.0, lam), np.where(near2, 1.0, 2.0 - lam)
    out[:, pos] = np.where(near0, zp, np.expm1(lam * zp) / safe0)
    out[:, ~pos] = np.where(near2, -zn, -np.expm1((2.0 - lam) * zn) / safe2)
    return out


def _yeojohnson_llf(lambdas: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Normal log-likelihood of the Yeo-Johnson transform of ``z`` for each exponent (as
    :func:`scipy.stats.yeojohnson_llf`, vectorised: one call instead of one per exponent)."""
    var = _yeojohnson(z, lambdas).var(axis=1)
    jac = float((np.sign(z) * np.log1p(np.abs(z))).sum())
    with np.errstate(divide="ignore"):
        llf = -0.5 * len(z) * np.log(var) + (lambdas - 1.0) * jac
    return np.where(var > np.finfo(float).tiny, llf, np.inf)


# --------------------------------------------------------------------------- kernel


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between rows of already length-scaled inputs."""
    d2 = a @ b.T
    d2 *= -2.0
    d2 += (a * a).sum(1)[:, None]
    d2 += (b * b).sum(1)[None, :]
    return np.maximum(d2, 0.0, out=d2)


def _matern52_terms(d2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matérn 5/2 correlation from squared scaled distances ``r^2``, in place (``d2`` is
    consumed): returns ``(k, 1 + sqrt5 r, exp(-sqrt5 r))``, the last two for gradients.

    ``k = (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)``; one formula for the kernel fit, predictions
    and their gradients, so that they agree to the last bit.
    """
    s = np.sqrt(d2, out=d2)
    s *= _SQRT5  # sqrt5 r
    e = np.exp(-s)
    k = s * s
    k *= 1.0 / 3.0
    s += 1.0  # from here on: 1 + sqrt5 r
    k += s
    k *= e
    return k, s, e


@dataclass(frozen=True)
class GPHyperparameters:
    """Kernel hyperparameters: per-dimension length scales, signal and noise variances."""

    lengthscales: np.ndarray
    signal: float
    noise: float

    @classmethod
    def from_vector(cls, theta: np.ndarray) -> GPHyperparameters:
        return cls(np.exp(theta[:-2]), float(np.exp(theta[-2])), float(np.exp(theta[-1])))


class _Pairs:
    """The distinct pairs ``i < j`` of fixed inputs, prepared once per kernel fit.

    ``K`` is symmetric with ``s2 + noise`` on its diagonal, so the fit's objective needs the
    kernel only on the ``n(n-1)/2`` pairs below the diagonal: half the elementwise work of the
    full matrix. With few columns, the per-dimension squared differences of every pair are
    kept, so the scaled distances and the length-scale gradient sums are each one
    matrix-vector product. With many, that table (``n(n-1)/2 x d`` doubles) is slower than
    matrix products on ``x`` and large, so both are computed from ``x`` instead.
    """

    def __init__(self, x: np.ndarray, max_columns: int = _PAIR_TABLE_MAX_COLUMNS):
        n, d = x.shape
        self.n, self.d, self.x = n, d, x
        self.i, self.j = np.triu_indices(n, 1)
        self.flat = self.i * n + self.j  # positions in a C-ordered n x n buffer
        self.sq = np.square(x[self.i] - x[self.j]) if d <= max_columns else None
        # Filled on its upper triangle: the transpose, Fortran-ordered, is LAPACK's lower one.
        self.buffer = np.zeros((n, n))
        self.cells = self.buffer.ravel()  # a view: fancy assignment is ~10x faster than .flat

    def scaled_sqdist(self, inv_ls2: np.ndarray) -> np.ndarray:
        """Squared distances of the pairs with each dimension scaled by ``1 / ls^2``."""
        if self.sq is not None:
            return self.sq @ inv_ls2
        xs = self.x * np.sqrt(inv_ls2)
        return np.ravel(_sqdist(xs, xs))[self.flat]

    def weighted_sq_sums(self, a: np.ndarray) -> np.ndarray:
        """Per dimension, the sum over pairs of ``a_ij (x_i - x_j)^2``."""
        if self.sq is not None:
            return a @ self.sq
        # With F symmetric (F_ij = F_ji = a_ij, zero diagonal), the sum over i < j is
        # sum_i rowsum(F)_i x_i^2 - sum_i x_i (F x)_i, per dimension.
        f = np.zeros((self.n, self.n))
        np.ravel(f)[self.flat] = a
        f += f.T
        x = self.x
        return f.sum(1) @ (x * x) - (x * (f @ x)).sum(0)


def _neg_log_posterior(
    theta: np.ndarray, pairs: _Pairs, y: np.ndarray, ls_mu: float
) -> tuple[float, np.ndarray]:
    """Negative (log marginal likelihood + log prior) and its gradient in log space.

    The optimiser calls this a few dozen times per suggestion, so it computes the kernel on
    the pairs below the diagonal only and calls LAPACK directly (at 200 points scipy's
    wrappers and ``n x n`` temporaries would cost more than the factorisation).
    """
    n, dim = pairs.n, pairs.d
    inv_ls2 = np.exp(-2.0 * theta[:dim])
    s2, noise = math.exp(theta[dim]), math.exp(theta[dim + 1])
    k, sr, e = _matern52_terms(pairs.scaled_sqdist(inv_ls2))  # per pair; sr: 1 + sqrt5 r
    k *= s2
    pairs.cells[pairs.flat] = k
    pairs.cells[:: n + 1] = s2 + noise + _JITTER
    low, info = linalg.lapack.dpotrf(pairs.buffer.T, lower=1, clean=0)
    if info != 0:
        return 1e10, np.zeros_like(theta)
    alpha, _ = linalg.lapack.dpotrs(low, y, lower=1)
    lml = -0.5 * y @ alpha - np.log(np.diagonal(low)).sum() - 0.5 * n * _LOG_2PI
    kinv, info = linalg.lapack.dpotri(low, lower=1, overwrite_c=1)
    if info != 0:  # pragma: no cover - the factor came from a successful Cholesky
        return 1e10, np.zeros_like(theta)
    # W = alpha alpha^T - K^-1 on the pairs (K^-1's lower triangle is the transpose's upper);
    # each off-diagonal pair stands for two symmetric entries, hence no factor 1/2 below.
    w = alpha[pairs.i] * alpha[pairs.j]
    w -= np.ravel(kinv.T)[pairs.flat]
    tr_w = float(alpha @ alpha - np.diagonal(kinv).sum())
    g_s2 = float(w @ k) + 0.5 * s2 * tr_w
    g_noise = 0.5 * noise * tr_w
    # dK_ij/dlog(ls_d) = s2 * 5/3 (1 + sqrt5 r) exp(-sqrt5 r) * (dx_d / ls_d)^2.
    a = sr
    a *= e
    a *= w
    a *= s2 * 5.0 / 3.0
    g_ls = pairs.weighted_sq_sums(a) * inv_ls2
    grad = np.concatenate([g_ls, [g_s2, g_noise]])
    # Log-normal priors on the hyperparameters (normal on their logs).
    mus = np.concatenate([np.full(dim, ls_mu), [_SIGNAL_PRIOR[0], _NOISE_PRIOR[0]]])
    sds = np.concatenate([np.full(dim, _LS_PRIOR_SD), [_SIGNAL_PRIOR[1], _NOISE_PRIOR[1]]])
    dev = (theta - mus) / sds
    value = lml - 0.5 * float(dev @ dev)
    grad = grad - dev / sds
    if not np.isfinite(value):
        return 1e10, np.zeros_like(theta)
    return -float(value), -grad


# --------------------------------------------------------------------------- the model


class GaussianProcess:
    """A conditioned Gaussian process (zero prior mean on standardised values).

    Args:
        x: inputs on the unit cube, shape ``(n, d)``.
        y: targets (already warped/standardised), shape ``(n,)``.
        hyper: kernel hyperparameters.

    Attributes:
        fitted_mean: posterior mean at the rows of ``x``.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, hyper: GPHyperparameters):
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.hyper = hyper
        n = len(self.x)
        k = self._k(self.x, self.x)
        jitter = hyper.noise + _JITTER
        for _ in range(6):
            try:
                kk = k.copy()
                kk[np.diag_indices(n)] += jitter
                self._chol = linalg.cho_factor(kk, lower=True, check_finite=False)
                break
            except linalg.LinAlgError:
                jitter *= 10.0
        else:  # pragma: no cover - only for pathological inputs
            raise linalg.LinAlgError("kernel matrix is not positive definite")
        self._alpha = linalg.cho_solve(self._chol, self.y, check_finite=False)
        # Posterior mean at the inputs themselves: K_f alpha = (K - jitter I) alpha. O(n),
        # where predict(x) would cost a triangular solve with n right-hand sides.
        self.fitted_mean = self.y - jitter * self._alpha

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        rng: np.random.Generator,
        n_restarts: int = 2,
        maxiter: int = 150,
    ) -> GaussianProcess:
        """Fit hyperparameters by maximum a posteriori and return the conditioned GP.

        Args:
            x: inputs on the unit cube, shape ``(n, d)``.
            y: warped targets, shape ``(n,)``.
            rng: source of the random restarts (drawn from the priors).
            n_restarts: local optimisations besides the one from the prior means.
            maxiter: L-BFGS-B iteration cap per start.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        dim = x.shape[1]
        ls_mu = _ls_prior_mean(dim)
        bounds = [_LOG_LS_BOUNDS] * dim + [_LOG_SIGNAL_BOUNDS, _LOG_NOISE_BOUNDS]
        lo = np.array([b[0] for b in bounds])
        hi = np.array([b[1] for b in bounds])
        starts = [np.concatenate([np.full(dim, ls_mu), [0.0, math.log(1e-2)]])]
        for _ in range(n_restarts):
            starts.append(
                np.concatenate(
                    [
                        ls_mu + _LS_PRIOR_SD * rng.standard_normal(dim),
                        [rng.normal(*_SIGNAL_PRIOR) * 0.5, math.log(1e-3) + rng.normal() * 1.5],
                    ]
                )
            )
        best_theta, best_val = starts[0], np.inf
        pairs = _Pairs(x)
        for s in starts:
            res = optimize.minimize(
                _neg_log_posterior,
                np.clip(s, lo, hi),
                args=(pairs, y, ls_mu),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": maxiter},
            )
            if res.fun < best_val:
                best_theta, best_val = res.x, float(res.fun)
        return cls(x, y, GPHyperparameters.from_vector(np.clip(best_theta, lo, hi)))

    def _k(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ls = self.hyper.lengthscales
        k = _matern52_terms(_sqdist(a / ls, b / ls))[0]
        k *= self.hyper.signal
        return k

    def condition_on(self, x_new: np.ndarray, y_new: np.ndarray) -> GaussianProcess:
        """The same kernel conditioned on extra (e.g. imagined pending) points."""
        return GaussianProcess(
            np.vstack([self.x, x_new]), np.concatenate([self.y, y_new]), self.hyper
        )

    def predict(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the latent function at rows ``xs``."""
        xs = np.atleast_2d(xs)
        ks = self._k(xs, self.x)
        mean = ks @ self._alpha
        v = linalg.solve_triangular(self._chol[0], ks.T, lower=True, check_finite=False)
        var = self.hyper.signal - (v * v).sum(0)
        return mean, np.maximum(var, 1e-12)

    def predict_with_grad(
        self, xs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, variance and their gradients (shape ``(m, d)``) with respect to ``xs``."""
        xs = np.atleast_2d(xs)
        ls = self.hyper.lengthscales
        s2 = self.hyper.signal
        diff = xs[:, None, :] - self.x[None, :, :]  # (m, n, d)
        ks, sr, e = _matern52_terms(_sqdist(xs / ls, self.x / ls))
        ks *= s2
        # dk/dx_d = -s2 * 5/3 (1 + sqrt5 r) exp(-sqrt5 r) * dx_d / ls_d^2
        coef = sr * e
        coef *= -s2 * 5.0 / 3.0  # (m, n)
        dks = coef[:, :, None] * diff / (ls * ls)  # (m, n, d)
        mean = ks @ self._alpha
        dmean = np.einsum("mnd,n->md", dks, self._alpha)
        kinv_ks = linalg.cho_solve(self._chol, ks.T, check_finite=False).T  # (m, n)
        var = s2 - (ks * kinv_ks).sum(1)
        dvar = -2.0 * np.einsum("mnd,mn->md", dks, kinv_ks)
        small = var < 1e-12
        var = np.where(small, 1e-12, var)
        dvar[small] = 0.0
        return mean, var, dmean, dvar


# --------------------------------------------------------------------------- acquisition


def _log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z Phi(z))``, accurate for very negative ``z``."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    up = z > -1.0
    zu = z[up]
    out[up] = np.log(np.exp(-0.5 * zu * zu) / math.sqrt(2 * math.pi) + zu * special.ndtr(zu))
    zl = -z[~up]  # positive
    mid = zl < 1e4
    t = zl[mid] * math.sqrt(math.pi / 2.0) * special.erfcx(zl[mid] / math.sqrt(2.0))
    low = np.empty_like(zl)
    low[mid] = -0.5 * zl[mid] ** 2 - 0.5 * _LOG_2PI + np.log1p(-np.minimum(t, 1.0 - 1e-16))
    far = zl[~mid]
    low[~mid] = -0.5 * far**2 - 0.5 * _LOG_2PI - 2.0 * np.log(far)
    out[~up] = low
    return out


def log_expected_improvement(
    mean: np.ndarray, var: np.ndarray, best: float, noise: float = 0.0
) -> np.ndarray:
    """Log of the expected improvement below ``best`` of a normal ``N(mean, var)``.

    With ``noise`` (the observation noise variance) it is augmented expected improvement
    (Huang et al., 2006): EI times ``1 - sqrt(noise / (var + noise))``, which discounts points
    whose remaining uncertainty is mostly noise, so that a noisy or rugged region near the best
    point is not sampled over and over.
    """
    sd = np.sqrt(var)
    val = np.log(sd) + _log_h((best - mean) / sd)
    if noise > 0.0:
        val = val + np.log1p(-np.sqrt(noise / (var + noise)))
    return val


def _log_ei_and_grad(
    gp: GaussianProcess, xs: np.ndarray, best: float, noise: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    mean, var, dmean, dvar = gp.predict_with_grad(xs)
    sd = np.sqrt(var)
    z = (best - mean) / sd
    logh = _log_h(z)
    val = np.log(sd) + logh
    # d log h / dz = Phi(z) / h(z)
    dlogh = np.exp(special.log_ndtr(z) - logh)
    dsd = dvar / (2.0 * sd[:, None])
    dz = (-dmean - z[:, None] * dsd) / sd[:, None]
    grad = dsd / sd[:, None] + dlogh[:, None] * dz
    if noise > 0.0:
        # d/dvar log(1 - t), t = sqrt(noise / (var + noise)), is t / (2 (var + noise) (1 - t)).
        t = np.sqrt(noise / (var + noise))
        val = val + np.log1p(-t)
        grad = grad + (0.5 * t / ((var + noise) * (1.0 - t)))[:, None] * dvar
    return val, grad


def maximize_log_ei(
    gp: GaussianProcess,
    best: float,
    starts: np.ndarray,
    free: np.ndarray,
    maxiter: int = 60,
    noise: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Locally maximise log EI from each start row, moving only the ``free`` columns in [0, 1].

    The starts are optimised jointly (their objectives are independent, so the summed objective
    has a block gradient), which costs one optimiser run instead of one per start.

    Args:
        gp: the conditioned model.
        best: incumbent (lowest warped value observed).
        starts: rows to start from, shape ``(k, d)``; columns outside ``free`` stay as given.
        free: boolean mask of the columns to optimise.
        maxiter: L-BFGS-B iteration cap.
        noise: observation noise variance for augmented EI (0: plain EI).

    Returns:
        ``(rows, log_ei)`` of the optimised points, in the order of ``starts``.
    """
    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    k = len(starts)
    idx = np.flatnonzero(free)
    if len(idx) == 0 or k == 0:
        mean, var = gp.predict(starts)
        return starts, log_expected_improvement(mean, var, best, noise)

    def f(flat: np.ndarray) -> tuple[float, np.ndarray]:
        rows = starts.copy()
        rows[:, idx] = flat.reshape(k, len(idx))
        val, grad = _log_ei_and_grad(gp, rows, best, noise)
        return -float(val.sum()), -grad[:, idx].ravel()

    x0 = starts[:, idx].ravel()
    res = optimize.minimize(
        f,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, 1.0)] * len(x0),
        options={"maxiter": maxiter},
    )
    rows = starts.copy()
    rows[:, idx] = np.clip(res.x, 0.0, 1.0).reshape(k, len(idx))
    mean, var = gp.predict(rows)
    vals = log_expected_improvement(mean, var, best, noise)
    # A start the joint run made worse (possible: only the sum is monotone) is kept as it was.
    mean0, var0 = gp.predict(starts)
    vals0 = log_expected_improvement(mean0, var0, best, noise)
    worse = vals < vals0
    rows[worse] = starts[worse]
    vals[worse] = vals0[worse]
    return rows, vals
