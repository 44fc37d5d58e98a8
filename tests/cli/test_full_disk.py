"""A full disk: under a training job's log, the job fails with the reason and the tuner goes
on; under the store, the tuner stops its jobs with one clear error, and a resume finishes
the tuning job once there is space again.

A log is made a link to ``/dev/full``, where every write fails with ENOSPC. The store's disk
is filled by SQLite itself: ``PRAGMA max_page_count`` caps the database a few pages above
its size, and a write past it fails with "database or disk is full". No mocking: the real
writes fail.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from cli_helpers import request, sagetune, write_request, write_script
from sqlalchemy import event

from sagetune import service
from sagetune.errors import StoreNotWritable
from sagetune.naming import training_job_name
from sagetune.store import open_store

CHATTY = """
import sys
for i in range(4000):  # ~200 KB: more than a pipe holds, so an unread pipe would block
    print(f"line {i} " + "x" * 40)
print("validation:auc=0.5", flush=True)
"""


def test_a_log_on_a_full_disk_fails_its_job_and_the_tuning_job_goes_on(tmp_path: Path) -> None:
    write_script(tmp_path / "src", CHATTY)
    db = tmp_path / "s.db"
    name = "fulldisk"
    first = db.parent / f"{db.stem}-jobs" / name / training_job_name(name, 1)
    first.mkdir(parents=True)
    (first / "log.txt").symlink_to("/dev/full")
    req = request(name, max_jobs=2, parallel=1)
    res = sagetune("tune", str(write_request(tmp_path, req)), store=str(db), timeout=120)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    store = open_store(str(db))
    jobs = sorted(store.list_training_jobs(name), key=lambda j: j.seq)
    assert [j.status for j in jobs] == ["Failed", "Completed"], jobs
    assert "No space left on device writing the log" in (jobs[0].failure_reason or "")
    assert store.get_tuning_job(name).status == "Completed"


def _tune_on_a_full_disk(db: str, name: str, said: Any) -> None:
    """A tuner whose store fills up a few pages into the run (in its own process, which
    then exits, as a tuner does)."""
    store = open_store(db)
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    @event.listens_for(store.engine, "connect")  # type: ignore[attr-defined]
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count={pages + 3}")

    store.engine.dispose()  # type: ignore[attr-defined]
    try:
        service.run_tuning_job(store, name)
    except StoreNotWritable as exc:
        said.put(str(exc))
    else:
        said.put("no error")


def test_a_store_on_a_full_disk_stops_the_tuner_and_resume_finishes(tmp_path: Path) -> None:
    write_script(tmp_path / "src")
    db, name = str(tmp_path / "s.db"), "fullstore"
    store = open_store(db)
    req = request(name, max_jobs=4, StoppingCondition={"MaxRuntimeInSeconds": 60})
    req["HyperParameterTuningJobConfig"]["ParameterRanges"]["CategoricalParameterRanges"] = [
        {"Name": "epochs", "Values": ["60"]}
    ]
    service.create_tuning_job(store, req, base_dir=tmp_path)
    ctx = multiprocessing.get_context("fork")
    said = ctx.Queue()
    tuner = ctx.Process(target=_tune_on_a_full_disk, args=(db, name, said))
    tuner.start()
    tuner.join(120)
    assert tuner.exitcode == 0
    message = said.get(timeout=5)
    assert "database or disk is full; resume with sagetune resume fullstore" in message
    assert not any(line.startswith("Traceback") for line in message.splitlines())

    res = sagetune("resume", name, store=db, timeout=180)  # space again
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert f"{name}: Completed" in res.stdout
    jobs = store.list_training_jobs(name)
    assert sum(j.status == "Completed" for j in jobs) == 4
    assert not [j for j in jobs if j.status == "InProgress"]
