"""The stopping interface: after each new point of a job's objective, continue or stop it.

A stopping rule is pure, like a strategy: it sees frozen snapshots of training jobs (their
objective curves, always to minimise) and answers with a frozen :class:`StopDecision` that
carries its own reason; the tuner loop does the stopping. A rule keeps nothing between calls,
so the same snapshots always give the same decision (a resumed tuning job decides as the first
tuner would have), and rules are tested against replayed curves without running anything.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sagetune.status import TrainingJobStatus

# "complete": stop the job because it has trained enough (recorded Completed, not Stopped).
StopAction = Literal["continue", "stop", "complete"]
Curve = tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class StopDecision:
    """What a stopping rule decided for one new objective point, and why.

    Attributes:
        action: ``continue`` (the job goes on), ``stop`` (recorded Stopped, early-stopped) or
            ``complete`` (it has trained enough: ended and recorded Completed).
        reason: the FailureReason to record for ``stop`` and ``complete`` (required there);
            None for ``continue``.
        epoch: the epoch the decision was taken at (a job may report later epochs before
            it stops: the record names the one it reached).

    Example:
        >>> StopDecision("stop", "worse than the median at epoch 3").action
        'stop'
        >>> CONTINUE.reason is None
        True
    """

    action: StopAction
    reason: str | None = None
    epoch: int | None = None

    def __post_init__(self) -> None:
        # The reason travels to the executor and the store: a stop without one would leave a
        # job Stopped with nothing to say why.
        if self.action not in ("continue", "stop", "complete"):
            raise ValueError(f"action must be continue, stop or complete, got {self.action!r}")
        if self.action == "continue" and self.reason is not None:
            raise ValueError("a continue decision has no reason")
        if self.action != "continue" and not self.reason:
            raise ValueError(f"a {self.action} decision needs a reason")


CONTINUE = StopDecision("continue")


@dataclass(frozen=True)
class JobSnapshot:
    """One training job as a stopping rule sees it.

    Attributes:
        name: the training job's name.
        seq: its creation order in the tuning job (1, 2, ...).
        status: ``InProgress``, ``Stopping``, ``Completed``, ``Stopped`` or ``Failed`` (a plain
            string is turned into its :class:`~sagetune.status.TrainingJobStatus`).
        curve: ``(epoch, value)`` points of the objective, in the order reported, values to
            minimise (a maximised objective is negated by the tuner).
    """

    name: str
    seq: int
    status: TrainingJobStatus
    curve: Curve = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", TrainingJobStatus(self.status))

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
    """Decides, at each new objective point of a running job, whether it goes on.

    A rule keeps no state between calls: everything it decides on is in its arguments, and
    everything it has to say is in the returned decision.
    """

    @abstractmethod
    def on_metric(
        self, job: JobSnapshot, epoch: int, value: float, jobs: Sequence[JobSnapshot]
    ) -> StopDecision:
        """Continue, stop or complete ``job``, which just reported ``value`` at ``epoch``.

        Args:
            job: the job's snapshot, ``curve`` already holding the new point.
            epoch: the epoch of the new point.
            value: the new value, to minimise.
            jobs: every training job of the tuning job (``job`` included).

        Returns:
            :data:`CONTINUE`, or a ``stop`` or ``complete`` decision with the FailureReason
            to record.
        """
