"""Bayesian optimisation: a Gaussian process on the unit cube and log expected improvement.

Each call is pure: the model is refitted from the observations (no state survives between
calls), and every random choice comes from :meth:`Strategy.rng`, keyed by the seed and the
number of observations.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from scipy.stats import qmc

from sagetune.space import CategoricalParameter, SearchSpace
from sagetune.status import TrainingJobStatus
from sagetune.strategies.base import Observation, Strategy
from sagetune.strategies.gp import (
    GaussianProcess,
    gp_targets,
    log_expected_improvement,
    maximize_log_ei,
)
from sagetune.strategies.large import LARGE_N, local_model, restart_patience, restart_point

_MAX_COMBOS = 64  # categorical combinations enumerated exactly up to this many
_MAX_ENUMERATED = 4096  # fully discrete spaces up to this size are scored point by point
_FIT_SUBSET = 256  # hyperparameters are fitted on at most this many observations
# Share of the fitted noise variance that augmented EI discounts. A stationary GP's fitted
# noise also absorbs misfit, which on noise-free objectives is not noise: at the full fitted
# level the discount stopped refinement at the misfit's scale (Branin ended 0.401 on average
# where plain EI reaches 0.398), while half the noise SD still spares real noise (noisy
# Hartmann6, cross-validation scores); see BENCHMARKS.md.
_AEI_NOISE_SHARE = 0.25

_blas_controller: Any = None


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """One BLAS thread while suggesting: the matrices are small, and on a busy machine extra
    BLAS threads spin and wait far longer than they compute (threadpoolctl is optional)."""
    global _blas_controller
    if _blas_controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _blas_controller = False
        else:
            _blas_controller = ThreadpoolController()
    if _blas_controller is False:
        yield
        return
    with _blas_controller.limit(limits=1, user_api="blas"):
        yield


class BayesianStrategy(Strategy):
    """Gaussian-process Bayesian optimisation with log expected improvement.

    The first ``n_initial`` jobs form the initial design: the centre of the space (every
    numeric range at the middle of its scaled interval), then a scrambled Sobol design seeded
    by ``seed`` (the k-th job takes the (k-1)-th Sobol point, skipping points already tried),
    with ``n_initial = max(5, d + 1)`` for ``d`` tuned ranges while that is at most 10, and 5
    for ten ranges or more (a design that cannot show a trend along every range teaches the
    model less than its own suggestions do). From then on, as soon as at least two jobs have a
    value, each suggestion maximises log expected improvement under a GP fitted to the
    Completed and Stopped values (warped by :func:`~.gp.warp_values`), with its prior mean at
    the 90th percentile of the warped values (:func:`~.gp.gp_targets`): far from the data the
    model expects a poor value, so expected improvement does not send jobs to the faces and
    corners of the box merely because nothing was tried there. The incumbent EI improves on
    is the lowest posterior mean at an observed point (robust to noise), and EI is augmented
    by a quarter of the fitted noise variance (``augmented``): a point whose remaining
    uncertainty is mostly noise is discounted, so that a rugged or noisy plateau near the best
    (cross-validation scores that differ by a sample, say) is not sampled over and over.
    Beyond 256 observations the kernel hyperparameters are fitted on a seeded subset (the best
    quarter plus a random sample) and the GP is conditioned on all the data; from 512 on, the
    GP is a local one on 384 of them (:func:`~.large.local_model`), and a search that has
    stalled restarts: after ``max(256, 16 d)`` values without improvement, a new Sobol design
    is drawn and only the observations from then on are modelled (:func:`~.large.restart_point`).

    Running jobs, and suggestions already made in the same call, are pending points: they are
    added to the model at its posterior mean (kriging believer, hyperparameters kept, the
    believed value counting as incumbent when lower), which removes their uncertainty so
    parallel suggestions spread out; in addition no suggestion lies within ``exclusion`` length
    scales of a pending point unless nothing else is left. While jobs are pending, suggestions
    (every ``local_every``-th by job index; by default all) are searched for only in a box
    around the incumbent's point, ``local_radius`` on the unit cube in each direction, scaled
    per range by its length scale relative to their geometric mean: results arrive late when
    jobs overlap, and the far, high-variance points that EI then prefers would have been ruled
    out quickly one job at a time, while progress near the best point stalls. Failed jobs
    carry no value and are not modelled, but neither they nor any other tried configuration is
    suggested again.

    Integer ranges are modelled at their cell centres and candidates are snapped to valid
    values; categorical ranges are one-hot and optimised exactly (all combinations when there
    are at most 64, otherwise coordinate sweeps). One model-based suggestion in
    ``categorical_every`` (by job index) instead sets each categorical range to its least-tried
    value among the modelled jobs and maximises EI over the numeric ranges for it: with a
    product kernel an optimiser (say) tried a few times at poor learning rates is predicted poor
    everywhere, so it is never tried where it would be best, and the search stays with the
    value it found good first (a fully discrete space, where every untried configuration is
    scored, needs no such turn). When a fully discrete space has no untried configuration
    left, fewer than ``n`` suggestions are returned.

    Args:
        space: the search space.
        seed: fixes the initial design and every random choice.
        n_initial: size of the initial design (default above).
        n_candidates: random candidates scored before local refinement.
        n_starts: best candidates refined by L-BFGS-B.
        exclusion: minimum distance to a pending point, in (ARD) length-scale units. Small:
            it only keeps two running jobs off the same spot; along a range with a long length
            scale a wider ring kept suggestions off the minimum while a job near it ran.
        local_radius: half-width of the box around the incumbent for local suggestions while
            jobs are pending (0: none).
        local_every: one suggestion in this many, while jobs are pending, is local.
        augmented: augmented expected improvement (False: plain EI).
        categorical_every: one suggestion in this many tries the least-tried categorical
            values (0: never).
    """

    name = "Bayesian"

    def __init__(
        self,
        space: SearchSpace,
        seed: int,
        n_initial: int | None = None,
        n_candidates: int = 1024,
        n_starts: int = 6,
        exclusion: float = 0.02,
        local_radius: float = 0.2,
        local_every: int = 1,
        augmented: bool = True,
        categorical_every: int = 8,
    ):
        super().__init__(space, seed)
        self.augmented = bool(augmented)
        self.exclusion = float(exclusion)
        self.local_radius = float(local_radius)
        self.local_every = max(1, int(local_every))
        self.categorical_every = max(0, int(categorical_every))
        d = len(space)
        if n_initial is not None:
            self.n_initial = int(n_initial)
        else:
            # d + 1 points while they fit in ten (enough to show a linear trend along each
            # range); past that a design cannot, and the model learns more from its own jobs.
            self.n_initial = max(5, d + 1) if d + 1 <= 10 else 5
        self.n_candidates = int(n_candidates)
        self.n_starts = int(n_starts)
        self._cat_groups = [space.slices[n] for n in space.categorical_names]
        self._num_cols = np.array([space.slices[n].start for n in space.numeric_names], dtype=int)
        free = np.zeros(space.n_columns, dtype=bool)
        free[self._num_cols] = True
        self._free = free
        sizes = [s.stop - s.start for s in self._cat_groups]
        self._n_combos = math.prod(sizes)
        self._combos = self._onehot_combos() if self._n_combos <= _MAX_COMBOS else None
        self._finite_size = self._discrete_size()

    # ------------------------------------------------------------------ public

    def _suggest(self, observations: Sequence[Observation], n: int) -> list[dict[str, Any]]:
        with _single_threaded_blas():
            return self._suggest_unthreaded(observations, n)

    def _suggest_unthreaded(
        self, observations: Sequence[Observation], n: int
    ) -> list[dict[str, Any]]:
        space = self.space
        seen: set[tuple] = set()
        done, y_raw, running, where = [], [], [], []
        for j, o in enumerate(observations):
            try:
                if not space.contains(o.hyperparameters):
                    continue
                seen.add(space.key(o.hyperparameters))
            except (KeyError, ValueError, TypeError):
                continue
            if o.has_value:
                done.append(o.hyperparameters)
                y_raw.append(float(o.value))  # type: ignore[arg-type]
                where.append(j)
            elif o.status == TrainingJobStatus.InProgress:
                running.append(o.hyperparameters)
        # With many values, a search that has stalled restarts (see large.py): only the
        # current epoch's observations are modelled, and its design counts from its start.
        epoch, first = 0, 0
        if len(y_raw) >= LARGE_N:
            epoch, s = restart_point(y_raw, restart_patience(len(space)))
            if epoch:
                first = where[s - 1] + 1
                done, y_raw = done[s:], y_raw[s:]
        # One encoding call for all rows (contains() above guarantees every value encodes).
        x_data = list(space.encode(done))
        x_pending = list(space.encode(running))

        out: list[dict[str, Any]] = []
        model: GaussianProcess | None = None
        best = 0.0
        for i in range(n):
            hp: dict[str, Any] | None = None
            k = len(observations) - first + i
            if k < self.n_initial or len(y_raw) < 2:
                hp = self._initial_point(k, seen, epoch)
            if hp is None and len(y_raw) >= 2:
                if model is None:
                    y = gp_targets(np.asarray(y_raw))
                    # Past LARGE_N values, a GP on a local subset of them (see large.py).
                    fit = local_model if len(y) >= LARGE_N else self._fit
                    model = fit(np.asarray(x_data), y, self.rng(observations, salt=1))
                    # Incumbent: the lowest posterior mean at an observed point, not the lowest
                    # observation. The same when values are exact; with noise, a lucky draw
                    # would otherwise set a bar EI can never clear near the real optimum.
                    best = float(model.fitted_mean.min())
                local = (
                    bool(x_pending) and self.local_radius > 0 and (k + 1) % self.local_every == 0
                )
                rare = (
                    bool(self._cat_groups)
                    and self.categorical_every > 0
                    and (k + 1) % self.categorical_every == 0
                )
                hp = self._optimise(
                    model,
                    best,
                    x_pending,
                    seen,
                    self.rng(observations, salt=100 + i),
                    local,
                    least_tried=rare,
                )
            if hp is None:
                hp = self._fallback(seen, self.rng(observations, salt=200 + i))
            if hp is None:
                break  # a finite space with nothing left to try
            out.append(hp)
            seen.add(space.key(hp))
            x_pending.append(space.encode([hp])[0])
        return out

    # ------------------------------------------------------------------ model

    def _fit(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> GaussianProcess:
        """The GP on all data, its hyperparameters fitted on at most ``_FIT_SUBSET`` points.

        Each step of the hyperparameter fit costs O(n^3); past a few hundred points more data
        barely moves the length scales, so they are fitted on the best quarter of the subset
        (where the optimum is decided) plus a seeded random sample of the rest, and the model
        is then conditioned on everything (one Cholesky factorisation).
        """
        n = len(y)
        # Random restarts matter while the data are few and the likelihood is multimodal;
        # with more than 100 points the start from the prior means is enough.
        restarts = 2 if n <= 100 else 0
        if n <= _FIT_SUBSET:
            return GaussianProcess.fit(x, y, rng, n_restarts=restarts)
        order = np.argsort(y, kind="stable")
        n_top = _FIT_SUBSET // 4
        rest = rng.choice(order[n_top:], size=_FIT_SUBSET - n_top, replace=False)
        idx = np.sort(np.concatenate([order[:n_top], rest]))
        sub = GaussianProcess.fit(x[idx], y[idx], rng, n_restarts=restarts)
        return GaussianProcess(x, y, sub.hyper)

    # ------------------------------------------------------------------ initial design

    def _initial_point(self, k: int, seen: set[tuple], epoch: int = 0) -> dict[str, Any] | None:
        """The k-th point of the design: first the centre of the space, then the unseen points
        of the seeded Sobol sequence (one coordinate per range); a restart epoch's design is
        Sobol only, scrambled anew.

        The centre (each numeric range at the middle of its scaled interval, categoricals as
        the first Sobol point) is the one point of a design away from every face: a Sobol
        point is 0.29 of each range from the middle on average (RMS), and in five dimensions
        two in three have a coordinate within a tenth of a face. Without a point inside, the
        model saw no trend towards an interior optimum (on Ackley in a box that does not
        centre it, runs stayed on the outer plateau and followed its slope to a corner). Ax's
        default generation strategy starts from the centre too.
        """
        d = len(self.space)
        if d == 0:
            return None
        # The search's first design starts with the centre, which takes its first slot.
        first = k if epoch else k - 1
        limit = max(first, 0) + 64
        key = [self.seed, 7] + ([epoch] if epoch else [])
        sobol = qmc.Sobol(d, scramble=True, seed=np.random.default_rng(key))
        u = sobol.random_base2(max(1, math.ceil(math.log2(limit))))
        if first < 0:
            centre = self._from_design(self._centre(u[0]))
            if self.space.key(centre) not in seen:
                return centre
            first = 0
        for j in range(first, min(limit, len(u))):
            hp = self._from_design(u[j])
            if self.space.key(hp) not in seen:
                return hp
        return None

    def _centre(self, u: np.ndarray) -> np.ndarray:
        """Design coordinates of the centre: 0.5 for numeric ranges, ``u``'s for categoricals."""
        centre = np.full(len(u), 0.5)
        for j, p in enumerate(self.space.ranges.values()):
            if isinstance(p, CategoricalParameter):
                centre[j] = u[j]
        return centre

    def _from_design(self, u: np.ndarray) -> dict[str, Any]:
        return {
            name: p.from_unit(float(u[j])) for j, (name, p) in enumerate(self.space.ranges.items())
        }

    # ------------------------------------------------------------------ model-based

    def _optimise(
        self,
        model: GaussianProcess,
        best: float,
        x_pending: list[np.ndarray],
        seen: set[tuple],
        rng: np.random.Generator,
        local: bool = False,
        least_tried: bool = False,
    ) -> dict[str, Any] | None:
        gp = model
        # Augmented EI discounts a share of the fitted noise; the kriging-believer model below
        # keeps the fitted hyperparameters, full noise included.
        noise = _AEI_NOISE_SHARE * model.hyper.noise if self.augmented else 0.0
        xp = np.asarray(x_pending).reshape(-1, self.space.n_columns)
        if len(xp):
            # Kriging believer: pending jobs are believed to return the posterior mean, which
            # also becomes the incumbent when lower, so EI must look elsewhere for improvement.
            believed = model.predict(xp)[0]
            gp = model.condition_on(xp, believed)
            best = min(best, float(believed.min()))

        if self._finite_size is not None:
            return self._best_of_enumeration(gp, best, seen, noise)

        cand = self._candidates(rng, model)
        if least_tried:  # each categorical range at its least-tried value, kept there
            for g in self._cat_groups:
                cand[:, g] = 0.0
                cand[:, g.start + int(np.argmin(model.x[:, g].sum(0)))] = 1.0
        free = self._free
        box = self._local_box(model) if local else None
        if box is not None:
            lo, hi = box
            m = self.n_candidates
            cand[:m, free] = lo[free] + (hi - lo)[free] * rng.random((m, int(free.sum())))
            cand[:, free] = np.clip(cand[:, free], lo[free], hi[free])
            cand = self._snap(cand)
        score = self._score(gp, cand, best, noise)
        near = self._near(model, cand, xp)
        score[near] = -np.inf
        order = np.argsort(-score, kind="stable")
        starts = cand[order[: self.n_starts]]
        refined, _ = maximize_log_ei(gp, best, starts, free, noise=noise)
        if box is not None:
            refined[:, free] = np.clip(refined[:, free], box[0][free], box[1][free])
        if not least_tried:
            refined = self._improve_categoricals(gp, best, refined, noise)
        # Valid points only: snap refined points and the best raw candidates, rank them together.
        pool = np.vstack([refined, cand[order[: 4 * self.n_starts]]])
        pool = self._snap(pool)
        score = self._score(gp, pool, best, noise)
        near = self._near(model, pool, xp)
        for allow_near in (False, True):
            for j in np.argsort(-score, kind="stable"):
                if near[j] and not allow_near:
                    continue
                hp = self.space.decode(pool[j])[0]
                if self.space.key(hp) not in seen:
                    return hp
        return None

    def _local_box(self, model: GaussianProcess) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of the local search box around the observed point with the lowest posterior
        mean (the incumbent), wider along ranges with longer length scales."""
        ls = model.hyper.lengthscales
        r = self.local_radius * ls / np.exp(np.mean(np.log(ls)))
        centre = model.x[int(np.argmin(model.fitted_mean))]
        return np.clip(centre - r, 0.0, 1.0), np.clip(centre + r, 0.0, 1.0)

    def _near(self, model: GaussianProcess, rows: np.ndarray, xp: np.ndarray) -> np.ndarray:
        """Rows within ``exclusion`` length scales of a pending point: the model barely tells
        them apart from it, so running both in parallel would mostly duplicate work."""
        if not len(xp) or self.exclusion <= 0:
            return np.zeros(len(rows), dtype=bool)
        ls = model.hyper.lengthscales
        a, b = rows / ls, xp / ls
        d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        return d2.min(1) < self.exclusion**2

    def _candidates(self, rng: np.random.Generator, model: GaussianProcess) -> np.ndarray:
        """Uniform candidates plus perturbations of the best observed points."""
        n_col = self.space.n_columns
        m = self.n_candidates
        cand = rng.random((m, n_col))
        # Local candidates around the best few data points (exploitation at fine scales).
        top = model.x[np.argsort(model.y, kind="stable")[: min(5, len(model.y))]]
        n_local = m // 4
        local = top[rng.integers(len(top), size=n_local)].copy()
        scales = np.array([0.01, 0.05, 0.15])[rng.integers(3, size=n_local)]
        local[:, self._num_cols] += scales[:, None] * rng.standard_normal(
            (n_local, len(self._num_cols))
        )
        # Reflected, not clipped, at the bounds: clipping piles candidates exactly on the faces
        # of the cube, and the refinement then rarely leaves them.
        local = 1.0 - np.abs(1.0 - np.abs(local))
        cand = np.vstack([cand, np.clip(local, 0.0, 1.0)])
        self._assign_categoricals(cand, rng, keep_from=m)
        return self._snap(cand)

    def _assign_categoricals(
        self, cand: np.ndarray, rng: np.random.Generator, keep_from: int
    ) -> None:
        """One-hot categorical columns of the uniform candidates (rows before ``keep_from``);
        every combination appears when they are few."""
        if not self._cat_groups:
            return
        head = cand[:keep_from]
        if self._combos is not None:
            perm = rng.permutation(len(self._combos))
            idx = perm[np.arange(len(head)) % len(self._combos)]
            cols = np.concatenate([np.arange(s.start, s.stop) for s in self._cat_groups])
            head[:, cols] = self._combos[idx]
        else:
            for s in self._cat_groups:
                width = s.stop - s.start
                head[:, s] = 0.0
                head[np.arange(len(head)), s.start + rng.integers(width, size=len(head))] = 1.0

    def _improve_categoricals(
        self, gp: GaussianProcess, best: float, rows: np.ndarray, noise: float = 0.0
    ) -> np.ndarray:
        """Best categorical setting for each row's numeric part (exact or coordinate sweeps)."""
        if not self._cat_groups:
            return rows
        rows = rows.copy()
        cols = np.concatenate([np.arange(s.start, s.stop) for s in self._cat_groups])
        for r in rows:
            if self._combos is not None:
                options = np.repeat(r[None, :], len(self._combos), axis=0)
                options[:, cols] = self._combos
                r[:] = options[int(np.argmax(self._score(gp, options, best, noise)))]
                continue
            for _ in range(2):
                for s in self._cat_groups:
                    width = s.stop - s.start
                    options = np.repeat(r[None, :], width, axis=0)
                    options[:, s] = np.eye(width)
                    r[:] = options[int(np.argmax(self._score(gp, options, best, noise)))]
        return rows

    def _best_of_enumeration(
        self, gp: GaussianProcess, best: float, seen: set[tuple], noise: float = 0.0
    ) -> dict[str, Any] | None:
        """Exact choice in a small fully discrete space: score every untried configuration."""
        todo = [hp for hp in self.space.grid() if self.space.key(hp) not in seen]
        if not todo:
            return None
        return todo[int(np.argmax(self._score(gp, self.space.encode(todo), best, noise)))]

    @staticmethod
    def _score(
        gp: GaussianProcess, rows: np.ndarray, best: float, noise: float = 0.0
    ) -> np.ndarray:
        """Log EI at ``rows`` (augmented when ``noise`` > 0)."""
        mean, var = gp.predict(rows)
        return log_expected_improvement(mean, var, best, noise)

    def _fallback(self, seen: set[tuple], rng: np.random.Generator) -> dict[str, Any] | None:
        """An untried point by random sampling, or by enumeration when the space is small."""
        for hp in self.space.sample(rng, 256):
            if self.space.key(hp) not in seen:
                return hp
        if self._finite_size is not None:
            for hp in self.space.grid():
                if self.space.key(hp) not in seen:
                    return hp
        return None

    # ------------------------------------------------------------------ helpers

    def _snap(self, rows: np.ndarray) -> np.ndarray:
        """Integer columns moved to the centre of their value's cell; categoricals to one-hot."""
        rows = np.clip(np.array(rows, dtype=float), 0.0, 1.0)
        for name, p in self.space.ranges.items():
            p.snap(rows[:, self.space.slices[name]])
        return rows

    def _onehot_combos(self) -> np.ndarray:
        blocks = [np.eye(s.stop - s.start) for s in self._cat_groups]
        if not blocks:
            return np.zeros((1, 0))
        return np.array([np.concatenate(c) for c in itertools.product(*blocks)])

    def _discrete_size(self) -> int | None:
        """Number of configurations when every range is discrete and they are few, else None."""
        size = 1
        for p in self.space.ranges.values():
            if p.n_values is None:
                return None
            size *= p.n_values
            if size > _MAX_ENUMERATED:
                return None
        return size
