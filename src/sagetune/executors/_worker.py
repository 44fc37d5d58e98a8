"""A long-lived worker process that runs training callables one after another.

Started by :class:`~sagetune.executors.process.ProcessExecutor` as ``python -m
sagetune.executors._worker IN_FD OUT_FD``. It receives cloudpickled callables (cached by key,
so each is sent once) and runs them with stdout and stderr redirected to the job's log file.
Keeping the worker alive between jobs means imports (numpy, xgboost, ...) are paid once.

A callable that takes a reporter (see :mod:`sagetune.reporting`) sends ``("metric", name,
(epoch, metrics))`` messages while it runs; a ``("stop", name)`` message from the tuner makes
its next report raise :class:`~sagetune.reporting.TrainingStopped`.
"""

from __future__ import annotations

import io
import os
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import cloudpickle

from sagetune import artifacts
from sagetune.executors.procs import TRAINING_JOB_ENV
from sagetune.reporting import TrainingStopped, check_report, wants_model_dir, wants_reporter


class _PipeReporter:
    """The reporter a callable gets: sends points, and raises once a stop has arrived."""

    def __init__(self, name: str, inbox: Connection, outbox: Connection):
        self.name = name
        self.inbox = inbox
        self.outbox = outbox
        self.last_epoch = 0
        self.stopped = False

    def __call__(self, epoch: int | None = None, **metrics: float) -> None:
        epoch, values = check_report(self.last_epoch, epoch, metrics)
        self.last_epoch = epoch
        self.outbox.send(("metric", self.name, (epoch, values)))
        while not self.stopped and self.inbox.poll(0):
            message = self.inbox.recv()
            if message[0] == "stop" and message[1] == self.name:
                self.stopped = True
        if self.stopped:
            raise TrainingStopped(f"the tuner stopped training job {self.name} after epoch {epoch}")


class _Log(io.RawIOBase):
    """The job's log as the callable's ``sys.stdout`` and ``sys.stderr`` write it.

    Its first failed write (a full disk) raises in the callable and is kept, so the job fails
    with why even if the callable goes on; later writes are dropped, so printing the traceback
    and flushing at the job's end do not fail again.
    """

    def __init__(self, fd: int, path: str):
        super().__init__()
        self.fd = fd
        self.path = path
        self.error: OSError | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.error is None:
            try:
                return os.write(self.fd, data)
            except OSError as exc:
                self.error = exc
                raise
        return len(data)

    def reason(self) -> str | None:
        """Why the job fails for its log, if it does."""
        if self.error is None:
            return None
        return f"ClientError: {self.error.strerror} writing the log {self.path}"


def _text(log: _Log) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.BufferedWriter(log), encoding="utf-8", errors="backslashreplace", line_buffering=True
    )


def _in_job_dir(filename: Any, job_dir: Path) -> bool:
    return isinstance(filename, str) and Path(filename).is_relative_to(job_dir)


def _run(
    fn: Any, hyperparameters: dict[str, Any], log_path: str, reporter: _PipeReporter
) -> tuple[str, Any]:
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        return "error", f"ClientError: {exc.strerror} opening the log {log_path}"
    saved = os.dup(1), os.dup(2), sys.stdout, sys.stderr
    # Descriptors 1 and 2 for what the callable starts or writes from C; Python's streams of
    # its own, so output that could not be written is dropped with them, not left buffered
    # for the worker's own output once the job ends.
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    log = _Log(1, log_path)
    sys.stdout, sys.stderr = _text(log), _text(log)
    job_dir = Path(log_path).parent
    # What the callable starts carries the job's name, so the job's end can find it.
    os.environ[TRAINING_JOB_ENV] = job_dir.name
    kwargs: dict[str, Any] = {}
    try:
        if wants_model_dir(fn):
            kwargs["model_dir"] = str(job_dir / "model")
            (job_dir / "model").mkdir(parents=True, exist_ok=True)
        if wants_reporter(fn):
            result = fn(dict(hyperparameters), reporter, **kwargs)
        else:
            result = fn(dict(hyperparameters), **kwargs)
        sys.stdout.flush()  # what it printed without a newline, before the job ends
        sys.stderr.flush()
        if kwargs:
            artifacts.pack(job_dir)  # in the worker: a large model does not hold the tuner up
        outcome: tuple[str, Any] = ("result", result)
    except TrainingStopped as exc:
        if kwargs:
            try:  # a stopped job keeps what it trained, as in SageMaker
                artifacts.pack(job_dir)
            except OSError:
                traceback.print_exc()
        outcome = ("stopped", str(exc))
    except BaseException as exc:  # noqa: BLE001 - any failure of user code is the job's failure
        if isinstance(exc, OSError) and _in_job_dir(exc.filename, job_dir):
            # What the worker writes for the job (its model's archives, its folders): the
            # reason says it all, a traceback of the worker's own code would not help.
            outcome = ("error", f"ClientError: {exc.strerror} writing {exc.filename}")
        else:
            traceback.print_exc()
            outcome = ("error", f"{type(exc).__name__}: {exc}")
    finally:
        os.environ.pop(TRAINING_JOB_ENV, None)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except OSError:
                pass  # kept in the log's error
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        sys.stdout, sys.stderr = saved[2], saved[3]
    reason = log.reason()
    if reason is not None and outcome[0] != "stopped":
        return "error", reason
    return outcome


def _reap() -> None:
    """Wait for the children an earlier job left and its end killed, so they do not stay
    zombies (nor count as children of this worker, which the tuner checks after each job)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(in_fd: int, out_fd: int) -> None:
    inbox, outbox = Connection(in_fd, writable=False), Connection(out_fd, readable=False)
    functions: dict[str, Any] = {}
    failed: dict[str, str] = {}  # why a function could not be loaded, by its key
    while True:
        try:
            message = inbox.recv()
        except EOFError:
            return
        kind = message[0]
        if kind == "path":
            for p in reversed(message[1]):
                if p not in sys.path:
                    sys.path.insert(0, p)
            continue
        if kind == "stop":  # for a job that ended before the stop arrived
            continue
        _, name, key, payload, hyperparameters, log_path = message
        if payload is not None:
            try:
                functions[key] = cloudpickle.loads(payload)
            except BaseException as exc:  # noqa: BLE001
                failed[key] = (
                    "the training function could not be loaded in the "
                    f"worker process: {type(exc).__name__}: {exc}"
                )
        if key not in functions:  # it failed to load, now or for an earlier job
            outbox.send(("error", name, failed.get(key, "the training function is missing")))
            continue
        _reap()
        outbox.send(("started", name))
        kind, value = _run(
            functions[key], hyperparameters, log_path, _PipeReporter(name, inbox, outbox)
        )
        try:
            outbox.send((kind, name, value))
        except Exception as exc:  # noqa: BLE001 - an unpicklable return value
            outbox.send(
                (
                    "error",
                    name,
                    f"the training function returned a value that cannot be "
                    f"sent back ({type(exc).__name__}: {exc}); return a float or a dict "
                    f"of floats",
                )
            )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
