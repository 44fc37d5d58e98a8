"""When a tuning job may end before MaxNumberOfTrainingJobs: SageMaker's completion criteria.

All values here are minimised (the tuner flips a maximised objective), in the order the
training jobs finished.

- ``TargetObjectiveMetricValue``: the best value reaches the target.
- ``BestObjectiveNotImproving``: the last ``MaxNumberOfTrainingJobsNotImproving`` finished jobs
  with a value brought no improvement of the best.
- ``ConvergenceDetected``: at least ``CONVERGENCE_MIN_JOBS`` jobs have a value and, over the
  last ``max(5, 20% of them)``, the best improved by less than ``CONVERGENCE_TOLERANCE`` (0.1%)
  of the spread of all values seen (max - min). Unlike the rule above, tiny improvements do not
  keep the job going.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CONVERGENCE_MIN_JOBS = 10
CONVERGENCE_TOLERANCE = 1e-3


@dataclass(frozen=True)
class CompletionCheck:
    reason: str | None
    jobs_not_improving: int


class CompletionState:
    """The finished jobs' values, in the order they finished, with what the criteria read
    kept up to date as each is added, so that checking them after every job costs the same
    with ten thousand values as with ten.

    Args:
        values: minimised values already finished, in order.
    """

    def __init__(self, values: Sequence[float] = ()):
        self.values: list[float] = []
        self._prefix_min: list[float] = []  # the best of the first i + 1 values
        self._best, self._since, self._max = math.inf, 0, -math.inf
        for v in values:
            self.add(v)

    def add(self, value: float) -> None:
        """Record the next finished job's value."""
        self.values.append(value)
        if value < self._best:
            self._best, self._since = value, 0
        else:
            self._since += 1
        self._prefix_min.append(self._best)
        self._max = max(self._max, value)

    @property
    def jobs_not_improving(self) -> int:
        """How many finished jobs in a row, at the end, did not improve the best."""
        return self._since

    def converged(self) -> bool:
        """ConvergenceDetected (see the module's description)."""
        n = len(self.values)
        if n < CONVERGENCE_MIN_JOBS:
            return False
        window = max(5, math.ceil(0.2 * n))
        spread = self._max - self._best
        before, after = self._prefix_min[n - window - 1], self._best
        return spread == 0 or (before - after) < CONVERGENCE_TOLERANCE * spread

    def check(
        self, target: float | None, max_not_improving: int | None, on_convergence: bool
    ) -> CompletionCheck:
        """Which criterion, if any, says the tuning job is complete (see :func:`check`)."""
        stale = self._since
        if self.values and target is not None and self._best <= target:
            return CompletionCheck("TargetObjectiveMetricValue reached", stale)
        if max_not_improving is not None and stale >= max_not_improving:
            return CompletionCheck(
                f"BestObjectiveNotImproving: {stale} training jobs in a row did "
                f"not improve the best objective",
                stale,
            )
        if on_convergence and self.converged():
            return CompletionCheck("ConvergenceDetected", stale)
        return CompletionCheck(None, stale)


def jobs_not_improving(values: Sequence[float]) -> int:
    """How many finished jobs in a row, at the end, did not improve the best."""
    return CompletionState(values).jobs_not_improving


def converged(values: Sequence[float]) -> bool:
    """ConvergenceDetected for these values (see the module's description)."""
    return CompletionState(values).converged()


def check(
    values: Sequence[float],
    target: float | None,
    max_not_improving: int | None,
    on_convergence: bool,
) -> CompletionCheck:
    """Which criterion, if any, says the tuning job is complete.

    Args:
        values: minimised objective values in the order the jobs finished.
        target: the target in minimised form (None when not set).
        max_not_improving: MaxNumberOfTrainingJobsNotImproving (None when not set).
        on_convergence: whether CompleteOnConvergence is Enabled.
    """
    return CompletionState(values).check(target, max_not_improving, on_convergence)
