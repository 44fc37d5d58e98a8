"""A tuner cut off from its store for longer than its lease (20 s, shorter than the 30 s retry
budget) finds out on reconnecting whether another tuner took its tuning job over meanwhile,
before it writes anything: if so it stops with ``LeaseLost`` and leaves the store as the new
tuner wrote it. The tuner reaches PostgreSQL through a proxy the test cuts; the other tuner
reaches it directly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from replay import ReplayExecutor, replay_request
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy

from sagetune import control
from sagetune.errors import LeaseLost
from sagetune.runner import TuningJobRunner
from sagetune.service import create_tuning_job
from sagetune.spec import load_spec
from sagetune.store import SQLStore, TrainingJobRecord, TuningJobRecord
from sagetune.strategies import make_strategy

TTL = 1.0  # the lease, short for the test (LEASE_TTL_SECONDS is 20 s)


@pytest.fixture
def proxy(pg_url: str) -> Iterator[TcpProxy]:
    port = make_url(pg_url).port
    assert port is not None
    with TcpProxy(port) as p:
        yield p


def through(proxy: TcpProxy, url: str) -> str:
    return make_url(url).set(port=proxy.port).render_as_string(hide_password=False)


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``call`` in a thread; the dict gets its result or its exception."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = call()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_a_write_after_an_outage_past_the_lease_is_refused_if_the_job_was_taken(
    pg_url: str, proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(control, "LEASE_TTL_SECONDS", TTL)
    direct = SQLStore(pg_url)
    direct.create_tuning_job(TuningJobRecord("t", "InProgress", {}, 1, 1.0, 1.0))
    direct.create_training_job(TrainingJobRecord("t-001", "t", 1, "InProgress", {}, 2.0))
    tuner = SQLStore(through(proxy, pg_url), retry_seconds=30)
    mine = control.Lease(tuner, "t")
    mine.acquire()

    # Out for less than the lease: nobody could take the job; the write goes through.
    proxy.cut()
    thread, out = in_thread(lambda: tuner.update_training_job("t-001", process_id=7))
    time.sleep(TTL / 4)
    proxy.restore()
    thread.join(30)
    assert out == {"result": True}
    assert direct.get_training_job("t-001").process_id == 7
    assert direct.get_tuning_job("t").owner == mine.owner

    # Out for longer: another tuner takes the job over; the write is refused, not applied.
    proxy.cut()
    thread, out = in_thread(lambda: tuner.update_training_job("t-001", status="Stopped"))
    time.sleep(TTL + 0.3)
    other = control.Lease(direct, "t")
    other.acquire()  # the heartbeat is stale by the database's clock
    proxy.restore()
    thread.join(30)
    assert not thread.is_alive()
    assert isinstance(out.get("error"), LeaseLost), out
    assert str(out["error"]) == (
        "tuning job 't' was taken over by another tuner while this process could not reach "
        "the store for longer than its lease; this tuner stops and leaves the job to it"
    )
    assert direct.get_training_job("t-001").status == "InProgress"  # the new tuner's to end
    assert direct.get_tuning_job("t").owner == other.owner
    # Said once: the store answers this process again, and the lease stays the other's.
    assert tuner.get_tuning_job("t").owner == other.owner
    assert not tuner.renew_lease("t", mine.owner)
    tuner.close()
    direct.close()


class CutOffAfterAFewEpochs(ReplayExecutor):
    """At the third poll the tuner's network to the store goes; another tuner takes the job
    over once the lease has run out, then the network comes back."""

    def __init__(self, proxy: TcpProxy, direct: SQLStore, name: str) -> None:
        super().__init__(lambda hp: [1.0 + hp["x"] / k for k in range(1, 30)])
        self.proxy, self.direct, self.name, self.polls = proxy, direct, name, 0
        self.taker: control.Lease | None = None
        self.stopped: list[str] = []

    def _take_over(self) -> None:
        time.sleep(TTL + 0.3)
        self.taker = control.Lease(self.direct, self.name)
        self.taker.acquire()
        self.proxy.restore()

    def poll(self, timeout: float) -> Any:
        self.polls += 1
        if self.polls == 3:
            self.proxy.cut()
            threading.Thread(target=self._take_over, daemon=True).start()
        return super().poll(timeout)

    def stop(self, name: str, reason: str) -> None:
        self.stopped.append(name)
        super().stop(name, reason)


def test_a_tuner_whose_job_was_taken_during_an_outage_stops_and_writes_nothing(
    pg_url: str, proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(control, "LEASE_TTL_SECONDS", TTL)
    direct = SQLStore(pg_url)
    create_tuning_job(direct, replay_request("cut", max_jobs=6, parallel=2), train_payload=b"x")
    tuner_store = SQLStore(through(proxy, pg_url), retry_seconds=30)
    spec = load_spec(tuner_store.get_tuning_job("cut"))
    executor = CutOffAfterAFewEpochs(proxy, direct, "cut")
    runner = TuningJobRunner(
        spec, tuner_store, executor, make_strategy("Random", spec.space, 3), clock=executor.now
    )
    with pytest.raises(LeaseLost, match="'cut' was taken over by another tuner"):
        runner.run()
    assert executor.taker is not None and executor.running == set()
    jobs = direct.list_training_jobs("cut")
    assert len(jobs) == 2 and sorted(executor.stopped) == [j.name for j in jobs]  # both ended
    record = direct.get_tuning_job("cut")
    assert (record.status, record.owner, record.ended_at) == (
        "InProgress",
        executor.taker.owner,
        None,
    )
    # Nothing was recorded for its training jobs after the take-over: still as they ran.
    assert [j.status for j in direct.list_training_jobs("cut")] == ["InProgress"] * 2
    assert all(j.ended_at is None for j in direct.list_training_jobs("cut"))
    tuner_store.close()
    direct.close()
