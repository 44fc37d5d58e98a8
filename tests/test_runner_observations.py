"""The runner keeps the strategy's observations up to date as jobs change, instead of
rebuilding them from every job on every suggestion: at each suggestion they equal what a
runner built afresh from the store sees, through launches, metric points, completions,
failures, early stops, interruptions and a resume."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from replay import ReplayExecutor, replay_request

from sagetune.executors.base import Event, JobFinished
from sagetune.runner import TuningJobRunner
from sagetune.service import create_tuning_job
from sagetune.spec import TuningJobSpec, load_spec
from sagetune.store import Store, open_store
from sagetune.strategies import Observation, Strategy, make_strategy


def curve(hp: dict[str, Any]) -> list[float]:
    x = float(hp["x"])
    return [(x - 0.3) ** 2 + 1.0 / e for e in range(1, 7)]


class FailingReplay(ReplayExecutor):
    """Replays curves; a job with x above 0.75 fails at once; after ``interrupt_after``
    polls, Ctrl-C reaches the tuner."""

    def __init__(self, interrupt_after: int | None = None):
        super().__init__(curve)
        self.polls = 0
        self.interrupt_after = interrupt_after

    def poll(self, timeout: float) -> list[Event]:
        self.polls += 1
        if self.interrupt_after is not None and self.polls == self.interrupt_after:
            raise KeyboardInterrupt
        events = []
        for name, (values, _) in list(self._jobs.items()):
            if values[0] > 1.2:  # (x - 0.3) ** 2 > 0.2: x above ~0.75
                del self._jobs[name]
                events.append(JobFinished(name, self.now(), "Failed", failure_reason="bad x"))
        return events + super().poll(timeout)


class Checking(Strategy):
    """Random search that compares what it is given with a runner built from the store."""

    def __init__(self, spec: TuningJobSpec, store: Store):
        super().__init__(spec.space, 3)
        self.inner = make_strategy("Random", spec.space, 3)
        self.spec, self.store = spec, store
        self.checks = 0
        self.mismatches: list[int] = []

    def suggest(self, observations: Sequence[Observation], n: int) -> list[dict[str, Any]]:
        fresh = TuningJobRunner(self.spec, self.store, FailingReplay(), self.inner)
        if list(observations) != list(fresh._observations()):
            self.mismatches.append(len(observations))
        self.checks += 1
        return self.inner.suggest(observations, n)

    def _suggest(self, observations: Sequence[Observation], n: int) -> list[dict[str, Any]]:
        raise AssertionError("suggest is overridden")


def test_the_observations_kept_equal_a_rebuild_through_a_resume(store_url: str) -> None:
    store = open_store(store_url)
    request = replay_request("kept", 30, 3, early="Auto")
    create_tuning_job(store, request, train_payload=b"unused")
    spec = load_spec(store.get_tuning_job("kept"))

    first = FailingReplay(interrupt_after=25)
    checking = Checking(spec, store)
    runner = TuningJobRunner(spec, store, first, checking, clock=first.now)
    with pytest.raises(KeyboardInterrupt):
        runner.run()
    interrupted = [j for j in store.list_training_jobs("kept") if j.interrupted]
    assert interrupted, "Ctrl-C found no job running"

    # Resume as the service does: the tuning job InProgress again, a new runner.
    store.update_tuning_job("kept", status="InProgress", ended_at=None, details={})
    second = FailingReplay()
    resumed = Checking(spec, store)
    runner = TuningJobRunner(spec, store, second, resumed, clock=second.now)
    runner.run()

    jobs = store.list_training_jobs("kept")
    statuses = {j.status for j in jobs}
    assert {"Completed", "Failed", "Stopped"} <= statuses, statuses
    assert any(j.early_stopped for j in jobs)
    assert sum(not j.interrupted for j in jobs) == 30
    assert checking.checks > 5 and resumed.checks > 5
    assert checking.mismatches == [] and resumed.mismatches == []
    # And at the end, after the last jobs' ends were recorded.
    fresh = TuningJobRunner(spec, store, FailingReplay(), resumed.inner)
    assert list(runner._observations()) == list(fresh._observations())
    assert runner._budget_used() == fresh._budget_used() == 30
