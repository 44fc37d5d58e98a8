"""The detached tuner (``main(NAME, STORE)``): runs a stored tuning job to its end.

Started by ``create-hyper-parameter-tuning-job`` and by the API's CreateHyperParameterTuningJob
(:func:`start`); its output goes to the tuning job's ``tuner.log``.
"""

from __future__ import annotations

import subprocess
import sys
import time
import traceback
from pathlib import Path

from sagetune.errors import ResourceInUse
from sagetune.service import run_tuning_job
from sagetune.store import Store
from sagetune.store.sql import open_store

_ENTRY = "import sys; from sagetune.cli.background import main; sys.exit(main(sys.argv[1:]))"


def start(store: Store, name: str, cwd: str | Path) -> subprocess.Popen[bytes]:
    """Start a detached tuner for a stored tuning job, in its own session (it outlives the
    caller), with ``cwd`` as its working directory; output goes to the job's ``tuner.log``."""
    log_dir = store.tuning_job_dir(name)
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "tuner.log", "ab") as log:
        return subprocess.Popen(
            # Not ``-m sagetune.cli.background``: the package imports this module first, so
            # runpy would run it a second time and warn so in the log users read.
            [sys.executable, "-c", _ENTRY, name, store.url],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            cwd=str(cwd),
        )


def main(argv: list[str]) -> int:
    name, url = argv
    store = open_store(url)
    try:
        record = run_tuning_job(store, name)
    except ResourceInUse as exc:
        print(exc, file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the job must not stay InProgress with no tuner
        traceback.print_exc()
        now = time.time()
        store.update_tuning_job(
            name,
            status="Failed",
            ended_at=now,
            last_modified_at=now,
            failure_reason=f"the tuner failed: {type(exc).__name__}: {exc}",
        )
        return 1
    print(f"{name}: {record.status}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
