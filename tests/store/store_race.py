"""A child process of the concurrent-open test, kept apart so that it imports little."""

from __future__ import annotations

from typing import Any

from sagetune.store import TuningJobRecord, open_store


def open_and_write(path: str, together: Any, i: int) -> None:
    """Open the store when every other child is ready too, and write one tuning job."""
    together.wait(60)
    store = open_store(path)
    store.create_tuning_job(
        TuningJobRecord(
            name=f"p{i}",
            status="InProgress",
            request={},
            seed=i,
            created_at=float(i),
            last_modified_at=float(i),
        )
    )
    store.close()


def race_for_leases(url: str, together: Any, skew: float, rounds: int, won: Any) -> None:
    """For each round, when the other racers are ready too, try to take tuning job ``r<k>``
    as a tuner does (``control.Lease``), with this process's clock ``skew`` seconds off; put
    ``(k, owner)`` on ``won`` for each lease taken."""
    import time

    from sagetune import control
    from sagetune.errors import ResourceInUse

    real = time.time
    time.time = lambda: real() + skew  # this machine's clock is wrong
    store = open_store(url)
    for k in range(rounds):
        lease = control.Lease(store, f"r{k}")
        together.wait(60)
        try:
            lease.acquire()
        except ResourceInUse:
            continue
        won.put((k, lease.owner))
    store.close()
