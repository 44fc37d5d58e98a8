"""The executor interface and the events it streams back to the tuner loop."""

from __future__ import annotations

import signal
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class JobRequest:
    """What an executor needs to run one training job."""

    name: str
    hyperparameters: dict[str, Any]
    job_dir: Path
    definition: str | None = None


@dataclass(frozen=True)
class JobStarted:
    """A job's process started (``pid`` is its process group leader, when known; ``node`` is
    where it runs when that is not this machine: a Ray node's ``"<ip> <node id>"``)."""

    name: str
    time: float
    pid: int | None = None
    node: str | None = None


@dataclass(frozen=True)
class MetricReported:
    """One point of a metric's series, as it arrived (``step`` counts from 1 per metric)."""

    name: str
    metric: str
    value: float
    step: int
    time: float


@dataclass(frozen=True)
class JobFinished:
    """A training job ended.

    Attributes:
        status: ``Completed``, ``Failed`` or ``Stopped``.
        metrics: final metric values (for callables, what they returned).
        result: the raw return value of a callable (None for other jobs).
        failure_reason: why it failed or stopped, with the tail of its log.
        billable_seconds: the seconds to bill when they are not start to end (a managed spot
            job: the time its process ran, not the time it waited for capacity).
    """

    name: str
    time: float
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    result: Any = None
    failure_reason: str | None = None
    billable_seconds: float | None = None


Event = JobStarted | MetricReported | JobFinished


class Executor(ABC):
    """Runs training jobs in parallel up to its capacity."""

    @property
    @abstractmethod
    def running(self) -> set[str]:
        """Names of the jobs started and not yet reported finished."""

    @abstractmethod
    def start(self, job: JobRequest) -> None:
        """Start a job (the caller keeps at most ``capacity`` running)."""

    @abstractmethod
    def poll(self, timeout: float) -> list[Event]:
        """Wait up to ``timeout`` seconds for events, return those that arrived."""

    @abstractmethod
    def stop(self, name: str, reason: str) -> None:
        """Stop a running job; a ``JobFinished`` with status Stopped follows from ``poll``."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop everything and release workers."""

    def end_orphans(self, names: Collection[str]) -> None:  # noqa: B027 - optional hook
        """End what a dead tuner's jobs ``names`` left running where this executor runs
        them, before they are replaced. Local jobs need nothing here: the runner ends their
        process groups from the stored process ids."""


def log_tail(path: Path | None, max_chars: int = 600) -> str:
    """The last characters of a log file, decoded leniently (logs may hold binary junk).

    When the log holds a Python traceback whose exception line is not in that tail (a native
    library printed its own backtrace after it, say), the tail starts with that line, so the
    reason names the Python error.
    """
    # Only a file, read in bounded pieces: a log linked to a device (``/dev/full`` reads
    # as endless zeros) or still growing would otherwise be read without end.
    if path is None or not path.is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - max_chars))
        data = f.read(max_chars)
        f.seek(max(0, size - EXCEPTION_WINDOW))
        window = f.read(EXCEPTION_WINDOW).decode("utf-8", errors="replace")
    tail = data.decode("utf-8", errors="replace").strip()
    exception = last_python_exception(window)
    if exception is not None and exception not in tail:
        return f"last Python exception: {exception}\n...\n{tail}"
    return tail


EXCEPTION_WINDOW = 256 * 1024  # how far back from the end a traceback is looked for


def last_python_exception(text: str) -> str | None:
    """The exception line of the last Python traceback in ``text`` (``ValueError: ...``)."""
    start = text.rfind("Traceback (most recent call last):")
    if start < 0:
        return None
    for line in text[start:].splitlines()[1:]:
        if line and not line[0].isspace():  # frames are indented; the exception is not
            return line.strip()[:300]
    return None


NODE_LINE = "[sagetune] node: "  # the first line of the log of a job that ran on another node


def node_of(log_path: str | Path | None) -> tuple[str, str] | None:
    """``(ip, node id)`` of the node a job ran on, from the first line of its log (written by
    the Ray executor); None for a job that ran on this machine."""
    if not log_path:
        return None
    try:
        with open(log_path, "rb") as f:
            first = f.readline(512).decode("utf-8", errors="replace").rstrip("\n")
    except OSError:
        return None
    if not first.startswith(NODE_LINE):
        return None
    ip, _, node_id = first[len(NODE_LINE) :].partition(" ")
    return ip, node_id.strip()


def exit_text(code: int, what: str) -> str:
    """How a process ended: ``<what> was killed by signal SIGKILL`` or ``... failed with
    exit code 3``."""
    if code < 0:
        return f"{what} was killed by signal {signal.Signals(-code).name}"
    return f"{what} failed with exit code {code}"


def script_failure(code: int, attempts: int, said: str, log_path: Path | None) -> str:
    """The FailureReason of a training script that exited non-zero: how it ended, after how
    many attempts, what it wrote to ``output/failure``, and its log's tail."""
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return (
        f"AlgorithmError: {exit_text(code, 'the training script')}{tries}"
        + (f": {said}" if said else "")
        + f"\nlog tail:\n{log_tail(log_path)}"
    )


def objective_missing(metric: str | None, log_path: Path | None) -> str:
    """The FailureReason of a job that ended without reporting its objective metric."""
    return f"objective metric {metric!r} not found in the log\nlog tail:\n{log_tail(log_path)}"
