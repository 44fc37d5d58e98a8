"""Search strategies behind one interface (see :mod:`sagetune.strategies.base`)."""

from __future__ import annotations

from sagetune.space import SearchSpace
from sagetune.strategies.base import Observation, ObservationLog, Strategy
from sagetune.strategies.grid import GridStrategy
from sagetune.strategies.hyperband import HyperbandConfig, HyperbandStrategy
from sagetune.strategies.random import RandomStrategy


def make_strategy(
    name: str,
    space: SearchSpace,
    seed: int,
    max_parallel_jobs: int = 1,
    hyperband: HyperbandConfig | None = None,
) -> Strategy:
    """The strategy of that SageMaker name (Bayesian, Random, Grid, Hyperband).

    ``hyperband`` is required for Hyperband (MinResource, MaxResource).
    """
    if name == "Hyperband":
        if hyperband is None:
            raise ValueError("the Hyperband strategy needs its HyperbandConfig")
        return HyperbandStrategy(space, seed, hyperband)
    if name == "Random":
        return RandomStrategy(space, seed)
    if name == "Grid":
        return GridStrategy(space, seed)
    if name == "Bayesian":
        from sagetune.strategies.bayesian import BayesianStrategy

        return BayesianStrategy(space, seed)
    raise ValueError(f"unknown strategy {name!r}")


__all__ = [
    "Observation",
    "ObservationLog",
    "Strategy",
    "RandomStrategy",
    "GridStrategy",
    "make_strategy",
]
