"""Training code that misbehaves: it hangs, ignores SIGTERM, forks children that outlive it,
closes its output early, writes bytes that are not UTF-8 or metric values that are not finite.

Each job runs for real (a script under SubprocessExecutor, a callable in a worker of
ProcessExecutor) and every wait is bounded. A process "left behind" is one that still runs
once its job has ended: alive in ``/proc`` and not a zombie (an ended child its parent has not
waited for yet).
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from sagetune.executors.base import Executor, JobFinished, JobRequest, MetricReported
from sagetune.executors.process import ProcessExecutor
from sagetune.executors.procs import find, tuning_marker
from sagetune.executors.subprocess import SubprocessExecutor
from sagetune.training import parse_script_definition

DEADLINE_SECONDS = 30.0

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:
        return False


def _script_executor(tmp_path: Path, body: str, **stopping: int) -> SubprocessExecutor:
    source = tmp_path / "src"
    source.mkdir()
    (source / "job.py").write_text(textwrap.dedent(body))
    errors: list[str] = []
    definition = parse_script_definition(
        {
            "LocalCommand": "python job.py",
            "AlgorithmSpecification": {
                "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=(\S+)"}]
            },
            **({"StoppingCondition": stopping} if stopping else {}),
        },
        "loss",
        source,
        errors,
    )
    assert definition is not None and not errors, errors
    return SubprocessExecutor(definition, "loss", stop_grace_seconds=0.5)


def _run(executor: Executor, job: JobRequest, stop_after: float | None = None) -> list[Any]:
    """Start ``job``, optionally stop it after ``stop_after`` seconds; every event until it
    ends (bounded)."""
    executor.start(job)
    events: list[Any] = []
    started = time.time()
    try:
        while time.time() - started < DEADLINE_SECONDS:
            if stop_after is not None and time.time() - started >= stop_after:
                executor.stop(job.name, "stopped by the test")
                stop_after = None
            events += executor.poll(0.1)
            if any(isinstance(e, JobFinished) for e in events):
                return events
        raise AssertionError(f"job {job.name} did not end within {DEADLINE_SECONDS} s")
    finally:
        executor.shutdown()


def _job(tmp_path: Path, name: str = "hostile-001") -> JobRequest:
    return JobRequest(name, {}, tmp_path / "tuning" / name)


def _finished(events: list[Any]) -> JobFinished:
    return next(e for e in events if isinstance(e, JobFinished))


def test_a_hanging_script_is_stopped_by_its_max_runtime(tmp_path: Path) -> None:
    executor = _script_executor(
        tmp_path,
        "import time\nprint('loss=0.5', flush=True)\ntime.sleep(600)\n",
        **{"MaxRuntimeInSeconds": 1},
    )
    end = _finished(_run(executor, _job(tmp_path)))
    assert end.status == "Stopped"
    assert "MaxRuntimeInSeconds (1 s) exceeded" in (end.failure_reason or "")
    assert end.metrics == {"loss": 0.5}


def test_a_script_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    executor = _script_executor(
        tmp_path,
        """
        import os, signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        open(os.path.join(os.environ["SM_OUTPUT_DIR"], "pid"), "w").write(str(os.getpid()))
        print("loss=0.5", flush=True)
        time.sleep(600)
        """,
    )
    job = _job(tmp_path)
    end = _finished(_run(executor, job, stop_after=1.0))
    assert end.status == "Stopped" and end.failure_reason == "stopped by the test"
    pid = int(next(job.job_dir.rglob("pid")).read_text())
    assert not _running(pid)


FORKS = """
import os, subprocess, sys, time
# One child leaves the process group and lets go of stdout; one keeps stdout open.
detached = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(600)"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
)
holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(os.path.join(os.environ["SM_OUTPUT_DIR"], "pids"), "w").write(f"{detached.pid} {holder.pid}")
print("loss=0.25", flush=True)
"""


def test_a_scripts_children_end_with_it_whether_or_not_they_hold_its_output(
    tmp_path: Path,
) -> None:
    executor = _script_executor(tmp_path, FORKS)
    job = _job(tmp_path)
    started = time.time()
    end = _finished(_run(executor, job))
    # It ends when its main process exits, not when the child holding stdout would.
    assert time.time() - started < DEADLINE_SECONDS
    assert end.status == "Completed" and end.metrics == {"loss": 0.25}
    pids = [int(p) for p in next(job.job_dir.rglob("pids")).read_text().split()]
    assert len(pids) == 2 and not any(_running(p) for p in pids)
    assert find(tuning_marker(job.job_dir.parent)) == []


def test_a_script_that_closes_its_output_early_ends_at_its_exit_with_its_metrics(
    tmp_path: Path,
) -> None:
    executor = _script_executor(
        tmp_path,
        """
        import os, time
        print("loss=0.125", flush=True)
        os.close(1)
        os.close(2)
        time.sleep(1.0)  # still running, with nothing to read
        open(os.path.join(os.environ["SM_OUTPUT_DIR"], "done"), "w").write("yes")
        """,
    )
    job = _job(tmp_path)
    end = _finished(_run(executor, job))
    assert end.status == "Completed" and end.metrics == {"loss": 0.125}
    assert next(job.job_dir.rglob("done")).read_text() == "yes"  # it ran to its end


def test_output_that_is_not_utf8_is_kept_and_its_metrics_read(tmp_path: Path) -> None:
    executor = _script_executor(
        tmp_path,
        r"""
        import sys
        sys.stdout.buffer.write(b"\xff\xfe\x80 loss=0.75\n\xc3(\n")
        sys.stdout.flush()
        """,
    )
    job = _job(tmp_path)
    end = _finished(_run(executor, job))
    assert end.status == "Completed" and end.metrics == {"loss": 0.75}
    assert b"\xff\xfe\x80 loss=0.75\n\xc3(\n" in (job.job_dir / "log.txt").read_bytes()


def test_metric_values_that_are_not_finite_are_not_points(tmp_path: Path) -> None:
    """A script's ``nan``, ``inf`` or ``-inf`` is no metric point (nor a final value); a
    callable's report of one is refused (``tests/executors/test_reporter.py``)."""
    executor = _script_executor(
        tmp_path,
        """
        for value in ("nan", "0.5", "inf", "-inf", "0.25", "NaN"):
            print(f"loss={value}", flush=True)
        """,
    )
    events = _run(executor, _job(tmp_path))
    points = [(e.step, e.value) for e in events if isinstance(e, MetricReported)]
    assert points == [(1, 0.5), (2, 0.25)]
    end = _finished(events)
    assert end.status == "Completed" and end.metrics == {"loss": 0.25}


def forking_callable(hp: dict[str, Any]) -> float:
    """Starts a program in a session of its own and forks a copy of itself, then returns."""
    import subprocess

    detached = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    child = os.fork()
    if child == 0:  # a fork without exec, as multiprocessing's fork start method makes
        os.setsid()
        time.sleep(600)
        os._exit(0)
    Path(hp["pids"]).write_text(f"{detached.pid} {child}")
    return 0.5


def test_what_a_callable_started_ends_with_its_job_and_the_worker_is_reused(
    tmp_path: Path,
) -> None:
    executor = ProcessExecutor(forking_callable)
    try:
        pids = []
        workers = set()
        for i in (1, 2):
            job = JobRequest(
                f"hostile-00{i}",
                {"pids": str(tmp_path / f"pids{i}")},
                tmp_path / "tuning" / f"hostile-00{i}",
            )
            executor.start(job)
            events: list[Any] = []
            deadline = time.time() + DEADLINE_SECONDS
            while not any(isinstance(e, JobFinished) for e in events):
                assert time.time() < deadline, "the callable did not end"
                events += executor.poll(0.1)
            assert _finished(events).status == "Completed"
            workers |= {e.pid for e in events if getattr(e, "pid", None)}
            pids += [int(p) for p in (tmp_path / f"pids{i}").read_text().split()]
        assert len(pids) == 4 and not any(_running(p) for p in pids)
        assert len(workers) == 1 and all(_running(w) for w in workers)  # it lives on
    finally:
        executor.shutdown()
    assert find(tuning_marker(tmp_path / "tuning")) == []
