"""A full disk under a training job's log: the job fails with the reason, the tuner goes on.

The log is made a link to ``/dev/full``, where every write fails with ENOSPC, as on a full
disk: no mocking, the executor's real writes fail.
"""

from __future__ import annotations

from pathlib import Path

from cli_helpers import request, sagetune, write_request, write_script

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
