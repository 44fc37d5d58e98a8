"""Run Python callables as training jobs, each in a worker process of its own.

Workers are separate interpreters (``python -m sagetune.executors._worker``), so CPU-bound
training runs truly in parallel and a crash (segfault, ``os._exit``) fails only its job. The
callable travels by cloudpickle: a function defined in a script's ``__main__`` or a notebook
works without being importable, and the script is never re-executed in the worker. Workers
are reused from job to job so heavy imports are paid once per worker.

A callable that takes a reporter streams metric points (see :mod:`sagetune.reporting`). Such a
job is stopped cooperatively: its next report raises ``TrainingStopped``; if it does not report
(or return) within ``stop_grace_seconds``, its worker's process group is ended. A job that has
never reported is ended at once.

What a job started (a program, a fork, even one in a session of its own) is ended when the job
ends, found by the markers of :mod:`sagetune.executors.procs`; the worker lives on.

A finished callable's ``JobFinished`` carries its raw return value; :func:`metrics_from_result`
says what it may be and turns it into metrics (or a failure reason).
"""

from __future__ import annotations

import hashlib
import math
import os
import signal
import subprocess
import sys
import sysconfig
import time
import types
import uuid
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import cloudpickle

from sagetune.errors import ValidationError
from sagetune.executors.base import (
    Event,
    Executor,
    JobFinished,
    JobRequest,
    JobStarted,
    MetricReported,
    exit_text,
    log_tail,
)
from sagetune.executors.procs import WORKER_ENV, has_children, job_markers, sweep, tuning_marker

_STOP_GRACE_SECONDS = 2.0
COOPERATIVE_STOP_SECONDS = 10.0
LOG_NAME = "log.txt"


def serialize_callable(fn: Callable[..., Any]) -> bytes:
    """cloudpickle ``fn``, or explain how to make it sendable to a worker process."""
    if not callable(fn):
        raise ValidationError(
            f"train: must be a callable train(hyperparameters) -> float | dict, "
            f"got {type(fn).__name__}"
        )
    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    by_value = module is not None and _is_user_code(module)
    try:
        # The user's own modules travel by value: a worker started by another process (a
        # resumed or detached tuner, in another folder) need not be able to import them.
        if by_value:
            cloudpickle.register_pickle_by_value(module)
        try:
            return cloudpickle.dumps(fn)
        finally:
            if by_value:
                cloudpickle.unregister_pickle_by_value(module)
    except Exception as exc:
        raise ValidationError(
            f"train: the function {getattr(fn, '__name__', fn)!r} cannot be sent to a worker "
            f"process ({type(exc).__name__}: {exc}). It or something it refers to (a lock, an "
            f"open file, a database connection, a live model) cannot be pickled: create such "
            f"objects inside the function, or define the function in an importable module"
        ) from None


def _is_user_code(module: types.ModuleType) -> bool:
    """A module of the user's own (not ``__main__``, which cloudpickle sends by value anyway,
    nor an installed package or the standard library, which every worker can import)."""
    path = getattr(module, "__file__", None)
    if module.__name__ == "__main__" or not path:
        return False
    installed = {sysconfig.get_path(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    resolved = os.path.realpath(path)
    return not any(
        root and resolved.startswith(os.path.realpath(root) + os.sep) for root in installed
    ) and not module.__name__.startswith("sagetune")


def metrics_from_result(
    result: Any, objective_metric_name: str
) -> tuple[dict[str, float], str | None]:
    """Normalise what a training callable returned into metrics.

    A callable's ``JobFinished`` carries its raw return value (``result``); the tuner turns it
    into final metrics here, where what a callable may return is defined.

    Args:
        result: the return value: a number (the objective) or a mapping of metric names to
            numbers that includes the objective.
        objective_metric_name: the objective metric's name.

    Returns:
        ``(metrics, failure_reason)``: the metrics as floats, and None when the objective is
        among them and finite, else why the job failed.

    Example:
        >>> metrics_from_result(0.25, "loss")
        ({'loss': 0.25}, None)
        >>> metrics_from_result({"acc": 0.9}, "loss")[1]
        "objective metric 'loss' not found in what train returned (metrics: ['acc'])"
    """
    if isinstance(result, Mapping):
        metrics: dict[str, float] = {}
        for k, v in result.items():
            try:
                metrics[str(k)] = float(v)
            except (TypeError, ValueError):
                return {}, (f"train returned a non-numeric value for metric {k!r}: {v!r}")
    elif isinstance(result, bool) or result is None:
        return {}, (
            f"train returned {result!r}; return a float or a dict of floats with "
            f"the objective metric {objective_metric_name!r}"
        )
    else:
        try:
            metrics = {objective_metric_name: float(result)}
        except (TypeError, ValueError):
            return {}, (
                f"train returned {type(result).__name__}; return a float or a dict of "
                f"floats with the objective metric {objective_metric_name!r}"
            )
    if objective_metric_name not in metrics:
        return metrics, (
            f"objective metric {objective_metric_name!r} not found in what train "
            f"returned (metrics: {sorted(metrics)})"
        )
    value = metrics[objective_metric_name]
    if not math.isfinite(value):
        return metrics, f"objective metric {objective_metric_name!r} is {value}"
    return metrics, None


class _Worker:
    def __init__(self, tuning_job_dir: Path) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH", "")]))
        # The markers let a job's end and a resume find what the worker's jobs started.
        self.id = uuid.uuid4().hex
        env.update({**tuning_marker(tuning_job_dir), WORKER_ENV: self.id})
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sagetune.executors._worker",
                str(to_child_r),
                str(from_child_w),
            ],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )  # its own process group, so a stop reaches its children
        os.close(to_child_r)
        os.close(from_child_w)
        self.inbox = Connection(to_child_w, readable=False)
        self.outbox = Connection(from_child_r, writable=False)
        self.loaded: set[str] = set()
        self.inbox.send(("path", [p for p in sys.path if p]))

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self.close()

    def close(self) -> None:
        for conn in (self.inbox, self.outbox):
            try:
                conn.close()
            except OSError:
                pass


class ProcessExecutor(Executor):
    """Runs ``train(hyperparameters)`` in up to ``capacity`` worker processes at once.

    Args:
        train: the training callable, or its cloudpickle bytes.
        capacity: how many jobs may run at once (workers are started as needed).
        stop_grace_seconds: how long a reporting job has, once told to stop, to report or
            return before its worker is ended.
    """

    def __init__(
        self,
        train: Callable[..., Any] | bytes,
        capacity: int = 1,
        stop_grace_seconds: float = COOPERATIVE_STOP_SECONDS,
    ):
        self.payload = train if isinstance(train, bytes) else serialize_callable(train)
        self.key = hashlib.sha1(self.payload).hexdigest()
        self.capacity = capacity
        self._idle: list[_Worker] = []
        self._busy: dict[str, _Worker] = {}
        self._log_paths: dict[str, Path] = {}
        self._pending: list[Event] = []
        self.stop_grace_seconds = stop_grace_seconds
        self._last: dict[str, dict[str, float]] = {}  # last reported value of each metric
        self._stopping: dict[str, tuple[str, float]] = {}  # name -> (reason, deadline)

    @property
    def running(self) -> set[str]:
        return set(self._busy)

    def start(self, job: JobRequest) -> None:
        job.job_dir.mkdir(parents=True, exist_ok=True)
        log_path = job.job_dir / LOG_NAME
        worker = self._idle.pop() if self._idle else _Worker(job.job_dir.parent)
        payload = None if self.key in worker.loaded else self.payload
        try:
            worker.inbox.send(
                ("run", job.name, self.key, payload, job.hyperparameters, str(log_path))
            )
        except (OSError, ValueError):
            worker.kill()
            self._pending.append(
                JobFinished(
                    job.name,
                    time.time(),
                    "Failed",
                    failure_reason=("the worker process could not be started"),
                )
            )
            return
        worker.loaded.add(self.key)
        self._busy[job.name] = worker
        self._log_paths[job.name] = log_path

    def poll(self, timeout: float) -> list[Event]:
        self._enforce_stops()
        events, self._pending = self._pending, []
        if self._stopping:
            nearest = min(deadline for _, deadline in self._stopping.values())
            timeout = max(0.0, min(timeout, nearest - time.time()))
        if events or not self._busy:
            if not events and timeout > 0:
                time.sleep(min(timeout, 0.05))
            return events
        by_conn = {w.outbox: name for name, w in self._busy.items()}
        for conn in wait(list(by_conn), timeout):
            name = by_conn[conn]  # type: ignore[index]
            events.extend(self._receive(name, conn))  # type: ignore[arg-type]
        return events

    def _receive(self, name: str, conn: Connection) -> list[Event]:
        """Every message waiting from one worker (a reporting job sends many)."""
        events: list[Event] = []
        worker = self._busy[name]
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                events.append(self._died(name, worker))
                return events
            kind: str = message[0]
            value: Any = message[2] if len(message) > 2 else None
            now = time.time()
            if kind == "started":
                events.append(JobStarted(name, now, worker.proc.pid))
            elif kind == "metric":
                epoch, values = value
                self._last.setdefault(name, {}).update(values)
                events.extend(MetricReported(name, k, v, epoch, now) for k, v in values.items())
            else:
                break
            if not conn.poll(0):
                return events
        del self._busy[name]
        self._idle.append(worker)
        # Most jobs leave nothing: a look at the worker's children spares the scan of every
        # process. A daemon whose parent ended is not its child; the tuner's end and a resume
        # sweep it.
        if has_children(worker.proc.pid):
            self._sweep(name, worker)
        stop = self._stopping.pop(name, None)
        last = self._last.pop(name, {})
        if stop is not None or kind == "stopped":
            reason = stop[0] if stop is not None else str(value)
            events.append(JobFinished(name, now, "Stopped", metrics=last, failure_reason=reason))
        elif kind == "result":
            events.append(JobFinished(name, now, "Completed", result=value))
        else:
            events.append(
                JobFinished(name, now, "Failed", failure_reason=self._reason(name, str(value)))
            )
        return events

    def _died(self, name: str, worker: _Worker) -> JobFinished:
        del self._busy[name]
        code = worker.proc.wait()
        worker.close()
        self._sweep(name, worker)
        stop = self._stopping.pop(name, None)
        last = self._last.pop(name, {})
        if stop is not None:
            return JobFinished(name, time.time(), "Stopped", metrics=last, failure_reason=stop[0])
        return JobFinished(
            name,
            time.time(),
            "Failed",
            failure_reason=self._reason(name, exit_text(code, "the training process")),
        )

    def _sweep(self, name: str, worker: _Worker) -> None:
        """End what the job started and left running: its programs, and what it forked
        in the worker (the worker itself lives on for the next job)."""
        log_path = self._log_paths.get(name)
        markers = [{WORKER_ENV: worker.id}]
        if log_path is not None:
            markers.append(job_markers(log_path.parent))
        sweep(*markers, exclude={worker.proc.pid})

    def _reason(self, name: str, what: str) -> str:
        tail = log_tail(self._log_paths.get(name))
        return f"{what}\nlog tail:\n{tail}" if tail else what

    def stop(self, name: str, reason: str) -> None:
        worker = self._busy.get(name)
        if worker is None or name in self._stopping:
            return
        if name in self._last:  # it reports: tell it, so it may save a checkpoint
            try:
                worker.inbox.send(("stop", name))
            except (OSError, ValueError):
                self._kill(name, reason)
                return
            self._stopping[name] = (reason, time.time() + self.stop_grace_seconds)
            return
        self._kill(name, reason)

    def _kill(self, name: str, reason: str) -> None:
        worker = self._busy.pop(name, None)
        self._stopping.pop(name, None)
        if worker is None:
            return
        worker.kill()
        self._sweep(name, worker)
        self._pending.append(
            JobFinished(
                name,
                time.time(),
                "Stopped",
                metrics=self._last.pop(name, {}),
                failure_reason=reason,
            )
        )

    def _enforce_stops(self) -> None:
        now = time.time()
        for name, (reason, deadline) in list(self._stopping.items()):
            if now >= deadline:
                self._kill(
                    name,
                    f"{reason} (it did not report again within "
                    f"{self.stop_grace_seconds:g} s, so its process was ended)",
                )

    def shutdown(self) -> None:
        for name in list(self._busy):
            self._kill(name, "the tuning job ended")
        for worker in self._idle:
            worker.close()  # EOF on its inbox ends the worker
        for worker in self._idle:
            try:
                worker.proc.wait(5)
            except subprocess.TimeoutExpired:
                worker.kill()
        self._idle.clear()
