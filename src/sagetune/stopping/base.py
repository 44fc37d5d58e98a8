"""The stopping interface: after each new point of a job's objective, continue or stop it.

A stopping rule is pure, like a strategy: it sees frozen snapshots of training jobs (their
objective curves, always to minimise) and answers; the tuner loop does the stopping. Rules are
tested against replayed curves without running anything.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# "complete": stop the job because it has trained enough (recorded Completed, not Stopped).
Decision = Literal["continue", "stop", "complete"]
Curve = tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class JobSnapshot:
    """One training job as a stopping rule sees it.

    Attributes:
        name: the training job's name.
        seq: its creation order in the tuning job (1, 2, ...).
        status: ``InProgress``, ``Stopping``, ``Completed``, ``Stopped`` or ``Failed``.
        curve: ``(epoch, value)`` points of the objective, in the order reported, values to
            minimise (a maximised objective is negated by the tuner).
    """

    name: str
    seq: int
    status: str
    curve: Curve = ()

    @property
    def last_epoch(self) -> int:
        """The highest epoch reported (0 before the first report)."""
        return max((e for e, _ in self.curve), default=0)

    def value_at(self, epoch: int) -> float | None:
        """The value at the first report at or after ``epoch`` (None if not reached).

        Jobs may report every few epochs (boosting rounds every 5, say): the first report
        that reaches an epoch stands for it.
        """
        for e, v in self.curve:
            if e >= epoch:
                return v
        return None

    def running_average(self, epoch: int) -> float | None:
        """Mean of the values reported up to ``epoch``, if the job has reached ``epoch``."""
        if self.last_epoch < epoch:
            return None
        values = [v for e, v in self.curve if e <= epoch]
        return sum(values) / len(values) if values else None


class StoppingRule(ABC):
    """Decides, at each new objective point of a running job, whether it goes on."""

    @abstractmethod
    def on_metric(self, job: JobSnapshot, epoch: int, value: float,
                  jobs: Sequence[JobSnapshot]) -> Decision:
        """Continue or stop ``job``, which just reported ``value`` (to minimise) at ``epoch``.

        Args:
            job: the job's snapshot, ``curve`` already holding the new point.
            epoch: the epoch of the new point.
            value: the new value, to minimise.
            jobs: every training job of the tuning job (``job`` included).
        """

    def reason(self, job: JobSnapshot, epoch: int) -> str:
        """The FailureReason recorded for a job this rule stopped."""
        return f"stopped early at epoch {epoch}"
