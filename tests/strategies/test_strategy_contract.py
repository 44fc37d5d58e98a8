"""The contract every strategy keeps (one suite, parametrised over strategies)."""

from __future__ import annotations

import numpy as np
import pytest

from sagetune import CategoricalParameter, ContinuousParameter, IntegerParameter
from sagetune.space import SearchSpace
from sagetune.status import TrainingJobStatus
from sagetune.strategies import Observation, make_strategy

STRATEGIES = ["Random", "Bayesian"]
MIXED = SearchSpace({"lr": ContinuousParameter(1e-5, 1e-1, "Logarithmic"),
                     "depth": IntegerParameter(1, 8),
                     "mom": ContinuousParameter(0.9, 0.999, "ReverseLogarithmic"),
                     "opt": CategoricalParameter(["sgd", "adam"])})



def objective(hp: dict) -> float:
    return (np.log10(hp["lr"]) + 3) ** 2 + (hp["depth"] - 4) ** 2 + (hp["opt"] == "sgd")


def run(strategy: str, seed: int, jobs: int, batch: int = 1) -> list[Observation]:
    s = make_strategy(strategy, MIXED, seed)
    obs: list[Observation] = []
    while len(obs) < jobs:
        for hp in s.suggest(obs, batch):
            obs.append(Observation(hp, "Completed", objective(hp)))
    return obs


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_suggestions_are_inside_the_space(strategy: str) -> None:
    for o in run(strategy, 0, 12, batch=3):
        assert MIXED.contains(o.hyperparameters), o.hyperparameters
        assert isinstance(o.hyperparameters["depth"], int)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_seeded_and_pure(strategy: str) -> None:
    a, b = run(strategy, 5, 10), run(strategy, 5, 10)
    assert [o.hyperparameters for o in a] == [o.hyperparameters for o in b]
    assert [o.hyperparameters for o in a] != [o.hyperparameters for o in run(strategy, 6, 10)]
    # Asking twice with the same observations gives the same answer (no hidden state).
    s = make_strategy(strategy, MIXED, 5)
    assert s.suggest(a, 2) == s.suggest(a, 2)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_handles_running_and_failed_jobs(strategy: str) -> None:
    s = make_strategy(strategy, MIXED, 1)
    done = run(strategy, 1, 6)
    running = [Observation(hp, "InProgress") for hp in s.suggest(done, 2)]
    failed = [Observation(MIXED.sample(np.random.default_rng(9), 1)[0], "Failed")]
    nxt = s.suggest(done + running + failed, 3)
    assert len(nxt) == 3
    keys = {MIXED.key(o.hyperparameters) for o in done + running + failed}
    assert not keys & {MIXED.key(hp) for hp in nxt}


def test_random_gives_each_job_the_same_point_however_jobs_are_batched() -> None:
    one_at_a_time = [o.hyperparameters for o in run("Random", 3, 12, batch=1)]
    in_threes = [o.hyperparameters for o in run("Random", 3, 12, batch=3)]
    assert one_at_a_time == in_threes


def test_grid_never_repeats_and_stops_when_exhausted() -> None:
    space = SearchSpace({"a": CategoricalParameter(["x", "y"]), "b": IntegerParameter(1, 3)})
    s = make_strategy("Grid", space, 0)
    obs: list[Observation] = []
    first = s.suggest(obs, 4)
    obs += [Observation(hp, "InProgress") for hp in first]
    second = s.suggest(obs, 4)
    assert len(first) == 4 and len(second) == 2
    assert {space.key(h) for h in first}.isdisjoint({space.key(h) for h in second})
    obs += [Observation(hp, "Failed") for hp in second]
    assert s.suggest(obs, 4) == []
    assert first[0] == {"a": "x", "b": 1} and second[-1] == {"a": "y", "b": 3}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_running_job_is_in_progress_by_string_or_enum(strategy: str) -> None:
    s = make_strategy(strategy, MIXED, 4)
    done = run(strategy, 4, 6)
    pending = s.suggest(done, 2)
    as_strings = [Observation(hp, "InProgress") for hp in pending]
    as_members = [Observation(hp, TrainingJobStatus.InProgress) for hp in pending]
    assert s.suggest(done + as_strings, 3) == s.suggest(done + as_members, 3)


def test_an_unknown_observation_status_is_refused() -> None:
    with pytest.raises(ValueError, match="got 'Running'"):
        Observation({"lr": 0.01}, "Running")  # type: ignore[arg-type]
