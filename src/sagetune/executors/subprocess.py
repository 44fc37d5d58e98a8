"""Run training scripts as subprocesses, SageMaker script-mode style.

Each job runs in its own process group with its folder laid out as a local ``/opt/ml`` (see
:mod:`sagetune.training`). stdout and stderr are read as lines arrive: every line goes to the
job's ``log.txt`` and through the ``MetricDefinitions`` regexes, and every match is one metric
point, streamed to the tuner at once. Stopping a job (a stop request or the job's
``MaxRuntimeInSeconds``) sends SIGTERM to its process group, then SIGKILL after a grace period.
Failed attempts (non-zero exit, killed by a signal) are retried ``MaximumRetryAttempts`` times.
"""

from __future__ import annotations

import math
import os
import queue
import re
import signal
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sagetune.artifacts import publish
from sagetune.executors.base import (
    Event,
    Executor,
    JobFinished,
    JobRequest,
    JobStarted,
    MetricReported,
    log_tail,
)
from sagetune.s3 import StorageError
from sagetune.training import ScriptDefinition, cli_args, prepare_job_dir

STOP_GRACE_SECONDS = 5.0
MAX_LINE_BYTES = 64 * 1024
READ_BYTES = 64 * 1024
MAX_LOG_BYTES = 50 * 1024 * 1024
MAX_POINTS_PER_METRIC = 10_000
LOG_NAME = "log.txt"


_SEPARATORS = re.compile(rb"([\r\n])")


class LineReader:
    """Cuts a job's output into the lines the metric regexes are matched against.

    A line ends at ``\n``. A ``\r`` inside a line returns the carriage, as a progress bar
    does when it redraws itself: the line is what a terminal shows at its end, the last redraw
    (``\r\n`` ends a line as ``\n`` does). However long a line grows, memory stays bounded and
    nothing is cut mid-value: a line longer than ``2 * limit`` bytes is matched on its first
    and its last ``limit`` bytes (only a match straddling the part in between is lost).

    Args:
        limit: bytes kept at each end of an over-long line.
    """

    def __init__(self, limit: int = MAX_LINE_BYTES):
        self.limit = limit
        self._tail = bytearray()
        self._head: bytes | None = None
        self._carriage = False

    def feed(self, data: bytes) -> list[list[str]]:
        """The lines ``data`` completes, each as the text windows to match (one or two)."""
        out: list[list[str]] = []
        for part in _SEPARATORS.split(data):
            if part == b"\n":
                out.append(self._end())
            elif part == b"\r":
                self._carriage = True
            elif part:
                if self._carriage:  # a redraw: what was there before is overwritten
                    self._tail.clear()
                    self._head = None
                    self._carriage = False
                self._tail += part
                if len(self._tail) > 2 * self.limit:
                    if self._head is None:
                        self._head = bytes(self._tail[: self.limit])
                    del self._tail[: len(self._tail) - self.limit]
        return out

    def close(self) -> list[list[str]]:
        """The last line, when the output did not end with a newline."""
        return [self._end()] if self._tail or self._head is not None else []

    def _end(self) -> list[str]:
        parts = [self._tail] if self._head is None else [self._head, self._tail]
        windows = [bytes(p).decode("utf-8", errors="replace") for p in parts]
        self._tail = bytearray()
        self._head = None
        self._carriage = False
        return windows


@dataclass
class _Run:
    request: JobRequest
    proc: subprocess.Popen[bytes]
    started: float
    attempt: int
    final: dict[str, float] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)
    stop_reason: str | None = None
    stop_status: str = "Stopped"


class SubprocessExecutor(Executor):
    """Runs a script-mode training job definition for each suggestion.

    Args:
        definition: the validated script definition.
        objective_metric: the metric the job must report to complete.
        stop_grace_seconds: time between SIGTERM and SIGKILL.
    """

    def __init__(
        self,
        definition: ScriptDefinition,
        objective_metric: str,
        stop_grace_seconds: float = STOP_GRACE_SECONDS,
    ):
        self.definition = definition
        self.objective_metric = objective_metric
        self.grace = stop_grace_seconds
        self.patterns = [(m.name, re.compile(m.regex)) for m in definition.metric_definitions]
        self._events: queue.Queue[Event | tuple[str, str, int]] = queue.Queue()
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    @property
    def running(self) -> set[str]:
        return set(self._runs)

    def start(self, job: JobRequest, attempt: int = 0) -> None:
        job.job_dir.mkdir(parents=True, exist_ok=True)
        log_path = job.job_dir / LOG_NAME
        try:
            cwd, sm_env = prepare_job_dir(job.job_dir, self.definition, job.hyperparameters)
            env = {
                **os.environ,
                **sm_env,
                "PYTHONUNBUFFERED": "1",
                "SAGETUNE_TRAINING_JOB": job.name,
            }  # lets a resume find orphans safely
            args = cli_args(job.hyperparameters) if self.definition.passes_arguments else []
            if attempt == 0 and self.definition.runs:
                with open(log_path, "a") as log:
                    log.write(f"[sagetune] {self.definition.runs}\n")
            proc = subprocess.Popen(
                [*self.definition.command, *args],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except StorageError as exc:  # a channel or the code could not be downloaded
            with open(log_path, "a") as log:
                log.write(f"could not download the training job's input: {exc}\n")
            self._events.put(
                JobFinished(job.name, time.time(), "Failed", failure_reason=f"ClientError: {exc}")
            )
            return
        except OSError as exc:
            with open(log_path, "a") as log:
                log.write(f"could not start the training job: {exc}\n")
            self._events.put(
                JobFinished(
                    job.name,
                    time.time(),
                    "Failed",
                    failure_reason=(f"could not start {self.definition.command[0]!r}: {exc}"),
                )
            )
            return
        now = time.time()
        run = _Run(job, proc, now, attempt)
        with self._lock:
            self._runs[job.name] = run
        if attempt == 0:
            self._events.put(JobStarted(job.name, now, proc.pid))
        threading.Thread(
            target=self._read, args=(run, log_path), daemon=True, name=f"log-{job.name}"
        ).start()

    def _read(self, run: _Run, log_path: Path) -> None:
        """Tee the job's output into its log and turn regex matches into metric points."""
        written = log_path.stat().st_size if log_path.exists() else 0
        assert run.proc.stdout is not None
        with open(log_path, "ab") as log:
            if run.attempt:
                log.write(f"----- retry {run.attempt} -----\n".encode())
            lines = LineReader()
            fd = run.proc.stdout.fileno()  # unbuffered: a line is seen as soon as it is written
            while raw := os.read(fd, READ_BYTES):
                if written < MAX_LOG_BYTES:
                    log.write(raw)
                    log.flush()
                    written += len(raw)
                    if written >= MAX_LOG_BYTES:
                        log.write(b"\n[sagetune: log truncated at 50 MB]\n")
                for windows in lines.feed(raw):
                    self._match(run, windows)
            for windows in lines.close():
                self._match(run, windows)
        code = run.proc.wait()
        self._events.put(("exit", run.request.name, code))

    def _match(self, run: _Run, windows: list[str]) -> None:
        """One point per metric whose regex matches the line (its first match)."""
        now = time.time()
        for metric, pattern in self.patterns:
            match = next(filter(None, (pattern.search(w) for w in windows)), None)
            value = _value(match)
            if value is None:
                continue
            step = run.steps.get(metric, 0) + 1
            run.steps[metric] = step
            run.final[metric] = value
            if step <= MAX_POINTS_PER_METRIC:
                self._events.put(MetricReported(run.request.name, metric, value, step, now))

    def poll(self, timeout: float) -> list[Event]:
        out: list[Event] = []
        self._enforce_runtime()
        deadline = time.time() + timeout
        while True:
            remaining = deadline - time.time()
            try:
                item = self._events.get(timeout=max(remaining, 0) if not out else 0)
            except queue.Empty:
                break
            if isinstance(item, tuple):
                finished = self._exited(item[1], item[2])
                if finished is not None:
                    out.append(finished)
            else:
                out.append(item)
            if len(out) >= 10_000:
                break
        return out

    def _exited(self, name: str, code: int) -> JobFinished | None:
        with self._lock:
            run = self._runs.pop(name, None)
        if run is None:
            return None
        now = time.time()
        log_path = run.request.job_dir / LOG_NAME
        if run.stop_reason is not None:
            reason = self._publish(run) or run.stop_reason
            return JobFinished(
                name, now, run.stop_status, metrics=dict(run.final), failure_reason=reason
            )
        if code != 0:
            how = (
                f"was killed by signal {signal.Signals(-code).name}"
                if code < 0
                else f"failed with exit code {code}"
            )
            if run.attempt < self.definition.max_retry_attempts:
                self.start(run.request, run.attempt + 1)
                return None
            tries = f" after {run.attempt + 1} attempts" if run.attempt else ""
            said = _failure_file(run.request.job_dir)
            return JobFinished(
                name,
                now,
                "Failed",
                metrics=dict(run.final),
                failure_reason=(
                    f"AlgorithmError: the training script {how}{tries}"
                    + (f": {said}" if said else "")
                    + f"\nlog tail:\n{log_tail(log_path)}"
                ),
            )
        if self.objective_metric not in run.final:
            return JobFinished(
                name,
                now,
                "Failed",
                metrics=dict(run.final),
                failure_reason=(
                    f"objective metric {self.objective_metric!r} not found in the log\n"
                    f"log tail:\n{log_tail(log_path)}"
                ),
            )
        problem = self._publish(run)
        if problem is not None:
            return JobFinished(name, now, "Failed", metrics=dict(run.final), failure_reason=problem)
        return JobFinished(name, now, "Completed", metrics=dict(run.final))

    def _publish(self, run: _Run) -> str | None:
        """Pack and copy the job's artifacts; the failure reason when that fails."""
        try:
            publish(run.request.job_dir, run.request.name, self.definition.output_path)
        except (StorageError, OSError, tarfile.TarError) as exc:
            return f"ClientError: could not save the model artifacts: {exc}"
        return None

    def _enforce_runtime(self) -> None:
        limit = self.definition.max_runtime_in_seconds
        if limit is None:
            return
        now = time.time()
        for run in list(self._runs.values()):
            if run.stop_reason is None and now - run.started >= limit:
                self._terminate(
                    run, f"MaxRuntimeInSeconds ({limit} s) exceeded: the training job was stopped"
                )

    def _terminate(self, run: _Run, reason: str) -> None:
        run.stop_reason = reason
        pgid = run.proc.pid

        def kill() -> None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                run.proc.wait(self.grace)
            except subprocess.TimeoutExpired:
                pass
            try:  # the leader may be gone while its children live on
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        threading.Thread(target=kill, daemon=True, name=f"stop-{run.request.name}").start()

    def stop(self, name: str, reason: str) -> None:
        run = self._runs.get(name)
        if run is not None and run.stop_reason is None:
            self._terminate(run, reason)

    def shutdown(self) -> None:
        for name in list(self._runs):
            self.stop(name, "the tuning job ended")
        deadline = time.time() + self.grace + 5
        while self._runs and time.time() < deadline:
            self.poll(0.1)


def _failure_file(job_dir: Path) -> str:
    """What the job wrote to ``output/failure`` (SageMaker's place for a failure reason)."""
    try:
        return (job_dir / "output" / "failure").read_text(errors="replace").strip()[:1024]
    except OSError:
        return ""


def _value(match: re.Match[str] | None) -> float | None:
    """The number a regex's first group found (None when absent, not numeric or not finite)."""
    if match is None:
        return None
    try:
        value = float(match.group(1))
    except (TypeError, ValueError, IndexError):
        return None  # a non-numeric match is not a point
    return value if math.isfinite(value) else None
