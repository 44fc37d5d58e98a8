"""The store contract (``sagetune.store.Store``), checked on every store implementation.

Each test runs once per entry of ``STORES``. A new implementation joins by one more entry that
returns a fresh, empty store (given the test's request, for fixtures such as ``pg_url``, and its
temporary folder); nothing else changes.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sagetune.errors import ResourceInUse, ResourceNotFound, ValidationError
from sagetune.store import (
    UNCHANGED,
    MetricPoint,
    SQLStore,
    Store,
    TrainingJobRecord,
    TuningJobRecord,
    open_store,
)

STORES: dict[str, Callable[[pytest.FixtureRequest, Path], Store]] = {
    "sqlite-file": lambda request, tmp: open_store(tmp / "s.db"),
    "sqlite-memory": lambda request, tmp: SQLStore("sqlite://"),
    "postgresql": lambda request, tmp: open_store(request.getfixturevalue("pg_url")),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made = STORES[request.param](request, tmp_path)
    yield made
    made.close()


def tuning(name: str = "t1", created_at: float = 1.0) -> TuningJobRecord:
    return TuningJobRecord(
        name=name,
        status="InProgress",
        request={"a": [1, 2]},
        seed=3,
        created_at=created_at,
        last_modified_at=created_at,
    )


def training(seq: int, tuning_name: str = "t1") -> TrainingJobRecord:
    return TrainingJobRecord(
        name=f"{tuning_name}-{seq:03d}",
        tuning_job_name=tuning_name,
        seq=seq,
        status="InProgress",
        hyperparameters={"x": 0.5, "c": "a"},
        created_at=float(seq),
    )


class TestStoreContract:
    def test_implements_the_protocol(self, store: Store) -> None:
        assert isinstance(store, Store)
        assert isinstance(store.url, str) and isinstance(store.jobs_dir, Path)

    # tuning jobs -------------------------------------------------------------------------
    def test_round_trip_and_ordering(self, store: Store) -> None:
        store.create_tuning_job(tuning("t1"))
        store.create_tuning_job(TuningJobRecord(**{**tuning("t2").__dict__, "created_at": 2.0}))
        assert [r.name for r in store.list_tuning_jobs()] == ["t2", "t1"]
        assert store.get_tuning_job("t1") == tuning("t1")
        for seq in (2, 1, 3):
            store.create_training_job(training(seq))
        assert [j.seq for j in store.list_training_jobs("t1")] == [1, 2, 3]
        assert store.get_training_job("t1-002").hyperparameters == {"x": 0.5, "c": "a"}

    def test_tuning_jobs_are_listed_newest_first_then_by_name(self, store: Store) -> None:
        for name, created in [("b", 5.0), ("c", 1.0), ("a", 5.0), ("d", 3.0)]:
            store.create_tuning_job(tuning(name, created))
        assert [r.name for r in store.list_tuning_jobs()] == ["a", "b", "d", "c"]
        assert store.list_training_jobs("a") == []

    def test_names_sort_byte_by_byte_whatever_the_collation(self, store: Store) -> None:
        # PostgreSQL's test databases collate by ICU's en-US, which puts "ab" before "B" and
        # ignores hyphens; the store's order is SQLite's, code point by code point.
        names = ["ab", "a-b", "B", "a", "a-c", "A1", "0z"]
        for name in names:
            store.create_tuning_job(tuning(name, 1.0))
        assert [r.name for r in store.list_tuning_jobs()] == sorted(names)

    def test_numbers_round_trip_exactly(self, store: Store) -> None:
        floats = [0.1 + 0.2, 1e-300, 1.7976931348623157e308, 1_764_590_400.123456, -0.0, 5e-324]
        record = dataclasses.replace(
            tuning(),
            seed=2**31 - 1,
            created_at=floats[3],
            last_modified_at=floats[0],
            ended_at=floats[1],
            heartbeat_at=floats[2],
            request={"f": floats, "i": 2**53 + 1, "big": 10**30, "u": "\u00e9\U0001f600"},
        )
        store.create_tuning_job(record)
        assert store.get_tuning_job("t1") == record
        store.create_training_job(dataclasses.replace(training(1), hyperparameters={"x": 0.1}))
        assert store.update_training_job("t1-001", objective=floats[0], billable_seconds=5e-324)
        job = store.get_training_job("t1-001")
        assert (job.objective, job.billable_seconds) == (floats[0], 5e-324)
        points = [MetricPoint("t1-001", "m", v, i, floats[3] + i) for i, v in enumerate(floats)]
        store.add_metric_points(points)
        assert store.metric_points(["t1-001"]) == points

    def test_a_nul_character_is_a_validation_error_naming_the_field(self, store: Store) -> None:
        with pytest.raises(ValidationError, match=r"^name: must not contain NUL"):
            store.create_tuning_job(tuning("a\x00b"))
        store.create_tuning_job(tuning())
        with pytest.raises(ValidationError, match=r"^owner: must not contain NUL"):
            store.acquire_lease("t1", "host:1:\x00", now=1.0, stale_before=0.0)
        with pytest.raises(ValidationError, match=r"^definition_name: must not contain NUL"):
            store.create_training_job(dataclasses.replace(training(1), definition_name="d\x00"))
        store.create_training_job(training(1))
        with pytest.raises(ValidationError, match=r"^metric_name: must not contain NUL"):
            store.add_metric_points([MetricPoint("t1-001", "m\x00", 1.0, 1, 1.0)])
        with pytest.raises(ValidationError, match=r"^log_path: must not contain NUL"):
            store.update_training_job("t1-001", log_path="/x\x00")
        assert store.metric_points(["t1-001"]) == []
        # Inside JSON (a request, hyperparameters) a NUL is escaped, so it round-trips.
        store.update_tuning_job("t1", details={"k\x00": "v\x00"})
        assert store.get_tuning_job("t1").details == {"k\x00": "v\x00"}
        # A failure reason is free text from a script or an exception: recorded, NUL shown.
        store.update_tuning_job("t1", failure_reason="bad\x00byte")
        assert store.get_tuning_job("t1").failure_reason == "bad\ufffdbyte"
        assert store.update_training_job("t1-001", status="Failed", failure_reason="\x00")
        assert store.get_training_job("t1-001").failure_reason == "\ufffd"

    def test_every_field_of_a_tuning_job_round_trips(self, store: Store) -> None:
        record = TuningJobRecord(
            name="full",
            status="Completed",
            request={"nested": {"k": [1, 2.5, None, "s"]}},
            seed=2**31 - 1,
            created_at=1.5,
            last_modified_at=9.25,
            ended_at=9.25,
            failure_reason="ünïcode reason",
            details={"CompletionReason": "x", "N": 3},
            owner="host:1:ab",
            heartbeat_at=8.0,
            train_payload=bytes(range(256)),
        )
        store.create_tuning_job(record)
        assert store.get_tuning_job("full") == record
        assert store.list_tuning_jobs() == [record]

    def test_names_are_unique_and_unknown_names_are_reported(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        with pytest.raises(ResourceInUse, match="already exists"):
            store.create_tuning_job(dataclasses.replace(tuning(), status="Failed"))
        assert store.get_tuning_job("t1") == tuning()
        store.create_training_job(training(1))
        with pytest.raises(ResourceInUse, match="already exists"):
            store.create_training_job(dataclasses.replace(training(1), seq=9))
        assert store.get_training_job("t1-001") == training(1)
        with pytest.raises(ResourceNotFound, match="no tuning job named 'nope'"):
            store.get_tuning_job("nope")
        with pytest.raises(ResourceNotFound, match="no training job named 'nope'"):
            store.get_training_job("nope")
        with pytest.raises(ResourceNotFound, match="no tuning job named 'nope'"):
            store.update_tuning_job("nope", status="Stopped")
        with pytest.raises(ResourceNotFound, match="no tuning job named 'nope'"):
            store.update_tuning_job("nope")
        assert not store.update_training_job("nope", status="Stopped")

    def test_deleting_a_tuning_job_removes_its_training_jobs_and_points(self, store: Store) -> None:
        for name in ("t1", "t2"):
            store.create_tuning_job(tuning(name))
            for seq in (1, 2):
                store.create_training_job(training(seq, name))
        store.add_metric_points([MetricPoint(f"{n}-001", "m", 1.0, 1, 1.0) for n in ("t1", "t2")])
        store.delete_tuning_job("t1")
        with pytest.raises(ResourceNotFound):
            store.get_tuning_job("t1")
        with pytest.raises(ResourceNotFound):
            store.get_training_job("t1-001")
        assert store.list_training_jobs("t1") == []
        assert store.metric_points(["t1-001"]) == []
        # The other tuning job is untouched.
        assert [j.name for j in store.list_training_jobs("t2")] == ["t2-001", "t2-002"]
        assert len(store.metric_points(["t2-001"])) == 1
        with pytest.raises(ResourceNotFound, match="no tuning job named 't1'"):
            store.delete_tuning_job("t1")
        # The name is free again.
        store.create_tuning_job(tuning("t1"))

    def test_updating_a_tuning_job_changes_only_the_given_fields(self, store: Store) -> None:
        store.create_tuning_job(dataclasses.replace(tuning(), failure_reason="old"))
        store.update_tuning_job(
            "t1",
            status="Failed",
            ended_at=4.0,
            last_modified_at=4.0,
            details={"CompletionReason": "r"},
        )
        got = store.get_tuning_job("t1")
        assert (
            got.status,
            got.ended_at,
            got.last_modified_at,
            got.failure_reason,
            got.details,
        ) == ("Failed", 4.0, 4.0, "old", {"CompletionReason": "r"})
        assert (got.request, got.seed, got.created_at) == ({"a": [1, 2]}, 3, 1.0)
        store.update_tuning_job("t1", failure_reason=None, ended_at=UNCHANGED)
        got = store.get_tuning_job("t1")
        assert (got.failure_reason, got.ended_at) == (None, 4.0)
        store.update_tuning_job("t1")  # nothing to change is not an error
        assert store.get_tuning_job("t1") == got
        with pytest.raises(TypeError):
            store.update_tuning_job("t1", seed=4)  # type: ignore[call-arg]

    # training jobs -----------------------------------------------------------------------
    def test_every_field_of_a_training_job_round_trips(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        created = dataclasses.replace(
            training(1), definition_name="def-a", hyperparameters={"lr": 1e-3, "depth": 4, "k": "v"}
        )
        store.create_training_job(created)
        done = dataclasses.replace(
            created,
            status="Stopped",
            started_at=2.0,
            ended_at=3.5,
            objective=-0.25,
            final_metrics={"loss": -0.25, "acc": 0.5},
            failure_reason="stopped early",
            log_path="/x/log.txt",
            process_id=4321,
            interrupted=True,
            billable_seconds=1.5,
            epochs_completed=7,
            early_stopped=True,
        )
        changes = {
            f.name: getattr(done, f.name)
            for f in dataclasses.fields(done)
            if getattr(done, f.name) != getattr(created, f.name) and f.name != "definition_name"
        }
        assert store.update_training_job("t1-001", **changes)
        assert store.get_training_job("t1-001") == done
        assert store.list_training_jobs("t1") == [done]

    def test_finished_training_jobs_never_change(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        store.create_training_job(training(1))
        assert store.update_training_job("t1-001", status="Completed", objective=0.9, ended_at=5.0)
        assert not store.update_training_job("t1-001", status="Failed", objective=None)
        job = store.get_training_job("t1-001")
        assert (job.status, job.objective) == ("Completed", 0.9)
        for seq, status in [(2, "Failed"), (3, "Stopped")]:
            store.create_training_job(training(seq))
            assert store.update_training_job(f"t1-{seq:03d}", status=status)
            before = store.get_training_job(f"t1-{seq:03d}")
            assert not store.update_training_job(f"t1-{seq:03d}", failure_reason="late")
            assert not store.update_training_job(f"t1-{seq:03d}")
            assert store.get_training_job(f"t1-{seq:03d}") == before

    def test_unfinished_training_jobs_change_field_by_field(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        store.create_training_job(dataclasses.replace(training(1), failure_reason="x"))
        assert store.update_training_job("t1-001", status="Stopping", process_id=7)
        assert store.update_training_job("t1-001", failure_reason=None)
        assert store.update_training_job("t1-001")
        job = store.get_training_job("t1-001")
        assert (job.status, job.process_id, job.failure_reason) == ("Stopping", 7, None)
        with pytest.raises(TypeError):
            store.update_training_job("t1-001", seq=2)  # type: ignore[call-arg]

    # metric points -----------------------------------------------------------------------
    def test_metric_points_keep_their_order(self, store: Store) -> None:
        pts = [MetricPoint("j", "auc", 0.1 * i, i, 100.0 + i) for i in range(5)]
        store.add_metric_points(pts)
        store.add_metric_points([MetricPoint("k", "auc", 1.0, 0, 1.0)])
        store.add_metric_points([])
        assert store.metric_points(["j"]) == pts
        assert len(store.metric_points(["j", "k"])) == 6
        assert store.metric_points([]) == [] and store.metric_points(["none"]) == []

    def test_metric_points_come_back_in_recording_order_not_step_order(self, store: Store) -> None:
        recorded = [
            MetricPoint("b", "loss", 3.0, 2, 10.0),
            MetricPoint("a", "loss", 1.0, 5, 9.0),
            MetricPoint("b", "acc", 0.5, 1, 11.0),
            MetricPoint("a", "loss", 2.0, 1, 1.0),
        ]
        for p in recorded:
            store.add_metric_points([p])
        assert store.metric_points(iter(["a", "b"])) == recorded
        assert store.metric_points(["a"]) == [recorded[1], recorded[3]]

    # the lease ---------------------------------------------------------------------------
    def test_lease_acquire_renew_release(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        assert store.acquire_lease("t1", "a", now=10.0, stale_before=0.0)
        assert store.acquire_lease("t1", "a", now=11.0, stale_before=0.0)  # already ours
        assert not store.acquire_lease("t1", "b", now=12.0, stale_before=0.0)
        got = store.get_tuning_job("t1")
        assert (got.owner, got.heartbeat_at) == ("a", 11.0)
        assert store.renew_lease("t1", "a", 13.0)
        assert not store.renew_lease("t1", "b", 14.0)
        assert store.get_tuning_job("t1").heartbeat_at == 13.0
        store.release_lease("t1", "b")  # not b's to give up
        assert store.get_tuning_job("t1").owner == "a"
        store.release_lease("t1", "a")
        got = store.get_tuning_job("t1")
        assert (got.owner, got.heartbeat_at) == (None, None)
        assert not store.renew_lease("t1", "a", 15.0)
        assert store.acquire_lease("t1", "b", now=16.0, stale_before=0.0)
        assert not store.acquire_lease("nope", "a", now=1.0, stale_before=0.0)

    def test_a_stale_or_dead_lease_is_taken_over(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        assert store.acquire_lease("t1", "a", now=100.0, stale_before=80.0)
        assert not store.acquire_lease("t1", "b", now=110.0, stale_before=90.0)
        assert not store.acquire_lease("t1", "b", now=110.0, stale_before=100.0)  # not older
        assert store.acquire_lease("t1", "b", now=125.0, stale_before=100.5)  # a went quiet
        assert not store.renew_lease("t1", "a", 126.0)  # a woke up: it lost the job
        assert not store.acquire_lease(
            "t1", "c", now=127.0, stale_before=0.0, dead_owner="a"
        )  # a is not the holder any more
        assert store.acquire_lease("t1", "c", now=127.0, stale_before=0.0, dead_owner="b")
        got = store.get_tuning_job("t1")
        assert (got.owner, got.heartbeat_at) == ("c", 127.0)

    def test_one_of_several_racing_tuners_gets_the_lease(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        won: list[str] = []
        start = threading.Barrier(6)

        def take(owner: str) -> None:
            start.wait(timeout=30)
            if store.acquire_lease("t1", owner, now=1.0, stale_before=0.0):
                won.append(owner)

        threads = [threading.Thread(target=take, args=(f"o{i}",)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(won) == 1 and store.get_tuning_job("t1").owner == won[0]

    # snapshots and threads ---------------------------------------------------------------
    def test_snapshots_are_immutable(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        store.create_training_job(training(1))
        store.add_metric_points([MetricPoint("t1-001", "loss", 1.0, 1, 1.0)])
        record, job = store.get_tuning_job("t1"), store.get_training_job("t1-001")
        point = store.metric_points(["t1-001"])[0]
        for snapshot, field in [(record, "status"), (job, "status"), (point, "value")]:
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(snapshot, field, "changed")
        record.request["a"].append(3)  # the caller's copy, not the store's
        job.hyperparameters["x"] = 9.0
        assert store.get_tuning_job("t1").request == {"a": [1, 2]}
        assert store.get_training_job("t1-001").hyperparameters == {"x": 0.5, "c": "a"}
        store.update_tuning_job("t1", status="Stopped")
        assert store.update_training_job("t1-001", status="Stopped")
        assert (record.status, job.status) == ("InProgress", "InProgress")

    def test_concurrent_writers_lose_no_points(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        threads_n, points_n = 4, 200
        start = threading.Barrier(threads_n)
        errors: list[BaseException] = []

        def write(i: int) -> None:
            try:
                start.wait(timeout=30)
                store.create_training_job(training(i + 1))
                for step in range(points_n):
                    store.add_metric_points(
                        [MetricPoint(f"t1-{i + 1:03d}", "loss", float(step), step, float(step))]
                    )
                    if step % 50 == 0:
                        store.update_training_job(f"t1-{i + 1:03d}", epochs_completed=step)
                        store.get_tuning_job("t1")
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(threads_n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors and not any(t.is_alive() for t in threads)
        names = [j.name for j in store.list_training_jobs("t1")]
        assert len(names) == threads_n
        points = store.metric_points(names)
        assert len(points) == threads_n * points_n
        for name in names:  # each writer's points in the order it wrote them
            assert [p.step for p in points if p.training_job_name == name] == list(range(points_n))
