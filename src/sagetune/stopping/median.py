"""SageMaker's early-stopping rule (``TrainingJobEarlyStoppingType = Auto``).

After each epoch of a training job, if its objective value is worse than the median of the
running averages of the objective of the previous training jobs up to the same epoch, the job
is stopped. "Previous" means created earlier in the same tuning job; a previous job counts at
epoch ``k`` once it has reported epoch ``k`` (running, completed or stopped), and its running
average is the mean of its values reported at epochs ``<= k``.

SageMaker does not publish when the rule starts to apply. Here it applies to a job's report
at epoch ``k`` when ``k >= min_epoch`` (default 1: from the first report) and at least
``min_jobs`` previous jobs have reached epoch ``k``; before that the job goes on. The tuner
sets ``min_jobs`` to a quarter of ``MaxNumberOfTrainingJobs``, at least 5 and at most 10
(:func:`min_jobs_for`): a median of fewer running averages is too noisy to stop on, and on
the benchmark's learning curves 5 stopped too many late bloomers in 40-job tuning jobs while
10 left too little to save in 24-job ones (BENCHMARKS.md).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from sagetune.stopping.base import CONTINUE, JobSnapshot, StopDecision, StoppingRule

MIN_JOBS = 5
MAX_MIN_JOBS = 10
MIN_EPOCH = 1


def min_jobs_for(max_jobs: int) -> int:
    """How many previous jobs must have reached an epoch before the rule applies there."""
    return min(max(MIN_JOBS, max_jobs // 4), MAX_MIN_JOBS)


class MedianStoppingRule(StoppingRule):
    """Stop a job whose value is worse than the median of earlier jobs' running averages.

    Args:
        min_jobs: how many previous jobs must have reached the epoch for the rule to apply.
        min_epoch: the first epoch at which a job may be stopped.
        maximize: the objective is maximised: the rule compares values to minimise (negated),
            and the reason shows them in the objective's own sign.

    Example:
        >>> rule = MedianStoppingRule(min_jobs=2)
        >>> done = [JobSnapshot("a", 1, "Completed", ((1, 0.5), (2, 0.3))),
        ...         JobSnapshot("b", 2, "Completed", ((1, 0.7), (2, 0.5)))]
        >>> new = JobSnapshot("c", 3, "InProgress", ((1, 0.9),))
        >>> decision = rule.on_metric(new, 1, 0.9, [*done, new])
        >>> decision.action
        'stop'
        >>> decision.reason.split(":")[0]
        'stopped by early stopping (Auto) at epoch 1'
    """

    def __init__(
        self, min_jobs: int = MIN_JOBS, min_epoch: int = MIN_EPOCH, maximize: bool = False
    ):
        if min_jobs < 1 or min_epoch < 1:
            raise ValueError("min_jobs and min_epoch must be >= 1")
        self.min_jobs = int(min_jobs)
        self.min_epoch = int(min_epoch)
        self.maximize = bool(maximize)

    def median_at(self, job: JobSnapshot, epoch: int, jobs: Sequence[JobSnapshot]) -> float | None:
        """The median of previous jobs' running averages up to ``epoch`` (None when fewer
        than ``min_jobs`` previous jobs have reached it)."""
        averages = [
            a for j in jobs if j.seq < job.seq for a in [j.running_average(epoch)] if a is not None
        ]
        if len(averages) < self.min_jobs:
            return None
        return statistics.median(averages)

    def on_metric(
        self, job: JobSnapshot, epoch: int, value: float, jobs: Sequence[JobSnapshot]
    ) -> StopDecision:
        if epoch < self.min_epoch:
            return CONTINUE
        median = self.median_at(job, epoch, jobs)
        if median is None or value <= median:
            return CONTINUE
        sign = -1.0 if self.maximize else 1.0
        return StopDecision(
            "stop",
            (
                f"stopped by early stopping (Auto) at epoch {epoch}: its objective "
                f"{sign * value:.6g} was worse than {sign * median:.6g}, the median of the "
                f"running averages of previous training jobs up to that epoch"
            ),
            epoch=epoch,
        )
