"""A tuner that wakes up after another tuner took its tuning job over leaves it alone."""

from __future__ import annotations

from replay import ReplayExecutor, replay_request

from sagetune.naming import training_job_name
from sagetune.runner import TuningJobRunner
from sagetune.service import create_tuning_job
from sagetune.spec import load_spec
from sagetune.status import TrainingJobStatus
from sagetune.store import open_store
from sagetune.store.records import TrainingJobRecord
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


class SuspendedStrategy:
    """Between the strategy's second answer and that job's insert, another tuner takes the
    lease and starts that very job, as when this tuner is suspended (SIGSTOP) mid-launch."""

    def __init__(self, inner, store, name: str, spec):
        self.inner, self.store, self.name, self.spec, self.calls = inner, store, name, spec, 0

    def suggest(self, observations, n):
        self.calls += 1
        out = self.inner.suggest(observations, n)
        if self.calls == 2:
            held = self.store.get_tuning_job(self.name).owner
            assert self.store.acquire_lease(self.name, "otherhost:1:new", 20.0, dead_owner=held)
            seq = len(self.store.list_training_jobs(self.name)) + 1
            name = training_job_name(self.name, seq)
            definition, hp = self.spec.from_strategy_point(out[0])
            self.store.create_training_job(
                TrainingJobRecord(
                    name=name,
                    tuning_job_name=self.name,
                    seq=seq,
                    status=TrainingJobStatus.InProgress,
                    hyperparameters=hp,
                    created_at=2e9,
                    log_path="",
                    definition_name=definition,
                )
            )
        return out


def test_a_tuner_suspended_mid_launch_leaves_the_job_to_the_new_tuner(store_url: str) -> None:
    store = open_store(store_url)
    create_tuning_job(
        store, replay_request("midlaunch", max_jobs=6, parallel=1), train_payload=b"unused"
    )
    spec = load_spec(store.get_tuning_job("midlaunch"))
    executor = ReplayExecutor(lambda hp: [1.0 + hp["x"] / k for k in range(1, 30)])
    strategy = SuspendedStrategy(make_strategy("Random", spec.space, 3), store, "midlaunch", spec)
    runner = TuningJobRunner(spec, store, executor, strategy, clock=executor.now)  # type: ignore[arg-type]
    record = runner.run()  # no IntegrityError nor ResourceInUse
    assert record.status == "InProgress" and record.owner == "otherhost:1:new"
    jobs = {j.seq: j for j in store.list_training_jobs("midlaunch")}
    # Its own first job finished; the second, the new tuner's, is left as that tuner has it.
    assert sorted(jobs) == [1, 2] and jobs[1].status == "Completed"
    assert jobs[2].status == "InProgress" and jobs[2].created_at == 2e9
    assert executor.running == set()
