"""The tuner loop: the one place that knows the strategy, the executor and the store.

Each turn: check whether the tuning job must end (stop requested, MaxRuntimeInSeconds, a
completion criterion), ask the strategy for as many suggestions as there are free parallel
slots (never more than MaxNumberOfTrainingJobs in total, failed jobs included, as in SageMaker),
start them, then wait for executor events and record each state change in the store.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, NoReturn, Protocol

from sagetune import completion, control, interrupts
from sagetune.errors import ExecutorUnavailable, LeaseLost, ResourceInUse, StoreUnavailable
from sagetune.executors import procs
from sagetune.executors.base import Executor, JobFinished, JobRequest, JobStarted, MetricReported
from sagetune.executors.process import metrics_from_result
from sagetune.interrupts import Terminated
from sagetune.naming import training_job_name
from sagetune.spec import TuningJobSpec
from sagetune.status import TrainingJobStatus, TuningJobStatus
from sagetune.stopping import (
    JobSnapshot,
    MedianStoppingRule,
    StopDecision,
    StoppingRule,
    min_jobs_for,
)
from sagetune.store import Store
from sagetune.store.records import MetricPoint, TrainingJobRecord, TuningJobRecord
from sagetune.strategies import Observation, ObservationLog, Strategy
from sagetune.strategies.hyperband import HyperbandStrategy

_POLL_SECONDS = 0.25
_STOP_CHECK_SECONDS = 0.5
_SHUTDOWN_SECONDS = 30.0
# In a tuning job's details: it was stopped because the store was unreachable, and
# ``sagetune resume`` may take it up again (``service.run_tuning_job``).
STORE_LOST = "StoppedStoreUnreachable"
# In a tuning job's details: its tuner was stopped by SIGTERM or Ctrl-C. The training jobs it
# stopped are recorded interrupted, and ``sagetune resume`` takes the tuning job up again.
SIGNALLED = "StoppedBySignal"
# Likewise, because the executor could no longer reach its training jobs (a Ray cluster gone).
EXECUTOR_LOST = "StoppedExecutorUnreachable"


class Progress(Protocol):
    def update(
        self,
        tuning_job: TuningJobRecord,
        jobs: list[TrainingJobRecord],
        latest: Mapping[str, float] | None = None,
    ) -> None: ...


def default_stopping_rule(spec: TuningJobSpec, strategy: Strategy) -> StoppingRule | None:
    """Hyperband's own rule, SageMaker's median rule for early stopping Auto, else none."""
    if isinstance(strategy, HyperbandStrategy):
        return strategy.rule
    if spec.early_stopping_type == "Auto":
        return MedianStoppingRule(min_jobs=min_jobs_for(spec.max_jobs), maximize=spec.maximize)
    return None


class TuningJobRunner:
    """Runs one tuning job to its end.

    Args:
        spec: the validated tuning job.
        store: where every state change goes.
        executor: runs the training jobs.
        strategy: suggests hyperparameters.
        progress: optional live display, told of every change.
        clock: the time source (injectable for tests).
    """

    def __init__(
        self,
        spec: TuningJobSpec,
        store: Store,
        executor: Executor,
        strategy: Strategy,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.time,
        warm_start: Any = None,
    ):
        self.spec = spec
        self.store = store
        self.executor = executor
        self.strategy = strategy
        self.progress = progress
        self.clock = clock
        self.warm_start = warm_start  # a sagetune.warmstart.WarmStart, or None
        # In creation order (by seq), as every reader of the jobs wants them.
        self.jobs: dict[str, TrainingJobRecord] = {
            j.name: j for j in sorted(store.list_training_jobs(spec.name), key=lambda j: j.seq)
        }
        self.record = store.get_tuning_job(spec.name)
        self._running: set[str] = set()
        self._last_stop_check = 0.0
        self.lease = control.Lease(store, spec.name, clock)
        self.stopping = default_stopping_rule(spec, strategy)
        # Each job's objective curve (epoch, value to minimise), and the rule's decision for
        # each job it ended (at most one: a job being stopped is not asked again).
        self._curves: dict[str, list[tuple[int, float]]] = {name: [] for name in self.jobs}
        for p in store.metric_points(self.jobs):
            if p.metric_name == self._objective_metric(self.jobs[p.training_job_name]):
                self._curves[p.training_job_name].append((p.step, spec.to_minimize(p.value)))
        self._decisions: dict[str, StopDecision] = {}
        self._signal_stop: str | None = None  # why the jobs were stopped, after a signal
        # Kept as jobs change, so that no suggestion or end check walks every job: the
        # strategy's observations (an entry per job, rebuilt when its job or curve changed),
        # the interrupted jobs, and the finished values in the order they finished.
        self._log = ObservationLog(self._observation(j) for j in self.jobs.values())
        self._index = {name: i for i, name in enumerate(self.jobs)}
        self._stale: set[str] = set()
        self._interrupted = {j.name for j in self.jobs.values() if j.interrupted}
        self._finish_order: list[tuple[float, int]] = []
        self._done = completion.CompletionState()
        for j in sorted(self.jobs.values(), key=self._finish_key):
            if j.objective is not None:
                self._finish_order.append(self._finish_key(j))
                self._done.add(self.spec.to_minimize(j.objective))

    # bookkeeping ------------------------------------------------------------------------------
    def _set(self, name: str, **fields: Any) -> None:
        if self.store.update_training_job(name, **fields):
            self._replace(name, **fields)

    def _replace(self, name: str, **fields: Any) -> None:
        """Change the runner's copy of a job, and what it keeps derived from the jobs."""
        before = self.jobs[name]
        job = self.jobs[name] = replace(before, **fields)
        self._stale.add(name)
        if job.interrupted:
            self._interrupted.add(name)
        else:
            self._interrupted.discard(name)
        if job.objective is not None and before.objective is None:
            key = self._finish_key(job)
            value = self.spec.to_minimize(job.objective)
            if not self._finish_order or key >= self._finish_order[-1]:
                self._finish_order.append(key)
                self._done.add(value)
            else:  # ended before one recorded already (rare): the order is rebuilt
                done = [j for j in self.jobs.values() if j.objective is not None]
                done.sort(key=self._finish_key)
                self._finish_order = [self._finish_key(j) for j in done]
                self._done = completion.CompletionState(
                    [self.spec.to_minimize(j.objective) for j in done]  # type: ignore[arg-type]
                )

    @staticmethod
    def _finish_key(job: TrainingJobRecord) -> tuple[float, int]:
        return (job.ended_at or 0.0, job.seq)

    def _observation(self, j: TrainingJobRecord) -> Observation:
        """The job as the strategy sees it."""
        hp = self.spec.to_strategy_point(j.definition_name, j.hyperparameters)
        curve = tuple(self._curves.get(j.name, ()))
        if j.interrupted:  # replaced by a new job: its point is free again
            return Observation(hp, TrainingJobStatus.Stopped, curve=curve, interrupted=True)
        if j.status in (TrainingJobStatus.InProgress, TrainingJobStatus.Stopping):
            return Observation(hp, TrainingJobStatus.InProgress, curve=curve)
        if j.objective is not None:
            return Observation(hp, j.status, self.spec.to_minimize(j.objective), curve=curve)
        return Observation(hp, TrainingJobStatus.Failed)

    def _observations(self) -> Sequence[Observation]:
        """Every job's observation in creation order (the parents' first, in a warm start).

        The log is updated in place, only for the jobs that changed since the last call."""
        for name in self._stale:
            self._log[self._index[name]] = self._observation(self.jobs[name])
        self._stale.clear()
        if self.warm_start is not None:
            return self.warm_start.combine(self._log)
        return self._log

    def _notify(self) -> None:
        if self.progress is not None:
            # A running job has no objective yet: the display shows its last reported value.
            # Looked up by running job, not over every job's curve.
            latest = {
                name: self.spec.to_minimize(curve[-1][1])  # to_minimize is its own inverse
                for name in self._running
                if (curve := self._curves.get(name))
            }
            self.progress.update(self.record, list(self.jobs.values()), latest)

    # the loop ---------------------------------------------------------------------------------
    def run(self) -> TuningJobRecord:
        """Run until the tuning job ends; returns its final record.

        Raises:
            KeyboardInterrupt: after Ctrl-C, once the tuning job is recorded Stopped.
            SystemExit: with code 143 after SIGTERM, likewise.
            StoreUnavailable: the store stayed unreachable past its retry budget.
            LeaseLost: another tuner took the job over while the store was unreachable; its
                training jobs were stopped and nothing more was written.
        """
        with interrupts.deferred_stops():
            record = self._run()
            try:  # one that came during the last bookkeeping: the job ended, the process goes
                interrupts.check()
            except Terminated:
                raise SystemExit(128 + signal.SIGTERM) from None
            return record

    def _run(self) -> TuningJobRecord:
        self.lease.acquire()
        self._recover_interrupted()
        reason: str | None = None
        final_status = TuningJobStatus.Completed
        interrupted: type[BaseException] | None = None
        store_lost: StoreUnavailable | None = None
        lease_lost: LeaseLost | None = None
        executor_lost: ExecutorUnavailable | None = None
        try:
            while True:
                interrupts.check()  # a signal since the last turn: nothing is half-done here
                stop = self._stop_reason()
                if stop is not None:
                    final_status, reason = stop
                    break
                launched = self._launch()
                if not self._running and not launched:
                    reason = (
                        "MaxNumberOfTrainingJobs reached"
                        if self._budget_used() >= self.spec.max_jobs
                        else "the strategy has no more configurations to try"
                    )
                    break
                self._handle(self.executor.poll(_POLL_SECONDS))
        except (KeyboardInterrupt, Terminated) as exc:
            # Ctrl-C or SIGTERM is a stop request: record it, so the store never shows a live
            # job.
            how = "SIGTERM" if isinstance(exc, Terminated) else "KeyboardInterrupt"
            final_status, reason = TuningJobStatus.Stopped, f"interrupted ({how})"
            interrupted = type(exc)
        except StoreUnavailable as exc:  # past the retry budget: stop, say so, exit
            store_lost = exc
        except LeaseLost as exc:  # taken over during an outage: the store is the new tuner's
            lease_lost = exc
        except ExecutorUnavailable as exc:  # nothing can be stopped there: record and exit
            executor_lost = exc
        finally:
            why = f"the tuning job ended: {reason or 'interrupted'}"
            if interrupted is not None:
                self._signal_stop = why
            try:
                if lease_lost is not None:
                    raise lease_lost
                if store_lost is not None:
                    raise store_lost
                if executor_lost is not None:
                    raise executor_lost
                # Ends already reported are recorded as they are (a job Hyperband completed,
                # say), not as interrupted ones to run again.
                self._handle(self.executor.poll(0))
                known = self.executor.running
                for name in list(self._running):
                    if name in known:
                        self.executor.stop(name, why)
                    else:  # interrupted before its executor took it: nothing runs to wait for
                        self._handle(
                            [
                                JobFinished(
                                    name,
                                    self.clock(),
                                    TrainingJobStatus.Stopped,
                                    failure_reason=why,
                                )
                            ]
                        )
                deadline = time.time() + _SHUTDOWN_SECONDS
                while self._running and time.time() < deadline:
                    self._handle(self.executor.poll(0.1))
            except StoreUnavailable as exc:
                store_lost = exc
                self._stop_unrecorded(f"the tuning job ended: {exc}")
            except LeaseLost as exc:
                lease_lost = exc
                self.lease.lost = True
                self._stop_unrecorded(f"the tuning job ended: {exc}")
            except ExecutorUnavailable as exc:  # also when it is lost while jobs are stopped
                executor_lost = exc
            self.executor.shutdown()
            if not self.lease.lost:  # what escaped its job (a start cut short by a signal)
                procs.sweep(procs.tuning_marker(self.store.tuning_job_dir(self.spec.name)))
        if lease_lost is not None:
            raise lease_lost
        if store_lost is not None:
            self._store_lost(store_lost)
        if executor_lost is not None:
            self._executor_lost(executor_lost)
        if self.lease.lost:  # the tuning job is the new tuner's to finish
            return self.store.get_tuning_job(self.spec.name)
        try:
            record = self._finish(final_status, reason)
            self.lease.release()
        except StoreUnavailable as exc:
            self._store_lost(exc)
        if interrupted is Terminated:
            raise SystemExit(128 + signal.SIGTERM)
        if interrupted is not None:
            raise KeyboardInterrupt
        return record

    def _stop_unrecorded(self, why: str) -> None:
        """Stop every running job without recording anything (the store is unreachable)."""
        deadline = time.time() + _SHUTDOWN_SECONDS
        for name in list(self.executor.running):
            self.executor.stop(name, why)
        while self.executor.running and time.time() < deadline:
            self.executor.poll(0.1)

    def _store_lost(self, exc: StoreUnavailable) -> NoReturn:
        """After the store stayed unreachable past its retry budget (the jobs are stopped):
        record the tuning job Stopped with the reason, if the store answers now, and raise.

        Its unfinished training jobs are recorded interrupted, so ``sagetune resume`` replaces
        them; if nothing can be written, resume finds them as a dead tuner's orphans.

        Raises:
            StoreUnavailable: always, its message saying how to go on.
        """
        message = f"{exc}; resume with sagetune resume {self.spec.name}"
        self._stop_resumable(message, STORE_LOST, "the store was unreachable")
        raise type(exc)(message) from None  # a full disk stays StoreNotWritable

    def _executor_lost(self, exc: ExecutorUnavailable) -> NoReturn:
        """After the executor lost its training jobs (a Ray cluster gone): record the tuning
        job Stopped with the reason, its unfinished jobs interrupted, and raise.

        Raises:
            ExecutorUnavailable: always, its message saying how to go on.
        """
        message = f"{exc}; resume with sagetune resume {self.spec.name} once it is back"
        self._stop_resumable(message, EXECUTOR_LOST, "its executor became unreachable")
        raise ExecutorUnavailable(message) from None

    def _stop_resumable(self, message: str, marker: str, what: str) -> None:
        """Record the tuning job Stopped with ``message`` and the details key ``marker`` (so
        ``sagetune resume`` takes it up again), its unfinished jobs interrupted (``what``
        happened while they ran); nothing when the store does not answer."""
        now = self.clock()
        try:
            for job in list(self.jobs.values()):
                if not job.finished:
                    self.store.update_training_job(
                        job.name,
                        status=TrainingJobStatus.Stopped,
                        ended_at=now,
                        interrupted=True,
                        failure_reason=f"interrupted: {what} while this training job ran; "
                        "a new training job replaces it on resume",
                    )
            record = self.store.get_tuning_job(self.spec.name)
            self.store.update_tuning_job(
                self.spec.name,
                status=TuningJobStatus.Stopped,
                ended_at=now,
                last_modified_at=now,
                failure_reason=message,
                details={**record.details, "CompletionReason": message, marker: True},
            )
            self.lease.release()
        except StoreUnavailable:
            pass  # left InProgress: resume takes it over once this process is gone

    def _recover_interrupted(self) -> None:
        """Jobs left running by a dead tuner: end their processes, mark them interrupted.

        They are replaced by new training jobs and do not count toward MaxNumberOfTrainingJobs.
        """
        now = self.clock()
        # Everything the dead tuner started, found by its marker: also a script started
        # before its process id was recorded, and children that left their process group.
        procs.sweep(procs.tuning_marker(self.store.tuning_job_dir(self.spec.name)))
        orphans = [job.name for job in self.jobs.values() if not job.finished]
        if orphans:
            self.executor.end_orphans(orphans)
        for job in list(self.jobs.values()):
            if job.finished:
                continue
            if job.process_id:
                procs.end_orphaned_job(
                    job.process_id, self.store.training_job_dir(self.spec.name, job.name)
                )
            self._set(
                job.name,
                status=TrainingJobStatus.Stopped,
                ended_at=now,
                interrupted=True,
                failure_reason="interrupted: the tuner process ended while this training "
                "job ran; a new training job replaces it",
                # What it reported is kept; no objective: it did not run to its end.
                final_metrics=control.last_values(self.store, job.name),
            )

    def _budget_used(self) -> int:
        return len(self.jobs) - len(self._interrupted)

    def _stop_reason(self) -> tuple[TuningJobStatus, str] | None:
        now = self.clock()
        if not self.lease.keep_alive():  # a new tuner resumed the job: leave it to that one
            return TuningJobStatus.Stopped, "another tuner took this tuning job over"
        if now - self._last_stop_check >= _STOP_CHECK_SECONDS:
            self._last_stop_check = now
            self.record = self.store.get_tuning_job(self.spec.name)
            if self.record.status in (TuningJobStatus.Stopping, TuningJobStatus.Stopped):
                return TuningJobStatus.Stopped, "stopped by request"
            self._stop_requested_jobs()
        limit = self.spec.max_runtime_in_seconds
        if limit is not None and now - self.record.created_at >= limit:
            return TuningJobStatus.Completed, "MaxRuntimeInSeconds reached"
        target = self.spec.target_objective_value
        result = self._done.check(
            None if target is None else self.spec.to_minimize(target),
            self.spec.max_jobs_not_improving,
            self.spec.complete_on_convergence,
        )
        if result.reason is not None:
            return TuningJobStatus.Completed, result.reason
        return None

    def _stop_requested_jobs(self) -> None:
        """Stop the running jobs StopTrainingJob marked ``Stopping`` in the store.

        The request is only the status; the outcome (Stopped, with the job's last objective
        value) is written here when the executor reports the job's end, as for every job.
        """
        for name in list(self._running):
            if self.jobs[name].status != TrainingJobStatus.InProgress:
                continue  # being stopped already
            try:
                stored = self.store.get_training_job(name)
            except LookupError:
                continue
            if stored.status != TrainingJobStatus.Stopping:
                continue
            self._replace(name, status=TrainingJobStatus.Stopping)
            if name in self.executor.running:
                self.executor.stop(name, control.STOP_REQUESTED)
            else:  # not yet taken by its executor: nothing runs to wait for
                self._handle(
                    [
                        JobFinished(
                            name,
                            self.clock(),
                            TrainingJobStatus.Stopped,
                            failure_reason=control.STOP_REQUESTED,
                        )
                    ]
                )

    def _launch(self) -> int:
        free = self.spec.max_parallel_jobs - len(self._running)
        remaining = self.spec.max_jobs - self._budget_used()
        n = min(free, remaining)
        if n <= 0:
            return 0
        suggestions = self.strategy.suggest(self._observations(), n)[:n]
        for joint in suggestions:
            definition, hp = self.spec.from_strategy_point(joint)
            seq = len(self.jobs) + 1
            name = training_job_name(self.spec.name, seq)
            now = self.clock()
            job_dir = self.store.training_job_dir(self.spec.name, name)
            record = TrainingJobRecord(
                name=name,
                tuning_job_name=self.spec.name,
                seq=seq,
                status=TrainingJobStatus.InProgress,
                hyperparameters=hp,
                created_at=now,
                log_path=str(job_dir / "log.txt"),
                definition_name=definition,
            )
            try:
                self.store.create_training_job(record)
            except ResourceInUse:
                # Suspended past the lease mid-launch: the tuner that took over has started
                # this job itself. It is that tuner's; this one leaves without launching more.
                if self.lease.held():
                    raise
                return 0
            self.jobs[name] = record
            self._index[name] = len(self._log)
            self._log.append(self._observation(record))
            self._running.add(name)
            static = self.spec.definition(definition).static_hyperparameters
            self.executor.start(JobRequest(name, {**static, **hp}, job_dir, definition))
        if suggestions:
            self._touch()
            self._notify()
        return len(suggestions)

    def _handle(self, events: list[Any]) -> None:
        if not events:
            return
        points: list[MetricPoint] = []
        for ev in events:
            if ev.name not in self.jobs:
                continue
            if isinstance(ev, MetricReported):
                points.append(MetricPoint(ev.name, ev.metric, ev.value, ev.step, ev.time))
                self._on_point(ev)
                continue
            if points:  # keep the store's order: points before the job's end
                self.store.add_metric_points(points)
                points = []
            if isinstance(ev, JobStarted):
                self._set(ev.name, started_at=ev.time, process_id=ev.pid)
            elif isinstance(ev, JobFinished):
                self._finish_job(ev)
        self.store.add_metric_points(points)
        self._touch()
        self._notify()

    def _objective_metric(self, job: TrainingJobRecord) -> str:
        return self.spec.objective_of(job.definition_name).metric_name

    def _on_point(self, ev: MetricReported) -> None:
        """Record an objective point and ask the stopping rule whether the job goes on."""
        job = self.jobs[ev.name]
        if ev.metric != self._objective_metric(job) or not math.isfinite(ev.value):
            return
        value = self.spec.to_minimize(ev.value)
        self._curves.setdefault(ev.name, []).append((ev.step, value))
        self._stale.add(ev.name)
        if (
            self.stopping is None
            or ev.name not in self._running
            or ev.name in self._decisions
            or job.status != TrainingJobStatus.InProgress
        ):
            return
        # An interrupted job is no peer: its replacement (often at the same point) runs for it.
        snapshots = [
            JobSnapshot(j.name, j.seq, j.status, tuple(self._curves.get(j.name, ())))
            for j in self.jobs.values()
            if not j.interrupted
        ]
        me = next(s for s in snapshots if s.name == ev.name)
        decision = self.stopping.on_metric(me, ev.step, value, snapshots)
        if decision.action == "continue":
            return
        self._decisions[ev.name] = decision
        self._set(ev.name, status=TrainingJobStatus.Stopping)
        # StopDecision requires a reason for stop and complete; "or" only satisfies the type.
        self.executor.stop(ev.name, decision.reason or decision.action)

    def _finish_job(self, ev: JobFinished) -> None:
        self._running.discard(ev.name)
        job = self.jobs[ev.name]
        fields: dict[str, Any] = {
            "ended_at": ev.time,
            "status": ev.status,
            "failure_reason": ev.failure_reason,
        }
        if job.started_at is None:
            fields["started_at"] = ev.time
        objective = self._objective_metric(job)
        curve = self._curves.get(ev.name, [])
        decision = self._decisions.get(ev.name)
        started = fields.get("started_at", job.started_at)
        if ev.billable_seconds is not None:  # a spot job: its running time, not its waits
            fields["billable_seconds"] = ev.billable_seconds
        else:
            fields["billable_seconds"] = max(0.0, ev.time - started) if started else 0.0
        fields["epochs_completed"] = max((e for e, _ in curve), default=0)
        if (
            self._signal_stop is not None
            and ev.status == TrainingJobStatus.Stopped
            and (ev.failure_reason or "").startswith(self._signal_stop)
        ):
            # Stopped because its tuner was: a resume replaces it, as one whose tuner died.
            first, sep, rest = (ev.failure_reason or "").partition("\n")
            fields["interrupted"] = True
            fields["failure_reason"] = (
                f"{first}; a new training job replaces it on resume{sep}{rest}"
            )
        if ev.status == TrainingJobStatus.Stopped and decision is not None:
            # Stopped by the rule: the last reported value is the job's final objective.
            if decision.action == "complete":  # Hyperband's MaxResource: trained enough
                fields.update(status=TrainingJobStatus.Completed, failure_reason=None)
            else:
                fields["early_stopped"] = True
                reached = fields["epochs_completed"]
                if decision.epoch is not None and reached > decision.epoch and ev.failure_reason:
                    # It trained on while the stop reached it: the record says how far.
                    first, sep, rest = ev.failure_reason.partition("\n")
                    fields["failure_reason"] = (
                        f"{first} (it reached epoch {reached} before it stopped){sep}{rest}"
                    )
            if curve and objective not in ev.metrics:
                ev = replace(
                    ev, metrics={**ev.metrics, objective: self.spec.to_minimize(curve[-1][1])}
                )
        # A Python callable's job: its return value holds the metrics.
        if ev.status == TrainingJobStatus.Completed and ev.result is not None:
            metrics, failure = metrics_from_result(ev.result, objective)
            fields["final_metrics"] = metrics
            if failure is not None:
                fields.update(status=TrainingJobStatus.Failed, failure_reason=failure)
            else:
                fields["objective"] = metrics[objective]
            reported = {p.metric_name for p in self.store.metric_points([ev.name])}
            self.store.add_metric_points(
                [  # a reported series already ends with its value
                    MetricPoint(ev.name, k, v, 1, ev.time)
                    for k, v in metrics.items()
                    if math.isfinite(v) and k not in reported
                ]
            )
        else:  # streamed metrics: the last point of each series is its final value
            metrics = dict(ev.metrics)
            if fields["status"] == TrainingJobStatus.Stopped:
                # A stopped job keeps what it reported, whatever its executor still knew.
                last: dict[str, float] = {}
                for p in sorted(
                    self.store.metric_points([ev.name]), key=lambda p: (p.step, p.timestamp)
                ):
                    last[p.metric_name] = p.value
                metrics = {**last, **metrics}
            fields["final_metrics"] = metrics
            if (
                fields["status"] in (TrainingJobStatus.Completed, TrainingJobStatus.Stopped)
                and objective in metrics
            ):
                fields["objective"] = metrics[objective]
        self._set(ev.name, **fields)

    def _touch(self) -> None:
        self.store.update_tuning_job(self.spec.name, last_modified_at=self.clock())

    def _finish(self, status: str, reason: str | None) -> TuningJobRecord:
        jobs = list(self.jobs.values())
        failure = None
        if (
            status == TuningJobStatus.Completed
            and jobs
            and all(j.status == TrainingJobStatus.Failed for j in jobs)
        ):
            status = TuningJobStatus.Failed
            failure = "All training jobs failed; see their FailureReason"
        details: dict[str, Any] = {
            "CompletionReason": reason,
            "NumberOfTrainingJobsObjectiveNotImproving": self._done.jobs_not_improving,
        }
        if reason == "ConvergenceDetected":
            details["ConvergenceDetectedTime"] = self.clock()
        if self._signal_stop is not None:
            details[SIGNALLED] = True
        now = self.clock()
        self.store.update_tuning_job(
            self.spec.name,
            status=status,
            ended_at=now,
            last_modified_at=now,
            failure_reason=failure,
            details=details,
        )
        self.record = self.store.get_tuning_job(self.spec.name)
        self._notify()
        return self.record
