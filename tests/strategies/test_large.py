"""The Bayesian strategy past a thousand observations: the local subset-of-data model."""

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
    SUBSET_SIZE,
    local_model,
    model_subset,
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
