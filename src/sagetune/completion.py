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


def jobs_not_improving(values: Sequence[float]) -> int:
    """How many finished jobs in a row, at the end, did not improve the best."""
    best, since = math.inf, 0
    for v in values:
        if v < best:
            best, since = v, 0
        else:
            since += 1
    return since


def converged(values: Sequence[float]) -> bool:
    n = len(values)
    if n < CONVERGENCE_MIN_JOBS:
        return False
    window = max(5, math.ceil(0.2 * n))
    spread = max(values) - min(values)
    before, after = min(values[:-window]), min(values)
    return spread == 0 or (before - after) < CONVERGENCE_TOLERANCE * spread


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
    stale = jobs_not_improving(values)
    if values and target is not None and min(values) <= target:
        return CompletionCheck("TargetObjectiveMetricValue reached", stale)
    if max_not_improving is not None and stale >= max_not_improving:
        return CompletionCheck(
            f"BestObjectiveNotImproving: {stale} training jobs in a row did "
            f"not improve the best objective",
            stale,
        )
    if on_convergence and converged(values):
        return CompletionCheck("ConvergenceDetected", stale)
    return CompletionCheck(None, stale)
