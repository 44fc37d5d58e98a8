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


@dataclass(frozen=True)
class TrainingJobStats:
    """What a tuning job's training jobs add up to, as the store counts them.

    Attributes:
        by_status: how many training jobs are in each state (states without jobs left out).
        with_objective: how many have an objective value.
        finished_without_objective: how many finished (Completed, Failed, Stopped) without one.
        best_minimum, best_maximum: the job with the smallest and the largest objective value
            (ties to the earlier ``seq``); None before any value.
        most_epochs: the most epochs a Completed job that was not early-stopped reported
            (None if none did): what ``planned_epochs`` falls back on.
        interrupted_finished: how many finished jobs were interrupted (a dead tuner's,
            replaced on resume and so not counted in ``MaxNumberOfTrainingJobs``).
    """

    by_status: dict[str, int]
    with_objective: int
    finished_without_objective: int
    best_minimum: TrainingJobRecord | None
    best_maximum: TrainingJobRecord | None
    most_epochs: int | None = None
    interrupted_finished: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    def best(self, maximize: bool) -> TrainingJobRecord | None:
        """The best job in the objective's direction."""
        return self.best_maximum if maximize else self.best_minimum


@dataclass(frozen=True)
class TrainingJobTotals:
    """Sums over the training jobs of one definition of a tuning job (the cost figures).

    Attributes:
        definition_name: the definition (None for a lone, unnamed one).
        jobs: how many training jobs.
        runtime_seconds: the sum of end (``now`` while running) minus start of jobs that started.
        billable_seconds: the sum of each job's billable seconds (``cost.billable_seconds``).
        billed_jobs: how many jobs have billable seconds above 0.
        epochs: the sum of ``epochs_completed``.
        early_stopped: how many jobs were early-stopped.
        epochs_not_run: the sum, over early-stopped jobs with epochs, of the planned epochs
            they did not run.
        saved_seconds: the seconds those epochs would have taken, at each job's own pace.
    """

    definition_name: str | None
    jobs: int
    runtime_seconds: float
    billable_seconds: float
    billed_jobs: int
    epochs: int
    early_stopped: int
    epochs_not_run: int
    saved_seconds: float
