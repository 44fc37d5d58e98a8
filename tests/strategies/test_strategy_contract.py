"""The contract every strategy keeps (one suite, parametrised over all four strategies).

Grid only walks categorical and integer ranges, so each strategy gets a space it can search:
the mixed space (log, reverse-log and linear ranges, integers, categorical strings, numbers
and booleans) for Random, Bayesian and Hyperband, an all-discrete one for Grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sagetune import CategoricalParameter, ContinuousParameter, IntegerParameter
from sagetune.space import SearchSpace
from sagetune.status import TrainingJobStatus
from sagetune.strategies import Observation, ObservationLog, Strategy, make_strategy
from sagetune.strategies.hyperband import HyperbandConfig

STRATEGIES = ["Random", "Grid", "Bayesian", "Hyperband"]
MIXED = SearchSpace(
    {
        "lr": ContinuousParameter(1e-5, 1e-1, "Logarithmic"),
        "depth": IntegerParameter(1, 8),
        "units": IntegerParameter(4, 512, "Logarithmic"),
        "mom": ContinuousParameter(0.9, 0.999, "ReverseLogarithmic"),
        "opt": CategoricalParameter(["sgd", "adam"]),
        "flag": CategoricalParameter([True, False]),
        "width": CategoricalParameter([1, 2.5]),
    }
)
DISCRETE = SearchSpace(
    {
        "opt": CategoricalParameter(["sgd", "adam", "rmsprop"]),
        "depth": IntegerParameter(1, 4),
        "units": IntegerParameter(8, 64, "Logarithmic"),
        "flag": CategoricalParameter([True, False]),
        "width": CategoricalParameter([1, 2.5]),
    }
)
SPACES = {"Random": MIXED, "Grid": DISCRETE, "Bayesian": MIXED, "Hyperband": MIXED}


@pytest.fixture(params=STRATEGIES)
def strategy(request: pytest.FixtureRequest) -> str:
    return request.param


def make(strategy: str, seed: int) -> Strategy:
    hyperband = HyperbandConfig(1, 9) if strategy == "Hyperband" else None
    return make_strategy(strategy, SPACES[strategy], seed, hyperband=hyperband)


def objective(space: SearchSpace, hp: dict[str, Any]) -> float:
    u = space.encode([hp])[0]
    return float(np.sum((u - 0.3) ** 2 * np.arange(1, len(u) + 1)))


def run(strategy: str, seed: int, jobs: int, batch: int = 1) -> list[Observation]:
    s, space = make(strategy, seed), SPACES[strategy]
    obs: list[Observation] = []
    while len(obs) < jobs:
        for hp in s.suggest(obs, batch):
            obs.append(Observation(hp, "Completed", objective(space, hp)))
    return obs


def same_value_and_type(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def test_suggestions_are_inside_the_space_with_the_right_types(strategy: str) -> None:
    space = SPACES[strategy]
    for o in run(strategy, 0, 12, batch=3):
        hp = o.hyperparameters
        assert set(hp) == set(space.names) and space.contains(hp), hp
        for name, p in space.ranges.items():
            if p.is_categorical:
                assert any(same_value_and_type(hp[name], c) for c in p.grid_values()), name
            else:
                assert type(hp[name]) is (float if p.n_values is None else int), name


def test_seeded_and_pure(strategy: str) -> None:
    a, b = run(strategy, 5, 10), run(strategy, 5, 10)
    assert [o.hyperparameters for o in a] == [o.hyperparameters for o in b]
    if strategy != "Grid":  # Grid's walk does not depend on the seed
        assert [o.hyperparameters for o in a] != [o.hyperparameters for o in run(strategy, 6, 10)]
    # Same observations, same answer: asking twice, or after other questions, changes nothing.
    s = make(strategy, 5)
    first = s.suggest(a, 2)
    assert s.suggest(a, 2) == first
    s.suggest(b[:3], 4)
    s.suggest(a + [Observation(first[0], "InProgress")], 1)
    assert s.suggest(a, 2) == first == make(strategy, 5).suggest(a, 2)


def test_handles_running_and_failed_jobs_without_duplicating_them(strategy: str) -> None:
    space = SPACES[strategy]
    s = make(strategy, 1)
    done = run(strategy, 1, 6)
    running = [Observation(hp, "InProgress") for hp in s.suggest(done, 2)]
    failed = [
        Observation(space.sample(np.random.default_rng(9), 1)[0], "Failed"),
        Observation(done[0].hyperparameters, "Failed"),
    ]
    nxt = s.suggest(done + running + failed, 3)
    assert len(nxt) == 3
    known = {space.key(o.hyperparameters) for o in done + running + failed}
    fresh = [space.key(hp) for hp in nxt]
    assert not known & set(fresh)
    assert len(set(fresh)) == len(fresh)


def test_returns_at_most_n(strategy: str) -> None:
    s = make(strategy, 2)
    done = run(strategy, 2, 5)
    for n in (0, 1, 4):
        got = s.suggest(done, n)
        assert len(got) == n  # the spaces are far from exhausted
        assert s.suggest([], n) == s.suggest([], n) and len(s.suggest([], n)) == n


def test_a_finite_space_is_walked_without_repeats_until_exhausted(strategy: str) -> None:
    space = SearchSpace({"a": CategoricalParameter(["x", "y"]), "b": IntegerParameter(1, 3)})
    hyperband = HyperbandConfig(1, 9) if strategy == "Hyperband" else None
    s = make_strategy(strategy, space, 0, hyperband=hyperband)
    obs: list[Observation] = []
    statuses = ["Completed", "InProgress", "Failed"]
    for step in range(4):
        got = s.suggest(obs, 2)
        assert len(got) <= 2
        if strategy in ("Grid", "Bayesian") or step < 3:
            # Grid never repeats; Bayesian enumerates small discrete spaces exactly.
            keys = {space.key(o.hyperparameters) for o in obs}
            assert all(space.key(hp) not in keys for hp in got), (step, got)
            assert len({space.key(hp) for hp in got}) == len(got)
        for i, hp in enumerate(got):
            status = statuses[(step + i) % 3]
            value = objective(space, hp) if status == "Completed" else None
            obs.append(Observation(hp, status, value))  # type: ignore[arg-type]
    if strategy in ("Grid", "Bayesian"):
        assert len(obs) == 6 and s.suggest(obs, 3) == []


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


def test_a_running_job_is_in_progress_by_string_or_enum(strategy: str) -> None:
    s = make(strategy, 4)
    done = run(strategy, 4, 6)
    pending = s.suggest(done, 2)
    as_strings = [Observation(hp, "InProgress") for hp in pending]
    as_members = [Observation(hp, TrainingJobStatus.InProgress) for hp in pending]
    assert s.suggest(done + as_strings, 3) == s.suggest(done + as_members, 3)


def test_an_unknown_observation_status_is_refused() -> None:
    with pytest.raises(ValueError, match="got 'Running'"):
        Observation({"lr": 0.01}, "Running")  # type: ignore[arg-type]


def test_interrupted_jobs_are_run_again_and_not_counted(strategy: str) -> None:
    """A job cut short by its tuner's end is replaced on resume: its point is run again
    first, its partial value is no result, and it takes no point of the strategy's own."""
    space = SPACES[strategy]
    s = make(strategy, 7)
    done = run(strategy, 7, 4)
    pending = s.suggest(done, 2)
    # As the runner passes them on resume: Stopped after a signal (a partial value), or with
    # none after a kill.
    cut = [
        Observation(pending[0], "Stopped", 0.0, curve=((1, 0.0),), interrupted=True),
        Observation(pending[1], "Stopped", interrupted=True),
    ]
    assert not any(o.has_value for o in cut)
    assert s.suggest(done + cut, 1) == pending[:1]
    assert s.suggest(done + cut, 2) == pending
    more = s.suggest(done + cut, 3)
    assert more[:2] == pending and len(more) == 3
    assert space.key(more[2]) not in {space.key(o.hyperparameters) for o in done + cut}
    # The strategy's own suggestion is the one it makes while the re-runs are running.
    assert more[2:] == s.suggest(done + [Observation(hp, "InProgress") for hp in pending], 1)
    # Once re-run (or run by a later job), an interrupted point is not suggested again.
    rerun = [Observation(pending[0], "Completed", 1.0), Observation(pending[1], "InProgress")]
    fresh = {space.key(hp) for hp in s.suggest(done + cut + rerun, 2)}
    assert not fresh & {space.key(hp) for hp in pending}


def test_grid_walks_interrupted_points_again_to_its_size() -> None:
    space = SearchSpace({"a": CategoricalParameter(["x", "y"]), "b": IntegerParameter(1, 2)})
    s = make_strategy("Grid", space, 0)
    first = s.suggest([], 4)
    assert len(first) == 4
    # Two completed, two interrupted (killed, then stopped by a signal with a value).
    obs = [
        Observation(first[0], "Completed", 1.0),
        Observation(first[1], "Stopped", interrupted=True),
        Observation(first[2], "Completed", 2.0),
        Observation(first[3], "Stopped", 0.5, interrupted=True),
    ]
    again = s.suggest(obs, 4)
    assert again == [first[1], first[3]]
    obs += [Observation(hp, "Completed", 3.0) for hp in again]
    assert s.suggest(obs, 4) == []


def test_an_observation_log_updated_in_place_answers_as_the_same_list(strategy: str) -> None:
    """The runner keeps an ObservationLog (append a job, replace one that changed); a
    strategy asked with it again and again answers as a fresh one asked with a plain list of
    the same observations, through running, finished, failed, interrupted and re-run jobs."""
    space = SearchSpace({"a": CategoricalParameter(["x", "y", "z"]), "b": IntegerParameter(1, 4)})
    hyperband = HyperbandConfig(1, 9) if strategy == "Hyperband" else None
    kept = make_strategy(strategy, space, 3, hyperband=hyperband)

    def fresh() -> Strategy:
        return make_strategy(strategy, space, 3, hyperband=hyperband)

    log = ObservationLog()
    answers = []
    for step in range(7):
        got = kept.suggest(log, 2)
        assert got == fresh().suggest(list(log), 2), step
        assert kept.known(log) == fresh().known(list(log))
        answers.append(got)
        for hp in got:
            log.append(Observation(hp, "InProgress"))
        # The oldest running job ends: finished, failed or interrupted by turns.
        i = next(k for k, o in enumerate(log) if o.status == "InProgress")
        hp = log[i].hyperparameters
        if step % 3 == 0:
            log[i] = Observation(hp, "Completed", objective(space, dict(hp)), curve=((1, 0.5),))
        elif step % 3 == 1:
            log[i] = Observation(hp, "Failed")
        else:
            log[i] = Observation(hp, "Stopped", interrupted=True)
    assert any(answers) and len(log.interrupted) == 2
    # An interrupted entry replaced again (say, recorded once more) is counted again.
    j = log.interrupted[0]
    log[j] = Observation(log[j].hyperparameters, "Failed")
    assert kept.suggest(log, 3) == fresh().suggest(list(log), 3)
    # Another log, shorter: the kept strategy does not carry the first one's points over.
    other = ObservationLog(list(log)[:3])
    assert kept.suggest(other, 2) == fresh().suggest(list(other), 2)
    assert kept.suggest(log, 2) == fresh().suggest(list(log), 2)


def test_an_observation_log_reads_as_a_list() -> None:
    a, b = Observation({"x": 1}, "InProgress"), Observation({"x": 2}, "Failed")
    log = ObservationLog([a])
    log.append(b)
    log[-1] = Observation({"x": 2}, "Stopped", interrupted=True)
    assert len(log) == 2 and log[0] is a and list(log)[1].interrupted
    assert log.interrupted == [1] and list(log.changes) == [0, 1, 1]
    with pytest.raises(IndexError):
        log[2] = a
