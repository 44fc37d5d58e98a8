"""Two tuners in two processes race for one tuning job's lease: exactly one wins, every time.

The same race on a SQLite file (one machine) and on PostgreSQL (what tuners on several
machines share); each round is a fresh tuning job the racers try to take at the same moment.
"""

from __future__ import annotations

import multiprocessing
import queue
from pathlib import Path

import pytest
from store_race import race_for_leases

from sagetune.store import TuningJobRecord, open_store

ROUNDS = 25
RACERS = 2


@pytest.fixture(params=["sqlite-file", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'race.db'}"


def test_two_processes_racing_for_a_lease_one_wins_each_round(url: str) -> None:
    store = open_store(url)
    for k in range(ROUNDS):
        store.create_tuning_job(
            TuningJobRecord(
                name=f"r{k}",
                status="InProgress",
                request={},
                seed=k,
                created_at=float(k),
                last_modified_at=float(k),
            )
        )
    ctx = multiprocessing.get_context("spawn")
    together, won = ctx.Barrier(RACERS), ctx.Queue()
    procs = [
        ctx.Process(target=race_for_leases, args=(url, together, f"tuner{i}", ROUNDS, won))
        for i in range(RACERS)
    ]
    for p in procs:
        p.start()
    winners: dict[int, list[str]] = {}

    def drain(timeout: float, most: int | None = None) -> None:
        for _ in range(ROUNDS * RACERS if most is None else most):
            try:
                k, owner = won.get(timeout=timeout)
            except queue.Empty:
                return
            winners.setdefault(k, []).append(owner)

    drain(timeout=60, most=ROUNDS)  # before joining, so that no racer waits to flush the queue
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * RACERS
    drain(timeout=0.5)
    assert {k: len(v) for k, v in winners.items()} == dict.fromkeys(range(ROUNDS), 1)
    for k, (owner,) in winners.items():
        assert store.get_tuning_job(f"r{k}").owner == owner
    store.close()
