"""Immutable snapshots handed out by the store. Times are UNIX seconds (UTC)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sagetune.status import TrainingJobStatus, TuningJobStatus

TRAINING_JOB_STATUSES = tuple(TrainingJobStatus)
FINISHED = frozenset(s for s in TrainingJobStatus if s.finished)


@dataclass(frozen=True)
class TuningJobRecord:
    """One tuning job as stored.

    Attributes:
        request: the validated CreateHyperParameterTuningJob request, cloud-only fields included.
        status: a :class:`~sagetune.status.TuningJobStatus` (a plain string is converted).
        details: completion details (reason, counters) written when the job ends.
    """

    name: str
    status: TuningJobStatus
    request: dict[str, Any]
    seed: int
    created_at: float
    last_modified_at: float
    ended_at: float | None = None
    failure_reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    owner: str | None = None
    heartbeat_at: float | None = None
    train_payload: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # The store hands back the column's plain string; the record carries the enum.
        object.__setattr__(self, "status", TuningJobStatus(self.status))


@dataclass(frozen=True)
class TrainingJobRecord:
    """One training job as stored; ``objective`` is in the user's direction (not negated).

    ``status`` is a :class:`~sagetune.status.TrainingJobStatus` (a plain string is converted).
    """

    name: str
    tuning_job_name: str
    seq: int
    status: TrainingJobStatus
    hyperparameters: dict[str, Any]
    created_at: float
    started_at: float | None = None
    ended_at: float | None = None
    objective: float | None = None
    final_metrics: dict[str, float] = field(default_factory=dict)
    failure_reason: str | None = None
    log_path: str | None = None
    process_id: int | None = None
    interrupted: bool = False
    definition_name: str | None = None
    billable_seconds: float | None = None
    epochs_completed: int | None = None
    early_stopped: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", TrainingJobStatus(self.status))

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def objective_status(self) -> str:
        """SageMaker's ObjectiveStatus: Succeeded, Pending or Failed."""
        if self.objective is not None:
            return "Succeeded"
        return "Failed" if self.finished else "Pending"


@dataclass(frozen=True)
class MetricPoint:
    """One point of a metric's series (``step`` is the epoch or report index)."""

    training_job_name: str
    metric_name: str
    value: float
    step: int
    timestamp: float
