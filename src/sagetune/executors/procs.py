"""Marks on every process a training job starts, and the sweep that ends them all.

A process id or a process group is not enough to find what a job started: a child may call
``setsid`` (a daemon, a data loader) and leave the group, and a tuner killed between starting a
script and recording its process id leaves nothing in the store to look up. So every process
an executor starts carries markers in its environment, which its children inherit (even
across ``setsid``, ``fork`` and ``exec``):

- ``SAGETUNE_TUNING_JOB_DIR``: the tuning job's folder (absolute). It is unique to one store's
  tuning job, so two stores with tuning jobs of the same name never touch each other's
  processes. ``sagetune resume`` ends everything carrying it before it starts anything.
- ``SAGETUNE_TRAINING_JOB``: the training job's name (script jobs; a callable's worker sets it
  while the job runs, so the programs the callable starts carry it).
- ``SAGETUNE_WORKER``: one callable worker interpreter, so what its jobs forked is found when
  a job ends while the worker lives on for the next one.

Processes are found by reading ``/proc/<pid>/environ`` (the environment a process started
with, which is what its children inherit at ``fork``); where there is no ``/proc`` nothing is
found and nothing is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

TUNING_JOB_DIR_ENV = "SAGETUNE_TUNING_JOB_DIR"
TRAINING_JOB_ENV = "SAGETUNE_TRAINING_JOB"
WORKER_ENV = "SAGETUNE_WORKER"
SWEEP_GRACE_SECONDS = 2.0


def tuning_marker(tuning_job_dir: Path) -> dict[str, str]:
    """The environment that marks a process as one of this tuning job's."""
    return {TUNING_JOB_DIR_ENV: str(Path(tuning_job_dir).resolve())}


def job_markers(job_dir: Path) -> dict[str, str]:
    """The environment that marks a process as one of this training job's (``job_dir`` is
    ``<tuning job folder>/<training job name>``, as the store lays it out)."""
    job_dir = Path(job_dir)
    return {**tuning_marker(job_dir.parent), TRAINING_JOB_ENV: job_dir.name}


def _environ(pid: int) -> set[bytes] | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return set(f.read().split(b"\0"))
    except OSError:  # gone, a zombie, or another user's
        return None


def find(*markers: Mapping[str, str], exclude: Iterable[int] = ()) -> list[int]:
    """The live processes whose environment holds every variable of one of ``markers``.

    Args:
        markers: sets of environment variables and their values; a process matches when it
            carries all of one set.
        exclude: process ids never returned (this process is never returned).

    Returns:
        Their process ids (empty where there is no ``/proc``).
    """
    if not markers or not all(markers):
        raise ValueError("markers: at least one variable is needed, or every process matches")
    wanted = [{f"{k}={v}".encode() for k, v in m.items()} for m in markers]
    skip = {os.getpid(), *exclude}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.isdigit() or int(entry) in skip:
            continue
        env = _environ(int(entry))
        if env is not None and any(w <= env for w in wanted):
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # A zombie has ended; only its parent's wait is missing.
            return f.read().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:
        return False


def has_children(pid: int) -> bool:
    """Whether the process has a child process now (any of its threads': one read per thread,
    much cheaper than :func:`find`'s look at every process)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                if f.read().strip():
                    return True
        except OSError:
            continue
    return False


def kill(pids: Iterable[int], grace: float = SWEEP_GRACE_SECONDS) -> None:
    """SIGTERM to each process, SIGKILL to those still alive after ``grace`` seconds."""
    pids = list(pids)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace
    while (left := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.02)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def sweep(
    *markers: Mapping[str, str], exclude: Iterable[int] = (), grace: float = SWEEP_GRACE_SECONDS
) -> list[int]:
    """End every process carrying one of ``markers`` (see :func:`find`), including those that
    left their process group; what they fork meanwhile is found by another look.

    Returns:
        The process ids that were signalled.
    """
    skip = set(exclude)
    ended: list[int] = []
    for _ in range(3):  # a process may fork while it is being ended
        pids = find(*markers, exclude=skip)
        if not pids:
            break
        kill(pids, grace)
        ended += pids
        skip.update(pids)
    return ended


def end_orphaned_job(pgid: int | None, job_dir: Path) -> None:
    """End what a training job left running when its tuner died.

    Its recorded process group is ended when the group's leader is still one of the tuning
    job's processes (a script, a callable's worker) or carries the job's name (a process a Ray
    node started here), so a process id reused by an unrelated program is never signalled;
    then everything carrying the job's markers, which includes children that left the group.

    Args:
        pgid: the process group recorded for the job (None: it was never recorded).
        job_dir: the training job's folder.
    """
    job_dir = Path(job_dir)
    env = _environ(pgid) if pgid else None
    ours = {f"{k}={v}".encode() for k, v in tuning_marker(job_dir.parent).items()}
    ours.add(f"{TRAINING_JOB_ENV}={job_dir.name}".encode())
    if pgid and env is not None and ours & env:
        try:
            os.killpg(pgid, signal.SIGTERM)
            deadline = time.monotonic() + SWEEP_GRACE_SECONDS
            while _alive(pgid) and time.monotonic() < deadline:
                time.sleep(0.02)
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    sweep(job_markers(job_dir))


def kill_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM to the process group ``proc`` leads, SIGKILL after ``grace`` seconds."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    try:  # the leader may be gone while its children live on
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
