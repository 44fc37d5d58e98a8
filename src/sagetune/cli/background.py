"""``python -m sagetune.cli.background NAME STORE``: run a stored tuning job, detached.

Started by ``create-hyper-parameter-tuning-job``; its output goes to the tuning job's
``tuner.log``.
"""

from __future__ import annotations

import sys
import time
import traceback

from sagetune.errors import ResourceInUse
from sagetune.service import run_tuning_job
from sagetune.store.sql import open_store


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
