"""A fake executor that replays known learning curves, and a runner built around it.

Each ``poll`` advances every running job by one epoch (no sleeping): the tuner loop, the
store and the stopping rules run for real; only training is replaced by the curves.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from sagetune.executors.base import (
    Event,
    Executor,
    JobFinished,
    JobRequest,
    JobStarted,
    MetricReported,
)
from sagetune.runner import TuningJobRunner
from sagetune.service import create_tuning_job
from sagetune.spec import load_spec
from sagetune.store import open_store
from sagetune.store.sql import SQLStore
from sagetune.strategies import make_strategy

Curve = Callable[[dict[str, Any]], Sequence[float]]


class ReplayExecutor(Executor):
    """Runs each job as the curve ``curve(hyperparameters)``, one epoch per poll."""

    def __init__(self, curve: Curve, metric: str = "loss"):
        self.curve = curve
        self.metric = metric
        self.clock = itertools.count(1000.0, 1.0)
        self._jobs: dict[str, tuple[list[float], int]] = {}
        self.pending: list[Event] = []
        self.stops: list[tuple[str, int]] = []  # (job, epochs it had run when stopped)

    @property
    def running(self) -> set[str]:
        return set(self._jobs)

    def now(self) -> float:
        return next(self.clock)

    def start(self, job: JobRequest) -> None:
        self._jobs[job.name] = (list(self.curve(job.hyperparameters)), 0)
        self.pending.append(JobStarted(job.name, self.now()))

    def poll(self, timeout: float) -> list[Event]:
        events, self.pending = self.pending, []
        for name, (values, done) in list(self._jobs.items()):
            if done == len(values):
                del self._jobs[name]
                events.append(
                    JobFinished(name, self.now(), "Completed", metrics={self.metric: values[-1]})
                )
                continue
            events.append(MetricReported(name, self.metric, values[done], done + 1, self.now()))
            self._jobs[name] = (values, done + 1)
        return events

    def stop(self, name: str, reason: str) -> None:
        values, done = self._jobs.pop(name, ([], 0))
        if not values:
            return
        self.stops.append((name, done))
        self.pending.append(
            JobFinished(
                name,
                self.now(),
                "Stopped",
                metrics={self.metric: values[done - 1]} if done else {},
                failure_reason=reason,
            )
        )

    def shutdown(self) -> None:
        for name in list(self._jobs):
            self.stop(name, "the tuning job ended")


def replay_request(
    name: str,
    max_jobs: int,
    parallel: int,
    strategy: str = "Random",
    early: str = "Off",
    hyperband: dict[str, Any] | None = None,
    seed: int = 3,
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
        "ResourceLimits": {
            "MaxNumberOfTrainingJobs": max_jobs,
            "MaxParallelTrainingJobs": parallel,
        },
        "ParameterRanges": {
            "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]
        },
        "TrainingJobEarlyStoppingType": early,
        "RandomSeed": seed,
    }
    if hyperband is not None:
        config["StrategyConfig"] = {"HyperbandStrategyConfig": hyperband}
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": {"StaticHyperParameters": {}},
    }


def run_replayed(
    store_url: str, request: dict[str, Any], curve: Curve
) -> tuple[SQLStore, ReplayExecutor, TuningJobRunner]:
    """Create and run a tuning job whose training jobs replay ``curve``."""
    store = open_store(store_url)
    create_tuning_job(store, request, train_payload=b"unused")
    spec = load_spec(store.get_tuning_job(request["HyperParameterTuningJobName"]))
    executor = ReplayExecutor(curve)
    strategy = make_strategy(
        spec.strategy, spec.space, spec.random_seed or 0, hyperband=spec.hyperband
    )
    runner = TuningJobRunner(spec, store, executor, strategy, clock=executor.now)
    runner.run()
    return store, executor, runner
