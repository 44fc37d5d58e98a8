"""SIGTERM to a tuner (``kill``, a service manager) stops its tuning job cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

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
