"""The store interface the rest of sagetune relies on, whatever database holds the data.

A store is the single source of truth for tuning jobs, training jobs and metric points; the
tuner, the CLI, the dashboard and reports in other processes all read it. Every implementation
keeps these promises (``tests/store/test_store_contract.py`` checks them on each one):

- Thread-safe: one store object may be shared by the tuner loop and its helpers.
- Every change is one transaction; readers never see half of it.
- Reads return snapshots (frozen dataclasses from ``store/records.py``) that later changes and
  the caller's edits never alter.
- Names are unique: creating a tuning job or training job under a taken name raises
  ``ResourceInUse``; reading or updating a tuning job that does not exist raises
  ``ResourceNotFound``.
- A finished training job (Completed, Failed, Stopped) never changes again.
- Metric points come back in the order they were recorded.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TypeAlias, runtime_checkable

from sagetune.store.records import (
    MetricPoint,
    TrainingJobRecord,
    TrainingJobStats,
    TrainingJobTotals,
    TuningJobRecord,
)


class _Unchanged(enum.Enum):
    UNCHANGED = "UNCHANGED"

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = _Unchanged.UNCHANGED
"""The default of every field of the update methods: leave the stored value as it is.

A sentinel rather than None because None is a value some fields are set to (a training job's
``failure_reason`` cleared when Hyperband completes it, a tuning job's ``failure_reason``).
"""

Unchanged: TypeAlias = Literal[_Unchanged.UNCHANGED]

TrainingJobSort: TypeAlias = Literal[
    "Name", "CreationTime", "Status", "FinalObjectiveMetricValue", "Seq", "Duration"
]
"""What ``training_jobs_page`` sorts by: the name, or ``created_at``, ``status``,
``objective``, ``seq`` or the duration (``ended_at - started_at``, missing until both are
set), each with the ties broken by ``seq`` within a tuning job and by the name across all of
them (so every order is total and a page is the same whichever way it is read). A missing
value (an objective, a duration) comes last whichever the direction."""


SAMPLE_STEP: Final = 2**0.5 - 1
"""The step of ``training_jobs_page``'s sample: ``seq * SAMPLE_STEP`` modulo 1 is spread
evenly over [0, 1) for any run of consecutive ``seq`` (a Weyl sequence), and an irrational
step does not line up with the periods a tuning job's jobs may have (every other job failing,
a categorical value cycling)."""


def sample_share(seq: int) -> float:
    """Where a job falls in ``training_jobs_page``'s sample: it is in a ``sample`` of share
    ``s`` when this is below ``s``."""
    return (seq * SAMPLE_STEP) % 1.0


@runtime_checkable
class Store(Protocol):
    """Tuning jobs, their training jobs and metric points, and the lease on a tuning job.

    Attributes:
        url: where the store is (a SQLAlchemy URL for the SQL store), as shown in messages and
            handed to processes that open the same store.
    """

    url: str

    @property
    def jobs_dir(self) -> Path:
        """The folder where training jobs' folders (logs, model outputs) are made."""
        ...

    def tuning_job_dir(self, tuning_job_name: str) -> Path:
        """A tuning job's folder under ``jobs_dir`` (its tuner log, its training jobs)."""
        ...

    def training_job_dir(self, tuning_job_name: str, training_job_name: str) -> Path:
        """A training job's folder (its ``/opt/ml`` mirror and ``log.txt``)."""
        ...

    def close(self) -> None:
        """Release connections; the object must not be used afterwards."""
        ...

    # tuning jobs -------------------------------------------------------------------------
    def create_tuning_job(self, record: TuningJobRecord) -> None:
        """Store a new tuning job.

        Raises:
            ResourceInUse: a tuning job of that name exists already (nothing is changed).
        """
        ...

    def get_tuning_job(self, name: str) -> TuningJobRecord:
        """The tuning job as stored now.

        Raises:
            ResourceNotFound: there is no tuning job of that name.
        """
        ...

    def list_tuning_jobs(self) -> list[TuningJobRecord]:
        """Every tuning job, newest (``created_at``) first, ties by name."""
        ...

    def update_tuning_job(
        self,
        name: str,
        *,
        status: str | Unchanged = UNCHANGED,
        last_modified_at: float | Unchanged = UNCHANGED,
        ended_at: float | None | Unchanged = UNCHANGED,
        failure_reason: str | None | Unchanged = UNCHANGED,
        details: Mapping[str, Any] | Unchanged = UNCHANGED,
    ) -> None:
        """Change the given fields of a tuning job in one transaction; the rest stay.

        The lease fields change only through the lease methods; the request, seed, creation
        time and stored callable never change.

        Raises:
            ResourceNotFound: there is no tuning job of that name.
        """
        ...

    def delete_tuning_job(self, name: str) -> None:
        """Remove a tuning job, its training jobs and their metric points in one transaction.

        Whether the job may be deleted (SageMaker deletes only finished ones) is the caller's
        rule; the store removes whatever it is asked to. The job folders stay on disk, as a
        deleted SageMaker job's outputs stay in S3.

        Raises:
            ResourceNotFound: there is no tuning job of that name.
        """
        ...

    # the lease ---------------------------------------------------------------------------
    # Heartbeats are the database's clock, never a tuner's: tuners on machines whose clocks
    # disagree still agree on whether a lease is alive.
    def database_time(self) -> float:
        """The store's clock (the database server's), in seconds since the epoch: what the
        heartbeats are written with and what a lease's age is measured against."""
        ...

    def acquire_lease(
        self, name: str, owner: str, ttl_seconds: float, dead_owner: str | None = None
    ) -> bool:
        """Make ``owner`` the tuner of a tuning job, with a heartbeat at the database's now.

        Args:
            name: the tuning job.
            owner: the taker's identity (``host:pid:token``).
            ttl_seconds: a heartbeat older than this, by the database's clock, is a dead
                tuner's; its lease is taken.
            dead_owner: an owner known to be gone (its process no longer exists), whose lease
                is taken however fresh its heartbeat.

        Returns:
            Whether ``owner`` holds the lease now: True if it was free, already ``owner``'s,
            stale or ``dead_owner``'s; False if another live tuner holds it (or the tuning job
            does not exist).
        """
        ...

    def renew_lease(self, name: str, owner: str) -> bool:
        """Record a heartbeat at the database's now.

        Returns:
            False if ``owner`` no longer holds the lease (another tuner took it over).
        """
        ...

    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up; nothing happens if ``owner`` does not hold it."""
        ...

    # training jobs -----------------------------------------------------------------------
    def create_training_job(self, record: TrainingJobRecord) -> None:
        """Store a new training job of an existing tuning job.

        Raises:
            ResourceInUse: a training job of that name exists already (nothing is changed).
        """
        ...

    def create_training_jobs(self, records: Sequence[TrainingJobRecord]) -> None:
        """Store many new training jobs in one transaction (an import, a benchmark's fill).

        Raises:
            ResourceInUse: one of the names is taken, or given twice (nothing is changed).
        """
        ...

    def get_training_job(self, name: str) -> TrainingJobRecord:
        """The training job as stored now.

        Raises:
            ResourceNotFound: there is no training job of that name.
        """
        ...

    def list_training_jobs(self, tuning_job_name: str) -> list[TrainingJobRecord]:
        """A tuning job's training jobs by ``seq`` (creation order); empty if it has none."""
        ...

    def training_jobs_page(
        self,
        tuning_job_name: str | None,
        *,
        sort_by: TrainingJobSort,
        descending: bool = False,
        offset: int = 0,
        limit: int,
        status: str | None = None,
        with_objective: bool = False,
        name_contains: str | None = None,
        created_after: float | None = None,
        created_before: float | None = None,
        modified_after: float | None = None,
        modified_before: float | None = None,
        hyperparameter: str | None = None,
        sample: float | None = None,
    ) -> list[TrainingJobRecord]:
        """One page of training jobs, filtered and sorted by the store (the list operations,
        the dashboard's table).

        Args:
            tuning_job_name: a tuning job's training jobs; None for every tuning job's.
            sort_by: the order (see ``TrainingJobSort``), reversed whole by ``descending``.
            offset: how many of the sorted jobs to skip.
            limit: at most this many jobs.
            status: only jobs of this status.
            with_objective: only jobs with an objective value.
            name_contains: only jobs whose name holds this, ignoring case.
            created_after, created_before: only jobs created strictly between.
            modified_after, modified_before: only jobs last modified (``ended_at``, else
                ``started_at``, else ``created_at``) strictly between.
            hyperparameter: sort by this hyperparameter's value instead of ``sort_by``:
                numbers by value, then text by code point (the reverse when descending), jobs
                without it last; ties as ``sort_by``'s.
            sample: only about this share (0 to 1) of the jobs, spread evenly over ``seq`` by
                a fixed rule (``sample_share``: the fractional part of ``seq`` times
                ``SAMPLE_STEP`` below the share), so the same share picks the same jobs.
        """
        ...

    def training_job_stats(self, tuning_job_name: str) -> TrainingJobStats:
        """Counts and the best job of a tuning job's training jobs, without reading them all."""
        ...

    def training_job_counts(self, tuning_job_names: Sequence[str]) -> dict[str, TrainingJobStats]:
        """For each named tuning job, its training jobs counted by status and objective (the
        best jobs and ``most_epochs`` left None), in one read whatever the number of jobs: the
        counters of ListHyperParameterTuningJobs. A name without training jobs counts none."""
        ...

    def training_job_totals(
        self,
        tuning_job_name: str,
        now: float,
        planned_epochs: int | None,
        objective_metrics: Mapping[str | None, str] | None = None,
    ) -> list[TrainingJobTotals]:
        """A tuning job's training jobs summed per definition (by definition name, None
        first), without reading them all; ``now`` ends running jobs, ``planned_epochs`` is
        what early-stopped jobs are measured against. Empty if it has no training jobs.

        The savings are ``cost.job_costs``'s: an early-stopped job's epochs not run at its
        pace between its first and last epochs of its definition's objective metric
        (``objective_metrics``, definition name -> metric name; billable seconds / epochs
        without two epochs, or without the mapping), capped by the longest full run.
        """
        ...

    def stopped_epoch_seconds(
        self, tuning_job_name: str, objective_metrics: Mapping[str | None, str]
    ) -> dict[str, float]:
        """Seconds per epoch of a tuning job's early-stopped training jobs, by name, from the
        times of their first and last epochs of their definition's objective metric
        (``objective_metrics``, definition name -> metric name), as ``cost.epoch_seconds``
        measures them; jobs with fewer than two epochs are left out. Without reading the
        points: the pace ``training_job_totals`` uses."""
        ...

    def update_training_job(
        self,
        name: str,
        *,
        status: str | Unchanged = UNCHANGED,
        started_at: float | None | Unchanged = UNCHANGED,
        ended_at: float | None | Unchanged = UNCHANGED,
        objective: float | None | Unchanged = UNCHANGED,
        final_metrics: Mapping[str, float] | Unchanged = UNCHANGED,
        failure_reason: str | None | Unchanged = UNCHANGED,
        log_path: str | None | Unchanged = UNCHANGED,
        process_id: int | None | Unchanged = UNCHANGED,
        interrupted: bool | Unchanged = UNCHANGED,
        billable_seconds: float | None | Unchanged = UNCHANGED,
        epochs_completed: int | None | Unchanged = UNCHANGED,
        early_stopped: bool | Unchanged = UNCHANGED,
    ) -> bool:
        """Change the given fields of a training job that has not finished.

        The check and the change are one transaction, so a job finished by one process (the
        tuner) is never overwritten by another (``stop-hyper-parameter-tuning-job``). Its
        name, tuning job, ``seq``, hyperparameters, definition and creation time never change.

        Returns:
            True if the job was changed; False if it had finished (or does not exist).
        """
        ...

    # metric points -----------------------------------------------------------------------
    def add_metric_points(self, points: Sequence[MetricPoint]) -> None:
        """Record points, in the given order, in one transaction; a point already stored (the
        same training job, metric, step and timestamp) is not recorded twice."""
        ...

    def metric_points(
        self, training_job_names: Iterable[str], metric_names: Iterable[str] | None = None
    ) -> list[MetricPoint]:
        """Every point of the given training jobs, in the order they were recorded; only
        those of ``metric_names`` when given."""
        ...

    def jobs_with_metric_points(
        self, tuning_job_name: str, metric_name: str, among: Sequence[str] | None = None
    ) -> list[str]:
        """The names of a tuning job's training jobs with at least one point of a metric, by
        ``seq``: which jobs have a curve, without reading the curves. ``among`` asks only
        about those jobs (a sample of a big tuning job)."""
        ...
