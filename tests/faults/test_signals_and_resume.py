"""A tuner killed (SIGKILL), terminated (SIGTERM) or interrupted (SIGINT) at a seeded random
moment, then ``sagetune resume``: nothing completed is lost or changed, exactly
MaxNumberOfTrainingJobs training jobs complete, and no process of the tuning job is left.

Both kinds of training code run: a script-mode script under ``sagetune tune``, and a Python
callable under an SDK program (``HyperparameterTuner.fit``) run as a subprocess. Each job
starts a daemon of its own (a child in a session of its own, with stdout let go) that would
sleep for ten minutes, so a process left behind is one the marker sweep missed; they are
found by scanning ``/proc`` for the tuning job's marker (:mod:`sagetune.executors.procs`).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cli_helpers import request, sagetune, wait_for, write_request, write_script

from sagetune.executors.procs import find, tuning_marker
from sagetune.store import open_store

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

MAX_JOBS = 4
NAME = "faulted"

DAEMON = (
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], "
    "stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, "
    "start_new_session=True)"
)

SCRIPT = f"""
import argparse, subprocess, sys, time
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
p.add_argument("--depth", type=int)
args, _ = p.parse_known_args()
{DAEMON}
for epoch in range(1, 4):
    print(f"validation:auc={{0.5 + 0.1 * epoch - args.lr:.5f}}", flush=True)
    time.sleep(0.2)
"""

SDK_PROGRAM = """
import subprocess, sys, time
import sagetune

def train(hp, report):
    {daemon}
    for epoch in range(1, 4):
        report(epoch=epoch, loss=hp["x"] / epoch)
        time.sleep(0.2)
    return {{"loss": hp["x"] / 3}}

tuner = sagetune.HyperparameterTuner(
    "loss", {{"x": {parameter}}}, objective_type="Minimize",
    strategy={strategy!r}, max_jobs={max_jobs}, max_parallel_jobs=2, store={store!r},
    show_progress=False, random_seed=3,
)
tuner.fit(train, job_name={name!r})
"""

# (training code, signal, moment): "started" is once a running job's process id is recorded,
# "created" as soon as a job is InProgress, which may be before its process started or its id
# was recorded (the gap a resume must cover by the marker alone).
ROUNDS = [
    pytest.param(kind, sig, moment, seed, id=f"{kind}-{sig.name}-{moment}")
    for seed, (kind, sig, moment) in enumerate(
        [
            ("script", signal.SIGKILL, "started"),
            ("script", signal.SIGKILL, "created"),
            ("script", signal.SIGTERM, "started"),
            ("script", signal.SIGINT, "started"),
            ("callable", signal.SIGKILL, "started"),
            ("callable", signal.SIGKILL, "created"),
            ("callable", signal.SIGTERM, "started"),
            ("callable", signal.SIGINT, "started"),
        ]
    )
]


# A grid of MAX_JOBS points, for each kind of training code.
GRID_RANGES = {
    "CategoricalParameterRanges": [{"Name": "lr", "Values": ["0.01", "0.1"]}],
    "IntegerParameterRanges": [{"Name": "depth", "MinValue": "1", "MaxValue": "2"}],
}
GRID_PARAMETER = "sagetune.CategoricalParameter([1, 2, 3, 4])"

# For the grid under SIGTERM: the first job to start runs for a minute, so the clean stop
# always cuts a job short (a job near its end could otherwise finish before the stop reached
# it); the claim file makes every later job, the rerun included, run as fast as the rest.
SLOW_FIRST = """
import os, time
try:
    os.close(os.open({claim!r}, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    time.sleep(60)
except FileExistsError:
    pass
"""


def _start_tuner(
    tmp_path: Path, kind: str, store: str, strategy: str = "Random", slow_first: bool = False
) -> subprocess.Popen[bytes]:
    if kind == "script":
        prelude = SLOW_FIRST.format(claim=str(tmp_path / "claimed")) if slow_first else ""
        write_script(tmp_path / "src", prelude + SCRIPT)
        req = request(NAME, max_jobs=MAX_JOBS, parallel=2, strategy=strategy)
        if strategy == "Grid":
            req["HyperParameterTuningJobConfig"]["ParameterRanges"] = GRID_RANGES
        cmd = ["-m", "sagetune", "tune", str(write_request(tmp_path, req)), "--no-progress"]
        cmd += ["--store", store]
    else:
        parameter = GRID_PARAMETER if strategy == "Grid" else "sagetune.ContinuousParameter(0, 1)"
        program = tmp_path / "fit.py"
        program.write_text(
            textwrap.dedent(SDK_PROGRAM).format(
                daemon=DAEMON,
                max_jobs=MAX_JOBS,
                store=store,
                name=NAME,
                parameter=parameter,
                strategy=strategy,
            )
        )
        cmd = [str(program)]
    # Its own session: the signal reaches the tuner alone, as a kill from another terminal.
    return subprocess.Popen(
        [sys.executable, *cmd],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


@pytest.mark.parametrize(("kind", "sig", "moment", "seed"), ROUNDS)
def test_a_signalled_tuner_resumes_to_exactly_its_budget(
    tmp_path: Path, kind: str, sig: signal.Signals, moment: str, seed: int
) -> None:
    rng = random.Random(seed)
    completed_first = rng.randint(0, 2)  # the moment: after this many jobs completed ...
    delay = rng.uniform(0.0, 0.4) if moment == "started" else 0.0  # ... and this long after
    store_url = f"sqlite:///{tmp_path / 'faults.db'}"
    tuner = _start_tuner(tmp_path, kind, store_url)
    try:
        store = wait_for(
            lambda: (tmp_path / "faults.db").exists() and open_store(store_url),
            60,
            "the store",
        )

        def the_moment() -> bool:
            if not store.list_tuning_jobs():
                return False
            jobs = store.list_training_jobs(NAME)
            done = sum(j.status == "Completed" for j in jobs)
            running = [j for j in jobs if j.status == "InProgress"]
            if moment == "started":
                running = [j for j in running if j.process_id]
            return done >= completed_first and bool(running)

        wait_for(the_moment, 60, f"{completed_first} completed jobs and one running")
        time.sleep(delay)
        os.kill(tuner.pid, sig)
        _, err = tuner.communicate(timeout=60)
    finally:
        if tuner.poll() is None:
            tuner.kill()
            tuner.wait()
    folder = store.tuning_job_dir(NAME)
    before = {j.name: j for j in store.list_training_jobs(NAME)}
    record = store.get_tuning_job(NAME)
    if sig == signal.SIGKILL:
        assert record.status == "InProgress"
        if moment == "started":
            assert find(tuning_marker(folder))  # its orphans, which the resume must end
    else:  # a clean stop: recorded, and nothing of it runs any more
        assert record.status == "Stopped", err
        assert not any(j.status == "InProgress" for j in before.values())
        assert find(tuning_marker(folder)) == []

    res = sagetune("resume", NAME, "--no-progress", store=store_url, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr

    after = {j.name: j for j in store.list_training_jobs(NAME)}
    for name, job in before.items():
        if job.status == "Completed":
            assert after[name] == job  # kept exactly
        else:
            assert after[name].interrupted and after[name].status == "Stopped"
    assert store.get_tuning_job(NAME).status == "Completed"
    assert sum(j.status == "Completed" for j in after.values()) == MAX_JOBS
    assert sum(not j.interrupted for j in after.values()) == MAX_JOBS
    assert find(tuning_marker(folder)) == []


@pytest.mark.parametrize(
    ("kind", "sig"),
    [
        ("script", signal.SIGKILL),
        ("script", signal.SIGTERM),
        ("callable", signal.SIGKILL),
    ],
    ids=["script-SIGKILL", "script-SIGTERM", "callable-SIGKILL"],
)
def test_a_resumed_grid_runs_every_point_once(
    tmp_path: Path, kind: str, sig: signal.Signals
) -> None:
    """The grid points of the jobs a signal interrupted are run again on resume: every point
    ends Completed exactly once, and the tuning job ends on its budget, not on an exhausted
    grid."""
    store_url = f"sqlite:///{tmp_path / 'faults.db'}"
    slow_first = sig == signal.SIGTERM
    tuner = _start_tuner(tmp_path, kind, store_url, strategy="Grid", slow_first=slow_first)
    try:
        store = wait_for(
            lambda: (tmp_path / "faults.db").exists() and open_store(store_url),
            60,
            "the store",
        )

        def one_done_one_running() -> bool:
            if not store.list_tuning_jobs():
                return False
            jobs = store.list_training_jobs(NAME)
            done = sum(j.status == "Completed" for j in jobs)
            return done >= 1 and any(j.status == "InProgress" and j.process_id for j in jobs)

        wait_for(one_done_one_running, 60, "a completed job and a running one")
        os.kill(tuner.pid, sig)
        tuner.communicate(timeout=60)
    finally:
        if tuner.poll() is None:
            tuner.kill()
            tuner.wait()
    before = store.list_training_jobs(NAME)
    assert any(j.status != "Completed" for j in before)  # the kill cut some job short

    res = sagetune("resume", NAME, "--no-progress", store=store_url, timeout=120)
    assert res.returncode == 0, res.stderr

    after = store.list_training_jobs(NAME)
    completed = [tuple(sorted(j.hyperparameters.items())) for j in after if j.status == "Completed"]
    assert len(completed) == len(set(completed)) == MAX_JOBS
    assert all(j.interrupted for j in after if j.status != "Completed")
    record = store.get_tuning_job(NAME)
    assert record.status == "Completed"
    assert record.details["CompletionReason"] == "MaxNumberOfTrainingJobs reached"
