"""Run Python callables as training jobs, each in a worker process of its own.

Workers are separate interpreters (``python -m sagetune.executors._worker``), so CPU-bound
training runs truly in parallel and a crash (segfault, ``os._exit``) fails only its job. The
callable travels by cloudpickle: a function defined in a script's ``__main__`` or a notebook
works without being importable, and the script is never re-executed in the worker. Workers
are reused from job to job so heavy imports are paid once per worker.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import cloudpickle

from sagetune.errors import ValidationError
from sagetune.executors.base import Event, Executor, JobFinished, JobRequest, JobStarted, log_tail

_STOP_GRACE_SECONDS = 2.0
LOG_NAME = "log.txt"


def serialize_callable(fn: Callable[..., Any]) -> bytes:
    """cloudpickle ``fn``, or explain how to make it sendable to a worker process."""
    if not callable(fn):
        raise ValidationError(f"train: must be a callable train(hyperparameters) -> float | dict, "
                              f"got {type(fn).__name__}")
    try:
        return cloudpickle.dumps(fn)
    except Exception as exc:
        raise ValidationError(
            f"train: the function {getattr(fn, '__name__', fn)!r} cannot be sent to a worker "
            f"process ({type(exc).__name__}: {exc}). It or something it refers to (a lock, an "
            f"open file, a database connection, a live model) cannot be pickled: create such "
            f"objects inside the function, or define the function in an importable module"
        ) from None


class _Worker:
    def __init__(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root,
                                                          env.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sagetune.executors._worker", str(to_child_r),
             str(from_child_w)],
            pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)  # its own process group, so a stop reaches its children
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
    """

    def __init__(self, train: Callable[..., Any] | bytes, capacity: int = 1):
        self.payload = train if isinstance(train, bytes) else serialize_callable(train)
        self.key = hashlib.sha1(self.payload).hexdigest()
        self.capacity = capacity
        self._idle: list[_Worker] = []
        self._busy: dict[str, _Worker] = {}
        self._log_paths: dict[str, Path] = {}
        self._pending: list[Event] = []

    @property
    def running(self) -> set[str]:
        return set(self._busy)

    def start(self, job: JobRequest) -> None:
        job.job_dir.mkdir(parents=True, exist_ok=True)
        log_path = job.job_dir / LOG_NAME
        worker = self._idle.pop() if self._idle else _Worker()
        payload = None if self.key in worker.loaded else self.payload
        try:
            worker.inbox.send(("run", job.name, self.key, payload, job.hyperparameters,
                               str(log_path)))
        except (OSError, ValueError):
            worker.kill()
            self._pending.append(JobFinished(job.name, time.time(), "Failed", failure_reason=(
                "the worker process could not be started")))
            return
        worker.loaded.add(self.key)
        self._busy[job.name] = worker
        self._log_paths[job.name] = log_path

    def poll(self, timeout: float) -> list[Event]:
        events, self._pending = self._pending, []
        if events or not self._busy:
            if not events and timeout > 0:
                time.sleep(min(timeout, 0.05))
            return events
        by_conn = {w.outbox: name for name, w in self._busy.items()}
        for conn in wait(list(by_conn), timeout):
            name = by_conn[conn]  # type: ignore[index]
            worker = self._busy[name]
            try:
                message = conn.recv()  # type: ignore[union-attr]
            except (EOFError, OSError):
                events.append(self._died(name, worker))
                continue
            kind, value = message[0], message[2] if len(message) > 2 else None
            now = time.time()
            if kind == "started":
                events.append(JobStarted(name, now, worker.proc.pid))
                continue
            del self._busy[name]
            self._idle.append(worker)
            if kind == "result":
                events.append(JobFinished(name, now, "Completed", result=value))
            else:
                events.append(JobFinished(name, now, "Failed", failure_reason=self._reason(
                    name, str(value))))
        return events

    def _died(self, name: str, worker: _Worker) -> JobFinished:
        del self._busy[name]
        code = worker.proc.wait()
        worker.close()
        how = (f"killed by signal {signal.Signals(-code).name}" if code < 0
               else f"exited with code {code}")
        return JobFinished(name, time.time(), "Failed",
                           failure_reason=self._reason(name, f"the training process {how}"))

    def _reason(self, name: str, what: str) -> str:
        tail = log_tail(self._log_paths.get(name))
        return f"{what}\nlog tail:\n{tail}" if tail else what

    def stop(self, name: str, reason: str) -> None:
        worker = self._busy.pop(name, None)
        if worker is None:
            return
        worker.kill()
        self._pending.append(JobFinished(name, time.time(), "Stopped", failure_reason=reason))

    def shutdown(self) -> None:
        for name in list(self._busy):
            self.stop(name, "the tuning job ended")
        for worker in self._idle:
            worker.close()  # EOF on its inbox ends the worker
        for worker in self._idle:
            try:
                worker.proc.wait(5)
            except subprocess.TimeoutExpired:
                worker.kill()
        self._idle.clear()
