"""Run training scripts as subprocesses, SageMaker script-mode style.

Each job runs in its own process group with its folder laid out as a local ``/opt/ml`` (see
:mod:`sagetune.training`). stdout and stderr are read as lines arrive: every line goes to the
job's ``log.txt`` and through the ``MetricDefinitions`` regexes, and every match is one metric
point, streamed to the tuner at once (a match that is not a finite number, ``nan`` or ``inf``,
is no point: CloudWatch, where SageMaker sends them, takes no such value; a callable's
``report`` refuses one). The job ends when its main process exits; what it started ends with it
(:mod:`sagetune.executors.procs`). Stopping a job (a stop request or the job's
``MaxRuntimeInSeconds``) sends SIGTERM to its process group, then SIGKILL after a grace period.
Failed attempts (non-zero exit, killed by a signal) are retried ``MaximumRetryAttempts`` times.
Checkpoints and simulated spot interruptions: see :class:`SubprocessExecutor`.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import re
import select
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sagetune.artifacts import publish
from sagetune.checkpoints import (
    CheckpointSyncError,
    checkpoint_dir,
    job_uri,
    sync_down,
    sync_up,
)
from sagetune.executors.base import (
    Event,
    Executor,
    JobFinished,
    JobRequest,
    JobStarted,
    MetricReported,
    objective_missing,
    script_failure,
)
from sagetune.executors.procs import job_markers, kill_group, sweep
from sagetune.s3 import StorageError
from sagetune.training import ScriptDefinition, cli_args, prepare_job_dir

STOP_GRACE_SECONDS = 5.0
# After a script's main process exits, how long output of children still holding its stdout
# is read before they are ended: the job ends with its main process, as a container does.
DRAIN_SECONDS = 1.0
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
    """One training job, across the processes that run it (retries, spot restarts)."""

    request: JobRequest
    proc: subprocess.Popen[bytes] | None  # None while waiting for spot capacity
    started: float  # when the current process started
    attempt: int
    final: dict[str, float] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)
    stop_reason: str | None = None
    stop_status: str = "Stopped"
    first_started: float = 0.0
    generation: int = 0  # which process: an exit of an earlier one is ignored
    ran: float = 0.0  # seconds its earlier processes ran
    attempt_ran: float = 0.0  # the same, within this attempt (MaxRuntimeInSeconds)
    interruptions: int = 0
    gaps: Iterator[float] | None = None  # seconds from each start to its interruption
    interrupt_at: float | None = None
    interrupting: bool = False
    waiting_until: float | None = None  # reclaimed; restarts at this time


class SubprocessExecutor(Executor):
    """Runs a script-mode training job definition for each suggestion.

    With ``CheckpointConfig``, the job's ``checkpoints`` folder is synced down before each
    start of its process and up after each end (:mod:`sagetune.checkpoints`). With managed
    spot and ``LocalSpotInterruptions`` (:mod:`sagetune.spot`) the process is reclaimed as
    scheduled: SIGTERM to its process group (SIGKILL after the grace period), checkpoints
    synced up, a line in ``log.txt``, ``RestartDelaySeconds`` waiting for capacity (the poll
    loop goes on), checkpoints synced down, the process started again. A restart is not a
    retry attempt and metric steps go on counting. ``MaxRuntimeInSeconds`` counts the time
    processes ran (per attempt); ``MaxWaitTimeInSeconds`` the wall time since the first start.
    A spot job's ``JobFinished`` carries its billable seconds: the time its processes ran.

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
        self._events: queue.Queue[Event | tuple[str, str, int, int, float]] = queue.Queue()
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    @property
    def running(self) -> set[str]:
        return set(self._runs)

    def start(self, job: JobRequest, attempt: int = 0) -> None:
        job.job_dir.mkdir(parents=True, exist_ok=True)
        now = time.time()
        run = _Run(job, None, now, attempt, first_started=now)
        spot = self.definition.spot_interruptions
        if spot is not None and self.definition.managed_spot:
            run.gaps = spot.gaps(job.name)
        with self._lock:
            self._runs[job.name] = run
        if self._launch(run) and run.proc is not None:
            run.first_started = run.started
            self._events.put(JobStarted(job.name, run.started, run.proc.pid))

    def _launch(self, run: _Run, header: str | None = None) -> bool:
        """Sync the checkpoints down and start the job's process (False: it ended, failed)."""
        job = run.request
        log_path = job.job_dir / LOG_NAME
        checkpoint = self.definition.checkpoint
        try:
            if checkpoint is not None:
                sync_down(
                    job_uri(checkpoint, job.name),
                    checkpoint_dir(job.job_dir),
                    base_dir=checkpoint.base_dir,
                )
        except CheckpointSyncError as exc:
            _note(log_path, f"{exc}\n")
            self._events.put(self._finished(run, "Failed", str(exc)))
            return False
        try:
            cwd, sm_env = prepare_job_dir(job.job_dir, self.definition, job.hyperparameters)
            # The markers let the job's end and a resume find every process it started.
            env = {**os.environ, **sm_env, "PYTHONUNBUFFERED": "1", **job_markers(job.job_dir)}
            args = cli_args(job.hyperparameters) if self.definition.passes_arguments else []
            if self.definition.runs and header is None:
                _note(log_path, f"[sagetune] {self.definition.runs}\n")
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
            _note(log_path, f"could not download the training job's input: {exc}\n")
            self._events.put(self._finished(run, "Failed", f"ClientError: {exc}"))
            return False
        except tarfile.TarError as exc:  # the source archive changed since it was checked
            _note(log_path, f"could not unpack the source archive: {exc}\n")
            reason = f"ClientError: could not unpack the source archive: {exc}"
            self._events.put(self._finished(run, "Failed", reason))
            return False
        except OSError as exc:
            _note(log_path, f"could not start the training job: {exc}\n")
            reason = f"could not start {self.definition.command[0]!r}: {exc}"
            self._events.put(self._finished(run, "Failed", reason))
            return False
        now = time.time()
        run.proc = proc
        run.started = now
        run.generation += 1
        run.interrupting = False
        run.waiting_until = None
        gap = next(run.gaps, None) if run.gaps is not None else None
        run.interrupt_at = None if gap is None else now + gap
        threading.Thread(
            target=self._read,
            args=(run, proc, run.generation, log_path, header),
            daemon=True,
            name=f"log-{job.name}",
        ).start()
        return True

    def _read(
        self,
        run: _Run,
        proc: subprocess.Popen[bytes],
        generation: int,
        log_path: Path,
        header: str | None,
    ) -> None:
        """Tee the job's output into its log and turn regex matches into metric points.

        A log that cannot be written (a full disk) fails the job with the reason; the output
        is still read to its end, so the process never blocks on a full pipe, and its exit
        is always reported, so the job always ends.
        """
        assert proc.stdout is not None
        log: BinaryIO | None = None
        try:
            written = log_path.stat().st_size if log_path.exists() else 0
            try:
                log = open(log_path, "ab")  # noqa: SIM115 - closed below, also after a failure
                if header is not None:
                    log.write(f"{header}\n".encode())
            except OSError as exc:
                self._log_failed(run, log, log_path, exc)
                log = None
            lines = LineReader()
            fd = proc.stdout.fileno()  # unbuffered: a line is seen as soon as it is written
            readable = select.poll()  # not select(): descriptors may be past FD_SETSIZE
            readable.register(fd, select.POLLIN)
            drain_until: float | None = None
            while drain_until is None or time.monotonic() < drain_until:
                if drain_until is None and proc.poll() is not None:
                    drain_until = time.monotonic() + DRAIN_SECONDS
                wait = 0.2 if drain_until is None else max(0.0, drain_until - time.monotonic())
                if not readable.poll(wait * 1000):
                    continue
                raw = os.read(fd, READ_BYTES)
                if not raw:
                    break
                if log is not None and written < MAX_LOG_BYTES:
                    try:
                        log.write(raw)
                        log.flush()
                        written += len(raw)
                        if written >= MAX_LOG_BYTES:
                            log.write(b"\n[sagetune: log truncated at 50 MB]\n")
                    except OSError as exc:
                        self._log_failed(run, log, log_path, exc)
                        log = None
                for windows in lines.feed(raw):
                    self._match(run, windows)
            for windows in lines.close():
                self._match(run, windows)
        finally:
            if log is not None:
                with contextlib.suppress(OSError):
                    log.close()
            code = proc.wait()
            try:
                # What the script started ends with it, kept stdout open or not.
                sweep(job_markers(run.request.job_dir), grace=self.grace)
            finally:
                proc.stdout.close()
                self._events.put(("exit", run.request.name, code, generation, time.time()))

    def _log_failed(self, run: _Run, log: BinaryIO | None, log_path: Path, exc: OSError) -> None:
        """End a job whose log cannot be written: Failed, the reason naming the error."""
        if log is not None:
            with contextlib.suppress(OSError):
                log.close()
        if run.stop_reason is None:
            run.stop_status = "Failed"
            self._terminate(run, f"ClientError: {exc.strerror} writing the log {log_path}")

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
        deadline = time.time() + timeout
        self._tick(out)
        while True:
            now = time.time()
            # Wake up for the next interruption, restart or time limit, whichever is first.
            wait = 0.0 if out else max(0.0, min(deadline, self._next_due()) - now)
            try:
                item = self._events.get(timeout=wait)
            except queue.Empty:
                if out or time.time() >= deadline:
                    break
                self._tick(out)
                continue
            if isinstance(item, tuple):
                finished = self._exited(*item[1:])
                if finished is not None:
                    out.append(finished)
            else:
                out.append(item)
            if len(out) >= 10_000:
                break
        return out

    def _finished(self, run: _Run, status: str, reason: str | None = None) -> JobFinished:
        """The job's end: it leaves the running set; a spot job's billable seconds are the
        seconds its processes ran."""
        with self._lock:
            self._runs.pop(run.request.name, None)
        if run.interruptions and reason is not None:
            n = run.interruptions
            first, sep, rest = reason.partition("\n")
            reason = f"{first} (after {n} spot interruption{'s' if n > 1 else ''}){sep}{rest}"
        return JobFinished(
            run.request.name,
            time.time(),
            status,
            metrics=dict(run.final),
            failure_reason=reason,
            billable_seconds=run.ran if self.definition.managed_spot else None,
        )

    def _sync_up(self, run: _Run) -> str | None:
        """Sync the checkpoints up; the failure reason when that fails."""
        checkpoint = self.definition.checkpoint
        if checkpoint is None:
            return None
        try:
            sync_up(
                checkpoint_dir(run.request.job_dir),
                job_uri(checkpoint, run.request.name),
                base_dir=checkpoint.base_dir,
            )
        except CheckpointSyncError as exc:
            _note(run.request.job_dir / LOG_NAME, f"{exc}\n")
            return str(exc)
        return None

    def _exited(self, name: str, code: int, generation: int, ended: float) -> JobFinished | None:
        with self._lock:
            run = self._runs.get(name)
        if run is None or generation != run.generation:
            return None
        run.ran += max(0.0, ended - run.started)
        run.attempt_ran += max(0.0, ended - run.started)
        run.proc = None
        log_path = run.request.job_dir / LOG_NAME
        sync_failure = self._sync_up(run)
        if sync_failure is not None:
            return self._finished(run, "Failed", sync_failure)
        if run.stop_reason is not None:
            return self._finished(run, run.stop_status, self._publish(run) or run.stop_reason)
        if run.interrupting:  # reclaimed: wait for capacity, then start again
            run.interrupting = False
            run.interrupt_at = None
            run.interruptions += 1
            _note(
                log_path,
                f"----- spot interruption {run.interruptions}: the instance was "
                f"reclaimed; restarting from checkpoints -----\n",
            )
            spot = self.definition.spot_interruptions
            delay = spot.restart_delay_seconds if spot is not None else 0.0
            run.waiting_until = time.time() + delay
            return None
        if code != 0:
            if run.attempt < self.definition.max_retry_attempts:
                run.attempt += 1
                run.steps, run.final, run.attempt_ran = {}, {}, 0.0
                self._launch(run, header=f"----- retry {run.attempt} -----")
                return None
            said = _failure_file(run.request.job_dir)
            return self._finished(
                run, "Failed", script_failure(code, run.attempt + 1, said, log_path)
            )
        if self.objective_metric not in run.final:
            return self._finished(run, "Failed", objective_missing(self.objective_metric, log_path))
        problem = self._publish(run)
        if problem is not None:
            return self._finished(run, "Failed", problem)
        return self._finished(run, "Completed")

    def _publish(self, run: _Run) -> str | None:
        """Pack and copy the job's artifacts; the failure reason when that fails."""
        try:
            publish(run.request.job_dir, run.request.name, self.definition.output_path)
        except (StorageError, OSError, tarfile.TarError) as exc:
            return f"ClientError: could not save the model artifacts: {exc}"
        return None

    def _next_due(self) -> float:
        """When the next interruption, restart or time limit falls due."""
        due = math.inf
        limit = self.definition.max_runtime_in_seconds
        max_wait = (
            self.definition.max_wait_time_in_seconds if self.definition.managed_spot else None
        )
        for run in list(self._runs.values()):
            if run.stop_reason is not None:
                continue
            if max_wait is not None:
                due = min(due, run.first_started + max_wait)
            if run.proc is None:
                if run.waiting_until is not None:
                    due = min(due, run.waiting_until)
                continue
            if limit is not None:
                due = min(due, run.started + limit - run.attempt_ran)
            if run.interrupt_at is not None and not run.interrupting:
                due = min(due, run.interrupt_at)
        return due

    def _tick(self, out: list[Event]) -> None:
        """Enforce the time limits, reclaim spot instances and restart reclaimed jobs."""
        now = time.time()
        limit = self.definition.max_runtime_in_seconds
        max_wait = (
            self.definition.max_wait_time_in_seconds if self.definition.managed_spot else None
        )
        for run in list(self._runs.values()):
            if run.stop_reason is not None:
                continue
            if max_wait is not None and now - run.first_started >= max_wait:
                reason = (
                    f"MaxWaitTimeInSeconds ({max_wait} s) exceeded: the training job was stopped"
                )
                if run.proc is None:  # waiting for capacity: it ends now
                    run.stop_reason = reason
                    out.append(self._finished(run, run.stop_status, reason))
                else:
                    self._terminate(run, reason)
                continue
            if run.proc is None:
                if run.waiting_until is not None and now >= run.waiting_until:
                    if self._launch(run) and run.proc is not None:
                        # The new process group, for whoever must find it (a resume's
                        # orphan check); the job's start stays its first.
                        self._events.put(
                            JobStarted(run.request.name, run.first_started, run.proc.pid)
                        )
                continue
            if run.interrupting:
                continue
            if limit is not None and run.attempt_ran + now - run.started >= limit:
                self._terminate(
                    run, f"MaxRuntimeInSeconds ({limit} s) exceeded: the training job was stopped"
                )
            elif run.interrupt_at is not None and now >= run.interrupt_at:
                run.interrupting = True
                self._kill(run.proc, run.request.name)

    def _kill(self, proc: subprocess.Popen[bytes], name: str) -> None:
        """SIGTERM to the process group, SIGKILL after the grace period (in a thread)."""
        threading.Thread(
            target=kill_group, args=(proc, self.grace), daemon=True, name=f"stop-{name}"
        ).start()

    def _terminate(self, run: _Run, reason: str) -> None:
        run.stop_reason = reason
        if run.proc is not None:
            self._kill(run.proc, run.request.name)

    def stop(self, name: str, reason: str) -> None:
        run = self._runs.get(name)
        if run is None or run.stop_reason is not None:
            return
        if run.proc is None:  # waiting for spot capacity: nothing runs, it ends at once
            run.stop_reason = reason
            self._events.put(self._finished(run, run.stop_status, reason))
            return
        self._terminate(run, reason)

    def shutdown(self) -> None:
        for name in list(self._runs):
            self.stop(name, "the tuning job ended")
        deadline = time.time() + self.grace + 5
        while self._runs and time.time() < deadline:
            self.poll(0.1)


def _note(log_path: Path, text: str) -> None:
    """Append a line of sagetune's to a job's log, if the disk lets it: the reason that
    matters is recorded in the store either way."""
    with contextlib.suppress(OSError), open(log_path, "a") as log:
        log.write(text)


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
