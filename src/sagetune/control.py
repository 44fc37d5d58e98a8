"""Who drives a tuning job, and stopping one (or one training job) from anywhere.

A tuner holds a lease on its tuning job in the store: its identity (``host:pid:token``) and a
heartbeat renewed every few seconds. A second tuner for the same job is refused while the lease
is alive. A lease is stale when the heartbeat is older than ``LEASE_TTL_SECONDS``, or at once
when its process is on this host and no longer exists (a tuner killed with SIGKILL), so a dead
tuner never blocks ``resume``. Heartbeats are written and aged by the database's clock
(``Store.database_time``), never the tuners': machines whose clocks are minutes apart still
agree on who holds a lease.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable

from sagetune.errors import ResourceInUse, ValidationError
from sagetune.executors import procs
from sagetune.status import TrainingJobStatus, TuningJobStatus
from sagetune.store import Store
from sagetune.store.records import TuningJobRecord

LEASE_TTL_SECONDS = 20.0
HEARTBEAT_SECONDS = 2.0


def new_owner() -> str:
    """An identity for this tuner process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def owner_is_dead(owner: str | None) -> bool:
    """True when ``owner`` names a process on this host that no longer exists."""
    if not owner:
        return True
    try:
        host, pid_text, _ = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def lease_alive(record: TuningJobRecord, now: float) -> bool:
    """Whether a live tuner holds the tuning job, at ``now`` by the store's clock
    (``Store.database_time()``, what the heartbeat was written with)."""
    if record.owner is None or record.heartbeat_at is None:
        return False
    if record.heartbeat_at < now - LEASE_TTL_SECONDS:
        return False
    return not owner_is_dead(record.owner)


def acquire(store: Store, name: str, owner: str) -> None:
    """Take the lease or raise ResourceInUse naming the live holder."""
    record = store.get_tuning_job(name)
    dead = record.owner if record.owner and owner_is_dead(record.owner) else None
    if not store.acquire_lease(name, owner, LEASE_TTL_SECONDS, dead):
        holder = store.get_tuning_job(name).owner
        raise ResourceInUse(
            f"tuning job {name!r} is being run by another tuner ({holder}); "
            f"stop it first, or wait until it ends"
        )


class Lease:
    """The lease one tuner holds on one tuning job, from ``acquire`` to ``release``.

    Args:
        store: where the lease is kept.
        name: the tuning job.
        clock: when the heartbeat is due (injectable for tests); the heartbeat itself is the
            database's clock.
    """

    def __init__(self, store: Store, name: str, clock: Callable[[], float] = time.time):
        self.store = store
        self.name = name
        self.owner = new_owner()
        self.lost = False
        self._clock = clock
        self._last_heartbeat = 0.0

    def acquire(self) -> None:
        """Take the lease.

        Raises:
            ResourceInUse: a live tuner holds it.
        """
        acquire(self.store, self.name, self.owner)
        self._last_heartbeat = self._clock()

    def keep_alive(self) -> bool:
        """Renew the heartbeat when it is due; False once another tuner has taken the job over
        (this process was suspended, a laptop asleep, past the lease and the job resumed)."""
        now = self._clock()
        if not self.lost and now - self._last_heartbeat >= HEARTBEAT_SECONDS:
            self._last_heartbeat = now
            self.lost = not self.store.renew_lease(self.name, self.owner)
        return not self.lost

    def held(self) -> bool:
        """Whether this tuner still holds the lease, asked of the store now (renewing it), not
        when the heartbeat falls due; False from then on once another tuner took it over."""
        if not self.lost:
            self._last_heartbeat = self._clock()
            self.lost = not self.store.renew_lease(self.name, self.owner)
        return not self.lost

    def release(self) -> None:
        """Give the tuning job up (a no-op when another tuner has taken it over)."""
        self.store.release_lease(self.name, self.owner)


def last_values(store: Store, training_job_name: str) -> dict[str, float]:
    """The last reported value of each of a training job's metrics: what a job stopped
    without its tuner keeps as its final metrics."""
    last: dict[str, float] = {}
    for p in sorted(store.metric_points([training_job_name]), key=lambda p: (p.step, p.timestamp)):
        last[p.metric_name] = p.value
    return last


def _stopped_fields(store: Store, record: TuningJobRecord, training_job_name: str) -> dict:
    """Final metrics and objective of a job stopped here, from what it reported."""
    from sagetune.spec import load_spec

    metrics = last_values(store, training_job_name)
    job = store.get_training_job(training_job_name)
    objective = load_spec(record).objective_of(job.definition_name).metric_name
    return {"final_metrics": metrics, "objective": metrics.get(objective)}


def stop_tuning_job(store: Store, name: str) -> TuningJobRecord:
    """StopHyperParameterTuningJob.

    A job driven by a live tuner becomes ``Stopping``; the tuner stops its training jobs and
    marks it ``Stopped``. A job whose tuner is gone is marked ``Stopped`` here, its unfinished
    training jobs with it. Finished jobs are left as they are.
    """
    record = store.get_tuning_job(name)
    if record.status not in (TuningJobStatus.InProgress, TuningJobStatus.Stopping):
        return record
    now = time.time()
    if lease_alive(record, store.database_time()):
        store.update_tuning_job(name, status=TuningJobStatus.Stopping, last_modified_at=now)
    else:
        for job in store.list_training_jobs(name):
            if not job.finished:
                store.update_training_job(
                    job.name,
                    status=TrainingJobStatus.Stopped,
                    ended_at=now,
                    failure_reason="the tuning job was stopped",
                    **_stopped_fields(store, record, job.name),
                )
        store.update_tuning_job(
            name,
            status=TuningJobStatus.Stopped,
            ended_at=now,
            last_modified_at=now,
            details={**record.details, "CompletionReason": "stopped by request"},
        )
    return store.get_tuning_job(name)


STOP_REQUESTED = "stopped by request (StopTrainingJob)"


def stop_training_job(store: Store, name: str) -> None:
    """StopTrainingJob for one training job of a tuning job.

    Only the tuner writes a job's outcome: the request is the job's status ``Stopping`` in
    the store, which the tuner's loop picks up within a second, stopping the job's process
    and recording it ``Stopped`` (with its last objective value, if any). A job whose tuner
    is gone has nobody to do that: it is marked ``Stopped`` here, its process ended.
    A ``Stopping`` job is left as it is.

    Raises:
        ResourceNotFound: there is no training job of that name.
        ValidationError: the training job has finished.
    """
    job = store.get_training_job(name)
    if job.finished:
        raise ValidationError(
            f"TrainingJobName: training job {name!r} is {job.status}; only an InProgress "
            f"training job can be stopped"
        )
    if job.status == TrainingJobStatus.Stopping:
        return
    record = store.get_tuning_job(job.tuning_job_name)
    if lease_alive(record, store.database_time()):
        store.update_training_job(name, status=TrainingJobStatus.Stopping)
        return
    procs.end_orphaned_job(job.process_id, store.training_job_dir(job.tuning_job_name, name))
    store.update_training_job(
        name,
        status=TrainingJobStatus.Stopped,
        ended_at=time.time(),
        failure_reason=STOP_REQUESTED,
        **_stopped_fields(store, record, name),
    )
