"""A tuner that wakes up after another tuner took its tuning job over leaves it alone."""

from __future__ import annotations

from replay import ReplayExecutor, replay_request

from sagetune.runner import TuningJobRunner
from sagetune.service import create_tuning_job
from sagetune.spec import load_spec
from sagetune.store import open_store
from sagetune.strategies import make_strategy


class TakenOverWhileAsleep(ReplayExecutor):
    """After a few epochs, another tuner takes the lease, as after a long suspend."""

    def __init__(self, store, name: str):
        super().__init__(lambda hp: [1.0 + hp["x"] / k for k in range(1, 30)])
        self.store, self.name, self.polls = store, name, 0

    def poll(self, timeout: float):
        self.polls += 1
        if self.polls == 3:
            held = self.store.get_tuning_job(self.name).owner  # judged gone, as after a suspend
            assert self.store.acquire_lease(self.name, "otherhost:1:new", 20.0, dead_owner=held)
        return super().poll(timeout)


def test_a_superseded_tuner_does_not_end_the_tuning_job(store_url: str) -> None:
    store = open_store(store_url)
    request = replay_request("asleep", max_jobs=6, parallel=2)
    create_tuning_job(store, request, train_payload=b"unused")
    spec = load_spec(store.get_tuning_job("asleep"))
    executor = TakenOverWhileAsleep(store, "asleep")
    runner = TuningJobRunner(
        spec, store, executor, make_strategy("Random", spec.space, 3), clock=executor.now
    )
    record = runner.run()
    # The old tuner stopped its own training jobs but left the tuning job to the new owner.
    assert record.status == "InProgress" and record.ended_at is None
    assert record.owner == "otherhost:1:new"
    jobs = store.list_training_jobs("asleep")
    assert jobs and all(j.status == "Stopped" for j in jobs)
    assert executor.running == set()
