"""The Bayesian strategy past a thousand observations: the local model and its restarts."""

from __future__ import annotations

import math

import numpy as np
from threadpoolctl import threadpool_limits

from sagetune.space import CategoricalParameter, ContinuousParameter, IntegerParameter, SearchSpace
from sagetune.strategies import Observation, make_strategy
from sagetune.strategies.large import (
    LARGE_N,
    N_BEST,
    N_LOCAL,
    RESTART_TOL,
    SUBSET_SIZE,
    local_model,
    model_subset,
    restart_patience,
    restart_point,
)

MIXED = SearchSpace(
    {
        "lr": ContinuousParameter(1e-5, 1e-1, "Logarithmic"),
        "units": IntegerParameter(16, 512, "Logarithmic"),
        "depth": IntegerParameter(1, 6),
        "mom": ContinuousParameter(0.9, 0.999, "ReverseLogarithmic"),
        "opt": CategoricalParameter(["sgd", "adam", "rmsprop"]),
        "bn": CategoricalParameter([True, False]),
    }
)
BOX5 = SearchSpace({f"x{i}": ContinuousParameter(0.0, 1.0, "Linear") for i in range(5)})
CENTRE = np.array([0.62, 0.31, 0.47, 0.8, 0.15])


def mixed_objective(hp: dict) -> float:
    return (
        (math.log10(hp["lr"]) + 3) ** 2
        + (hp["depth"] - 4) ** 2 / 4
        + (math.log2(hp["units"]) - 7) ** 2 / 4
        + (hp["opt"] != "adam")
        + 0.5 * hp["bn"]
    )


def bowl5(hp: dict) -> float:
    x = np.array([hp[f"x{i}"] for i in range(5)])
    return float(np.sum((x - CENTRE) ** 2))


def completed(space: SearchSpace, objective, n: int, seed: int = 0) -> list[Observation]:
    rng = np.random.default_rng(seed)
    return [Observation(hp, "Completed", objective(hp)) for hp in space.sample(rng, n)]


def test_mixed_space_suggestions_are_valid_new_distinct_and_seeded() -> None:
    obs = completed(MIXED, mixed_objective, 2000)
    pending = [Observation(hp, "InProgress") for hp in MIXED.sample(np.random.default_rng(9), 3)]
    a = make_strategy("Bayesian", MIXED, 4).suggest(obs + pending, 3)
    b = make_strategy("Bayesian", MIXED, 4).suggest(list(obs) + list(pending), 3)
    other = make_strategy("Bayesian", MIXED, 5).suggest(obs + pending, 3)
    assert a == b and len(a) == 3
    assert a != other
    assert all(MIXED.contains(hp) for hp in a)
    tried = {MIXED.key(o.hyperparameters) for o in obs + pending}
    keys = [MIXED.key(hp) for hp in a]
    assert len(set(keys)) == 3 and not tried & set(keys)
    assert all(isinstance(hp["depth"], int) and hp["opt"] in ("sgd", "adam", "rmsprop") for hp in a)
    # Modelled, not random: the first suggestion takes the categorical values of the optimum.
    assert a[0]["opt"] == "adam" and a[0]["bn"] is False


def test_beats_the_observations_of_a_smooth_bowl() -> None:
    obs = completed(BOX5, bowl5, 2500)
    hp = make_strategy("Bayesian", BOX5, 0).suggest(obs, 1)[0]
    # Better than all 2,500 random points: the local model resolves the basin finely.
    assert bowl5(hp) < min(o.value for o in obs if o.value is not None)


def test_pending_points_are_neither_repeated_nor_crowded() -> None:
    obs = completed(BOX5, bowl5, 2000)
    s = make_strategy("Bayesian", BOX5, 1)
    first = s.suggest(obs, 1)[0]
    # The job at the best spot is running: the next suggestions must go elsewhere, apart.
    running = [Observation(first, "InProgress")]
    batch = s.suggest(obs + running, 3)
    keys = {BOX5.key(hp) for hp in batch}
    assert len(keys) == 3 and BOX5.key(first) not in keys
    rows = BOX5.encode([first, *batch])
    gaps = [np.linalg.norm(rows[i] - rows[j]) for i in range(4) for j in range(i + 1, 4)]
    assert min(gaps) > 1e-4


def test_the_switch_to_the_local_model_keeps_suggestions_good() -> None:
    # Just below and at the threshold: both valid, both near the bowl's centre.
    obs = completed(BOX5, bowl5, LARGE_N)
    below = make_strategy("Bayesian", BOX5, 2).suggest(obs[:-1], 1)[0]
    at = make_strategy("Bayesian", BOX5, 2).suggest(obs, 1)[0]
    assert bowl5(below) < 0.01 and bowl5(at) < 0.01


def test_subset_is_local_keeps_the_best_and_ignores_one_lucky_draw() -> None:
    rng = np.random.default_rng(3)
    x = rng.random((4000, 5))
    y = np.sum((x - CENTRE) ** 2, axis=1) + 0.01 * rng.standard_normal(4000)
    far = int(np.argmax(np.sum((x - CENTRE) ** 2, axis=1)))
    y[far] = -10.0  # one wildly lucky value far from the basin
    idx = model_subset(x, y, np.random.default_rng(0))
    assert len(idx) == SUBSET_SIZE == len(set(idx.tolist()))
    assert set(np.argsort(y)[:N_BEST].tolist()) <= set(idx.tolist())  # the lucky one included
    # The local part surrounds the basin, not the lucky point.
    local = x[idx[:N_LOCAL]]
    assert np.linalg.norm(local.mean(0) - CENTRE) < 0.1
    assert np.array_equal(idx, model_subset(x, y, np.random.default_rng(0)))
    assert not np.array_equal(idx, model_subset(x, y, np.random.default_rng(1)))


def test_local_model_predicts_the_basin() -> None:
    rng = np.random.default_rng(4)
    x = rng.random((3000, 5))
    y = np.sum((x - CENTRE) ** 2, axis=1)
    with threadpool_limits(1):  # as the strategy calls it: small matrices, one BLAS thread
        gp = local_model(x, y, np.random.default_rng(0))
    assert len(gp.x) == SUBSET_SIZE
    mean, _ = gp.predict(np.vstack([CENTRE, CENTRE + 0.1]))
    assert mean[0] < mean[1]


def test_restart_point_cuts_epochs_after_patience_values_without_improvement() -> None:
    assert restart_point(np.array([]), 3) == (0, 0)
    # Epoch 0: 5, 4, then three values that do not beat 4; epoch 1 from index 5 likewise.
    y = np.array([5, 4, 4, 4.5, 6, 9, 8, 8, 8, 8, 7.0])
    assert restart_point(y, 3) == (2, 10)
    assert restart_point(y[:10], 3) == (2, 10)  # the new epoch has no value yet
    assert restart_point(y[:9], 3) == (1, 5)
    assert restart_point(np.arange(100.0, 0.0, -1.0), 3) == (0, 0)  # always improving
    # An improvement smaller than RESTART_TOL of the value range does not count.
    tiny = np.array([10.0, 0.0] + [-0.5 * RESTART_TOL * 10] * 3)
    assert restart_point(tiny, 3) == (1, 5)
    assert restart_patience(2) == 256 and restart_patience(20) == 320


def _stalled_history(n: int, best_at: int) -> list[Observation]:
    """``n`` completed jobs on a bowl around the point 0.2 of BOX5, improving job after job up
    to the lowest value at ``best_at``, none better after it."""
    x = np.random.default_rng(6).random((n, 5))
    y = 1.0 + np.sum((x - 0.2) ** 2, axis=1)
    order = np.argsort(-y)
    order = np.concatenate([order[:best_at], order[-1:], order[best_at:-1]])
    x, y = x[order], y[order]
    return [
        Observation({f"x{j}": float(v) for j, v in enumerate(row)}, "Completed", float(val))
        for row, val in zip(x, y, strict=True)
    ]


def test_a_stalled_search_restarts_with_a_fresh_design_and_an_improving_one_does_not() -> None:
    n = LARGE_N + 100
    patience = restart_patience(len(BOX5))

    def far_from_basin(obs: list[Observation], k: int) -> list[float]:
        s = make_strategy("Bayesian", BOX5, 3)
        dist = []
        for _ in range(k):
            hp = s.suggest(obs, 1)[0]
            dist.append(float(np.linalg.norm(BOX5.encode([hp])[0] - 0.2)))
            obs = [*obs, Observation(hp, "Completed", 50.0)]
        return dist

    # The best value came `patience` values ago: the next jobs are a new Sobol design, spread
    # over the box instead of refining the basin around 0.2.
    stalled = _stalled_history(n, n - 1 - patience)
    fresh = far_from_basin(stalled, 3)
    assert min(fresh) > 0.25, fresh
    assert far_from_basin(stalled, 3) == fresh  # seeded
    # The best value came last: the basin is refined.
    assert max(far_from_basin(_stalled_history(n, n - 1), 1)) < 0.15
    # Below LARGE_N values there are no restarts, however long the stall.
    assert max(far_from_basin(_stalled_history(LARGE_N - 1, 0), 1)) < 0.15
