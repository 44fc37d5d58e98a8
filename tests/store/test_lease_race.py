"""Two tuners in two processes race for one tuning job's lease: exactly one wins, every time,
even when their machines' clocks are an hour apart (the lease reads the database's clock).

The same race on a SQLite file (one machine) and on PostgreSQL (what tuners on several
machines share); each round is a fresh tuning job the racers try to take at the same moment.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from pathlib import Path

import pytest
from store_race import race_for_leases

from sagetune import control
from sagetune.errors import ResourceInUse
from sagetune.store import TuningJobRecord, open_store

ROUNDS = 25
SKEWS = (-3600.0, 3600.0)  # each racer's clock, off by an hour either way
RACERS = len(SKEWS)


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
        ctx.Process(target=race_for_leases, args=(url, together, skew, ROUNDS, won))
        for skew in SKEWS
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


def test_a_lease_is_taken_over_only_after_its_ttl_by_the_database_clock(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(control, "LEASE_TTL_SECONDS", 1.0)
    store = open_store(url)
    store.create_tuning_job(
        TuningJobRecord(
            name="held",
            status="InProgress",
            request={},
            seed=1,
            created_at=1.0,
            last_modified_at=1.0,
        )
    )
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 3600)  # the holder's clock is behind
    holder = control.Lease(store, "held")
    holder.acquire()
    monkeypatch.setattr(time, "time", lambda: real() + 3600)  # the taker's is ahead
    taker = control.Lease(store, "held")
    with pytest.raises(ResourceInUse, match="being run by another tuner"):
        taker.acquire()  # two hours old by the taker's clock; fresh by the database's
    time.sleep(1.3)  # past the lease, by any clock
    taker.acquire()
    assert store.get_tuning_job("held").owner == taker.owner
    assert not store.renew_lease("held", holder.owner)  # the holder's next heartbeat fails
    store.close()
