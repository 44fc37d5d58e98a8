"""What reaches a worker process: the user's own functions by value, and a function that
cannot be loaded fails each of its jobs (the worker lives on)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sagetune.executors.base import JobFinished, JobRequest
from sagetune.executors.process import ProcessExecutor


def _finish(ex: ProcessExecutor, n: int, timeout: float = 60) -> list[JobFinished]:
    done: list[JobFinished] = []
    deadline = time.time() + timeout
    while len(done) < n and time.time() < deadline:
        done += [e for e in ex.poll(0.2) if isinstance(e, JobFinished)]
    return done


def test_a_function_that_cannot_be_loaded_fails_every_job_it_runs(tmp_path: Path) -> None:
    # A pickle of a function from a module no worker can import (as a job stored by a tuner
    # whose code has since moved).
    payload = pickle.dumps(len, protocol=2).replace(b"__builtin__", b"gone_mod___")
    ex = ProcessExecutor(payload, capacity=1)
    try:
        for i in range(2):  # the second job finds the worker that failed to load it
            ex.start(JobRequest(f"j{i}", {"x": 1.0}, tmp_path / f"j{i}"))
            (end,) = _finish(ex, 1)
            assert end.status == "Failed"
            assert "could not be loaded in the worker process" in (end.failure_reason or "")
            assert "gone_mod" in (end.failure_reason or "")
    finally:
        ex.shutdown()


def test_a_function_of_the_users_own_module_runs_where_that_module_cannot_be_imported(
    tmp_path: Path,
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "mytrain.py").write_text(
        textwrap.dedent(
            """
            OFFSET = 0.5

            def train(hp):
                return hp["x"] + OFFSET
            """
        )
    )
    made = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import mytrain; "
            "from sagetune.executors.process import serialize_callable; "
            "sys.stdout.buffer.write(serialize_callable(mytrain.train))",
            str(code),
        ],
        capture_output=True,
        check=True,
    )
    ex = ProcessExecutor(made.stdout, capacity=1)  # this process has no 'mytrain' on its path
    try:
        ex.start(JobRequest("by-value", {"x": 1.0}, tmp_path / "by-value"))
        (end,) = _finish(ex, 1)
        assert end.status == "Completed", end.failure_reason
        assert end.result == 1.5
    finally:
        ex.shutdown()
