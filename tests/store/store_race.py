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


def race_for_leases(url: str, together: Any, owner: str, rounds: int, won: Any) -> None:
    """For each round, when the other racers are ready too, try to take tuning job ``r<k>``;
    put ``(k, owner)`` on ``won`` for each lease taken."""
    store = open_store(url)
    for k in range(rounds):
        together.wait(60)
        if store.acquire_lease(f"r{k}", owner, now=1000.0 + k, stale_before=0.0):
            won.put((k, owner))
    store.close()
