"""A full disk under what a callable's worker writes: the job's log and its model's
archives. The job fails with a reason naming what could not be written, and the same worker
runs the next job.

The log is made a link to ``/dev/full``, where every write fails with ENOSPC, as
``tests/cli/test_full_disk.py`` does for scripts; the archives go to a tmpfs too small for
them. No mocking: the real writes fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagetune.executors.base import Event, JobFinished, JobRequest, JobStarted
from sagetune.executors.process import ProcessExecutor

DEADLINE_SECONDS = 30.0

pytestmark = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")


def chatty(hp: dict[str, Any]) -> float:
    """Prints, then returns; on a full disk its first print fails."""
    for i in range(3):
        print(f"epoch {i}", flush=True)
        print(f"warning {i}", file=sys.stderr)
    return 0.5


def quiet_writer_of_a_full_print(hp: dict[str, Any]) -> float:
    """Prints without a newline and returns: the output is written only when flushed at the
    job's end."""
    print("no newline", end="")
    return 0.25


def catches_its_own_errors(hp: dict[str, Any]) -> float:
    """Swallows the failed print and goes on: its job still fails, its log being lost."""
    try:
        print("epoch 1", flush=True)
    except OSError:
        pass
    return 0.75


def saves_a_model(hp: dict[str, Any], model_dir: str) -> float:
    Path(model_dir, "weights.bin").write_bytes(os.urandom(200_000))  # does not compress
    return 0.5


def _run_job(executor: ProcessExecutor, job: JobRequest) -> list[Event]:
    executor.start(job)
    events: list[Event] = []
    deadline = time.time() + DEADLINE_SECONDS
    while not any(isinstance(e, JobFinished) for e in events):
        assert time.time() < deadline, f"job {job.name} did not end"
        events += executor.poll(0.1)
    return events


def _finished(events: list[Event]) -> JobFinished:
    return next(e for e in events if isinstance(e, JobFinished))


def _pid(events: list[Event]) -> int:
    return next(e.pid for e in events if isinstance(e, JobStarted))


def _two_jobs(tmp_path: Path, train: Any, full: str) -> tuple[list[Event], list[Event]]:
    """The first job's ``full`` file on a full disk, the second's on a good one, both run by
    one executor; the events of each."""
    executor = ProcessExecutor(train)
    try:
        first = JobRequest("full-001", {}, tmp_path / "tuning" / "full-001")
        target = first.job_dir / full
        target.parent.mkdir(parents=True)
        target.symlink_to("/dev/full")
        one = _run_job(executor, first)
        two = _run_job(executor, JobRequest("full-002", {}, tmp_path / "tuning" / "full-002"))
    finally:
        executor.shutdown()
    return one, two


@pytest.mark.parametrize("train", [chatty, quiet_writer_of_a_full_print, catches_its_own_errors])
def test_a_log_on_a_full_disk_fails_its_job_and_the_worker_goes_on(
    tmp_path: Path, train: Any
) -> None:
    one, two = _two_jobs(tmp_path, train, "log.txt")
    end = _finished(one)
    assert end.status == "Failed", end
    log = tmp_path / "tuning" / "full-001" / "log.txt"
    assert end.failure_reason == f"ClientError: No space left on device writing the log {log}"
    assert _finished(two).status == "Completed", _finished(two)
    assert _pid(one) == _pid(two)  # the same worker
    assert (tmp_path / "tuning" / "full-002" / "log.txt").read_text() != ""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs where the first job's archives go (mounting needs root)."""
    output = tmp_path / "tuning" / "full-001" / "output"
    output.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(output)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield output
    finally:
        subprocess.run(["umount", "-l", str(output)], check=True)


def test_a_model_archive_on_a_full_disk_fails_its_job_and_the_worker_goes_on(
    tmp_path: Path, small_disk: Path
) -> None:
    executor = ProcessExecutor(saves_a_model)
    try:
        one = _run_job(executor, JobRequest("full-001", {}, small_disk.parent))
        two = _run_job(executor, JobRequest("full-002", {}, tmp_path / "tuning" / "full-002"))
    finally:
        executor.shutdown()
    end = _finished(one)
    assert end.status == "Failed", end
    assert end.failure_reason == (
        f"ClientError: No space left on device writing {small_disk / 'model.tar.gz'}"
    ), end.failure_reason
    assert [p.name for p in small_disk.iterdir()] == ["output.tar.gz"]  # no partial file
    assert _finished(two).status == "Completed", _finished(two)
    assert (tmp_path / "tuning" / "full-002" / "output" / "model.tar.gz").stat().st_size > 0
    assert _pid(one) == _pid(two)
