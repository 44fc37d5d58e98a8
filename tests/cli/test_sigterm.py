"""SIGTERM to a tuner (``kill``, a service manager) stops its tuning job cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import request, wait_for, write_request, write_script

from sagetune.store import open_store

SLOW = """
import time
print("validation:auc=0.5", flush=True)
time.sleep(120)
"""


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_records_the_tuning_job_stopped_and_ends_its_training_processes(
    tmp_path: Path,
) -> None:
    write_script(tmp_path / "src", SLOW)
    store_url = f"sqlite:///{tmp_path / 't.db'}"
    path = write_request(tmp_path, request("termed", max_jobs=4, parallel=2))
    tuner = subprocess.Popen(
        [sys.executable, "-m", "sagetune", "tune", str(path), "--store", store_url],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = open_store(store_url)

    def both_running() -> list:
        if not store.list_tuning_jobs():
            return []
        jobs = store.list_training_jobs("termed")
        if len(jobs) != 2 or not all(j.process_id for j in jobs):
            return []
        # Both must have reported: under load a job can be running with its
        # first line still unread when the signal arrives.
        reported = {p.training_job_name for p in store.metric_points([j.name for j in jobs])}
        return jobs if len(reported) == 2 else []

    try:
        groups = [
            j.process_id for j in wait_for(both_running, 60, "two jobs running and reporting")
        ]
        tuner.send_signal(signal.SIGTERM)
        out, err = tuner.communicate(timeout=60)
    finally:
        if tuner.poll() is None:
            tuner.kill()
    assert tuner.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    record = store.get_tuning_job("termed")
    assert record.status == "Stopped"
    assert record.details["CompletionReason"] == "interrupted (SIGTERM)"
    jobs = store.list_training_jobs("termed")
    assert [j.status for j in jobs] == ["Stopped", "Stopped"]
    assert all(j.objective == 0.5 for j in jobs)  # each keeps its last reported value
    assert all(j.interrupted for j in jobs)  # replaced on resume (tests/faults/)
    wait_for(lambda: not any(_alive(g) for g in groups), 20, "the training processes to end")


# The signal is sent from inside SQLAlchemy's set-up of the statement that checks the lease
# before a training job's record changes: as its start is recorded ("start"), or its end
# ("end", after its report). A handler that raised there would lose the change (the job left
# InProgress) or come out wrapped in SQLAlchemy's StatementError, a crash instead of a stop.
IN_A_QUERY = """
import os, signal, time
from sqlalchemy.engine import default
import sagetune

armed = {{"on": {at!r} == "start"}}
original = default.DefaultExecutionContext._init_compiled.__func__

def init_compiled(cls, *args, **kwargs):
    sql = str(args[4])
    if sql.startswith("INSERT INTO metric_points") and armed["on"] is False:
        armed["on"] = True  # the job's report is recorded: the next change is its end
    elif armed["on"] is True and "training_jobs.name IN" in sql:
        armed["on"] = None
        os.kill(os.getpid(), signal.SIGTERM)
    return original(cls, *args, **kwargs)

default.DefaultExecutionContext._init_compiled = classmethod(init_compiled)

def train(hp, report):
    report(epoch=1, loss=hp["x"])
    time.sleep(2)
    return {{"loss": hp["x"]}}

tuner = sagetune.HyperparameterTuner(
    "loss", {{"x": sagetune.ContinuousParameter(0, 1)}}, objective_type="Minimize",
    max_jobs=3, max_parallel_jobs=1, store={store!r}, show_progress=False, random_seed=1,
)
tuner.fit(train, job_name="inquery")
"""


@pytest.mark.parametrize(("at", "ends"), [("start", "Stopped"), ("end", "Completed")])
def test_sigterm_inside_a_store_query_still_stops_cleanly(
    tmp_path: Path, at: str, ends: str
) -> None:
    store_url = f"sqlite:///{tmp_path / 'q.db'}"
    program = tmp_path / "program.py"
    program.write_text(IN_A_QUERY.format(store=store_url, at=at))
    done = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    store = open_store(store_url)
    record = store.get_tuning_job("inquery")
    assert record.status == "Stopped"
    assert record.details["CompletionReason"] == "interrupted (SIGTERM)"
    # The change in hand was recorded, then the stop taken: one job, never left InProgress.
    (job,) = store.list_training_jobs("inquery")
    assert job.status == ends
    assert job.process_id is not None
    if ends == "Completed":
        assert job.objective == 0.5 and not job.interrupted
    else:
        assert job.interrupted  # replaced on resume
