"""The store contract (``sagetune.store.Store``), checked on every store implementation.

Each test runs once per entry of ``STORES``. A new implementation joins by one more entry that
returns a fresh, empty store (given the test's request, for fixtures such as ``pg_url``, and its
temporary folder); nothing else changes.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
from sagetune.store.base import sample_share

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

    def test_metric_points_of_some_metrics_keep_the_recorded_order(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        store.create_training_jobs([training(1), training(2)])
        points = [
            MetricPoint(f"t1-00{1 + i % 2}", "abc"[i % 3], float(i), i, 10.0 + i) for i in range(12)
        ]
        store.add_metric_points(points)
        names = ["t1-001", "t1-002"]
        assert store.metric_points(names) == points
        assert store.metric_points(names, ["c", "a"]) == [p for p in points if p.metric_name != "b"]
        assert store.metric_points(["t1-002"], ["b"]) == [
            p for p in points if p.training_job_name == "t1-002" and p.metric_name == "b"
        ]
        assert store.metric_points(names, []) == []

    def test_a_nul_character_is_a_validation_error_naming_the_field(self, store: Store) -> None:
        with pytest.raises(ValidationError, match=r"^name: must not contain NUL"):
            store.create_tuning_job(tuning("a\x00b"))
        store.create_tuning_job(tuning())
        with pytest.raises(ValidationError, match=r"^owner: must not contain NUL"):
            store.acquire_lease("t1", "host:1:\x00", ttl_seconds=20.0)
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

    def test_a_point_already_stored_is_not_recorded_twice(self, store: Store) -> None:
        points = [MetricPoint("j", "auc", 0.5 + i / 10, i, 10.0 + i) for i in range(1, 4)]
        store.add_metric_points(points[:2])  # as if a first attempt had committed two of them
        store.add_metric_points(points)  # the retried insert
        assert store.metric_points(["j"]) == points
        store.add_metric_points(points)
        assert store.metric_points(["j"]) == points
        # A retried training job counts its steps from 1 again: its points are new ones.
        second = [MetricPoint("j", "auc", 0.7, 1, 20.0), MetricPoint("j", "loss", 0.5, 1, 10.0)]
        store.add_metric_points(second)
        assert store.metric_points(["j"]) == points + second

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
        before = store.database_time()
        assert store.acquire_lease("t1", "a", ttl_seconds=20.0)
        assert store.acquire_lease("t1", "a", ttl_seconds=20.0)  # already ours
        assert not store.acquire_lease("t1", "b", ttl_seconds=20.0)
        got = store.get_tuning_job("t1")
        assert got.owner == "a"
        # The heartbeat is the database's clock, not the caller's.
        assert got.heartbeat_at is not None
        assert before - 0.01 <= got.heartbeat_at <= store.database_time() + 0.01
        assert store.renew_lease("t1", "a")
        assert not store.renew_lease("t1", "b")
        renewed = store.get_tuning_job("t1").heartbeat_at
        assert renewed is not None and renewed >= got.heartbeat_at
        store.release_lease("t1", "b")  # not b's to give up
        assert store.get_tuning_job("t1").owner == "a"
        store.release_lease("t1", "a")
        got = store.get_tuning_job("t1")
        assert (got.owner, got.heartbeat_at) == (None, None)
        assert not store.renew_lease("t1", "a")
        assert store.acquire_lease("t1", "b", ttl_seconds=20.0)
        assert not store.acquire_lease("nope", "a", ttl_seconds=20.0)

    def test_the_database_clock_is_the_wall_clock_here(self, store: Store) -> None:
        # Same machine, so the two agree: the store's clock is epoch seconds, to the ms.
        assert abs(store.database_time() - time.time()) < 5.0

    def test_a_stale_or_dead_lease_is_taken_over(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        assert store.acquire_lease("t1", "a", ttl_seconds=20.0)
        assert not store.acquire_lease("t1", "b", ttl_seconds=20.0)
        time.sleep(0.3)  # by the database's clock, a's heartbeat is now 0.3 s old
        assert not store.acquire_lease("t1", "b", ttl_seconds=5.0)  # not that old
        assert store.acquire_lease("t1", "b", ttl_seconds=0.2)  # a went quiet
        assert not store.renew_lease("t1", "a")  # a woke up: it lost the job
        assert not store.acquire_lease(
            "t1", "c", ttl_seconds=20.0, dead_owner="a"
        )  # a is not the holder any more
        assert store.acquire_lease("t1", "c", ttl_seconds=20.0, dead_owner="b")
        assert store.get_tuning_job("t1").owner == "c"

    def test_a_tuner_whose_lease_was_taken_writes_nothing_more(self, store: Store) -> None:
        if store.url == "sqlite://":
            pytest.skip("a second process needs a database it can open too")
        from sagetune.errors import LeaseLost

        store.create_tuning_job(tuning())
        store.create_tuning_job(tuning("t2"))
        assert store.acquire_lease("t1", "a", ttl_seconds=20.0)
        store.create_training_job(training(1))
        store.add_metric_points([MetricPoint("t1-001", "loss", 1.0, 1, 1.0)])
        # Another tuner takes the job over while this one is suspended (its connection and
        # its lease record intact, its heartbeat not yet run).
        other = open_store(store.url)
        assert other.acquire_lease("t1", "b", ttl_seconds=20.0, dead_owner="a")
        before = (other.get_tuning_job("t1"), other.list_training_jobs("t1"))
        points = other.metric_points(["t1-001"])
        writes: list[Callable[[], Any]] = [
            lambda: store.update_training_job("t1-001", status="Completed", objective=2.0),
            lambda: store.add_metric_points([MetricPoint("t1-001", "loss", 0.5, 2, 2.0)]),
            lambda: store.create_training_job(training(2)),
            lambda: store.create_training_jobs([training(3)]),
            lambda: store.update_tuning_job("t1", status="Completed", ended_at=3.0),
        ]
        for write in writes:
            with pytest.raises(LeaseLost, match="'t1' was taken over by another tuner"):
                write()
        assert (other.get_tuning_job("t1"), other.list_training_jobs("t1")) == before
        assert other.metric_points(["t1-001"]) == points
        # The new tuner writes on; the old one may still write what is not that job's.
        assert other.update_training_job("t1-001", epochs_completed=3)
        store.create_training_job(training(1, "t2"))
        assert store.get_training_job("t2-001").tuning_job_name == "t2"
        # Handed back, it is the old store's to write again.
        other.release_lease("t1", "b")
        assert store.acquire_lease("t1", "a", ttl_seconds=20.0)
        assert store.update_training_job("t1-001", epochs_completed=4)
        other.close()

    def test_one_of_several_racing_tuners_gets_the_lease(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        won: list[str] = []
        start = threading.Barrier(6)

        def take(owner: str) -> None:
            start.wait(timeout=30)
            if store.acquire_lease("t1", owner, ttl_seconds=20.0):
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

    # reads that answer one page or one figure without reading every job --------------------
    def test_training_jobs_are_created_in_bulk_all_or_none(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        store.create_training_jobs([training(s) for s in (1, 2, 3)])
        assert [j.name for j in store.list_training_jobs("t1")] == ["t1-001", "t1-002", "t1-003"]
        assert store.get_training_job("t1-002") == training(2)
        store.create_training_jobs([])
        with pytest.raises(ResourceInUse, match="none was created"):
            store.create_training_jobs([training(4), training(2)])
        with pytest.raises(ResourceInUse, match="none was created"):
            store.create_training_jobs([training(5), training(5)])
        assert [j.seq for j in store.list_training_jobs("t1")] == [1, 2, 3]

    @staticmethod
    def _varied(store: Store) -> list[TrainingJobRecord]:
        """Two tuning jobs whose training jobs tie on every sort key somewhere."""
        made = []
        for name, created in (("t1", 1.0), ("t2", 2.0)):
            store.create_tuning_job(tuning(name, created))
            for seq in range(1, 13):
                job = dataclasses.replace(
                    training(seq, name),
                    name=f"{name}-{seq}",  # t1-10 sorts before t1-2 by name, after it by seq
                    status=("Completed", "Failed", "InProgress", "Stopped")[seq % 4],
                    created_at=float(seq // 3),
                    started_at=None if seq % 5 == 0 else float(seq // 3) + 0.5,
                    ended_at=float(seq) + 10 if seq % 2 else None,
                    objective=None if seq % 4 == 1 else float(seq % 3),
                    interrupted=seq % 3 == 0,
                )
                made.append(job)
        store.create_training_jobs(made)
        return made

    def test_a_page_of_training_jobs_is_the_slice_of_the_whole_sorted_list(
        self, store: Store
    ) -> None:
        made = self._varied(store)
        keys = {
            "Name": lambda j: j.name,
            "CreationTime": lambda j: (j.created_at, j.seq),
            "Status": lambda j: (j.status, j.seq),
            "FinalObjectiveMetricValue": lambda j: (j.objective, j.seq),
        }
        for sort_by, key in keys.items():
            for descending in (False, True):
                for status in (None, "Completed"):
                    jobs = [
                        j
                        for j in made
                        if j.tuning_job_name == "t1"
                        and (status is None or j.status == status)
                        and (sort_by != "FinalObjectiveMetricValue" or j.objective is not None)
                    ]
                    expected = sorted(jobs, key=key, reverse=descending)
                    for offset, limit in ((0, 100), (0, 5), (5, 5), (10, 5), (40, 5)):
                        page = store.training_jobs_page(
                            "t1",
                            sort_by=sort_by,  # type: ignore[arg-type]
                            descending=descending,
                            offset=offset,
                            limit=limit,
                            status=status,
                            with_objective=sort_by == "FinalObjectiveMetricValue",
                        )
                        assert page == expected[offset : offset + limit], (sort_by, offset)

    def test_a_page_sorts_missing_values_last_and_by_a_hyperparameter(self, store: Store) -> None:
        made = self._varied(store)
        store.create_tuning_job(tuning("h", 3.0))
        lr = (0.5, 2, "b", None, 10.0, "a", 2, None, -1.5, "b", 0.5, 3)
        for job, value in zip(made[:12], lr, strict=True):
            hp = {} if value is None else {"lr": value}
            store.create_training_job(
                dataclasses.replace(
                    job, name=f"{job.name}-h", tuning_job_name="h", hyperparameters=hp
                )
            )
        jobs = store.list_training_jobs("h")

        def duration(j: TrainingJobRecord) -> float | None:
            ok = j.started_at is not None and j.ended_at is not None
            return j.ended_at - j.started_at if ok else None  # type: ignore[operator]

        def kind(v: object) -> tuple[int, float, str]:
            number = isinstance(v, (int, float))
            return (0, float(v), "") if number else (1, 0.0, str(v))  # type: ignore[arg-type]

        # (arguments, the sort key of a job with the value, whether a job lacks it)
        cases: list[tuple[dict[str, Any], Any, Any]] = [
            ({"sort_by": "Seq"}, lambda j: j.seq, lambda j: False),
            (
                {"sort_by": "FinalObjectiveMetricValue"},
                lambda j: (j.objective, j.seq),
                lambda j: j.objective is None,
            ),
            (
                {"sort_by": "Duration"},
                lambda j: (duration(j), j.seq),
                lambda j: duration(j) is None,
            ),
            (
                {"sort_by": "Seq", "hyperparameter": "lr"},
                lambda j: (*kind(j.hyperparameters["lr"]), j.seq),
                lambda j: "lr" not in j.hyperparameters,
            ),
        ]
        for args, key, lacks in cases:
            for descending in (False, True):
                present = [j for j in jobs if not lacks(j)]
                missing = [j for j in jobs if lacks(j)]
                expected = sorted(present, key=key, reverse=descending) + sorted(
                    missing, key=lambda j: j.seq, reverse=descending
                )
                page = store.training_jobs_page("h", descending=descending, limit=100, **args)
                assert page == expected, (args, descending)
                paged = store.training_jobs_page(
                    "h", descending=descending, offset=4, limit=5, **args
                )
                assert paged == expected[4:9], (args, descending)

    def test_a_sample_is_the_same_spread_share_of_jobs_each_time(self, store: Store) -> None:
        store.create_tuning_job(tuning("s"))
        store.create_training_jobs(
            [dataclasses.replace(training(seq, "s"), name=f"s-{seq}") for seq in range(1, 401)]
        )
        for share in (0.0, 0.1, 0.5, 1.0):
            sample = store.training_jobs_page("s", sort_by="Seq", limit=1000, sample=share)
            assert [j.seq for j in sample] == [
                seq for seq in range(1, 401) if sample_share(seq) < share
            ]
            assert abs(len(sample) - 400 * share) <= 2, share
            # Spread over the whole run of jobs, not bunched at one end.
            if share == 0.1:
                assert min(j.seq for j in sample) < 20 and max(j.seq for j in sample) > 380

    def test_a_page_across_tuning_jobs_filters_and_breaks_ties_by_name(self, store: Store) -> None:
        made = self._varied(store)

        def modified(j: TrainingJobRecord) -> float:
            return j.ended_at or j.started_at or j.created_at

        cases: list[tuple[dict[str, object], object]] = [
            ({}, lambda j: True),
            ({"name_contains": "T2-1"}, lambda j: "t2-1" in j.name),
            ({"status": "Stopped"}, lambda j: j.status == "Stopped"),
            ({"created_after": 1.0, "created_before": 4.0}, lambda j: 1.0 < j.created_at < 4.0),
            ({"modified_after": 3.0}, lambda j: modified(j) > 3.0),
            ({"modified_before": 11.5}, lambda j: modified(j) < 11.5),
        ]
        keys = {
            "Name": lambda j: j.name,
            "CreationTime": lambda j: (j.created_at, j.name),
            "Status": lambda j: (j.status, j.name),
        }
        for filters, keep in cases:
            for sort_by, key in keys.items():
                for descending in (False, True):
                    expected = sorted(
                        [j for j in made if keep(j)],  # type: ignore[operator]
                        key=key,
                        reverse=descending,
                    )
                    page = store.training_jobs_page(
                        None,
                        sort_by=sort_by,  # type: ignore[arg-type]
                        descending=descending,
                        offset=3,
                        limit=7,
                        **filters,  # type: ignore[arg-type]
                    )
                    assert page == expected[3:10], (filters, sort_by, descending)
        none = store.training_jobs_page(None, sort_by="Name", limit=5, name_contains="%")
        assert none == []
        assert store.training_jobs_page("nope", sort_by="Name", limit=5) == []

    def test_training_job_stats_count_and_find_the_best_without_a_list(self, store: Store) -> None:
        made = self._varied(store)
        stats = store.training_job_stats("t1")
        mine = [j for j in made if j.tuning_job_name == "t1"]
        assert stats.by_status == {
            s: sum(j.status == s for j in mine) for s in {j.status for j in mine}
        }
        assert stats.total == 12
        assert stats.with_objective == sum(j.objective is not None for j in mine)
        assert stats.finished_without_objective == sum(
            j.objective is None and j.finished for j in mine
        )
        assert stats.interrupted_finished == sum(j.interrupted and j.finished for j in mine) > 0
        scored = [j for j in mine if j.objective is not None]
        assert stats.best(False) == min(scored, key=lambda j: (j.objective, j.seq))
        assert stats.best(True) == min(scored, key=lambda j: (-(j.objective or 0.0), j.seq))
        empty = store.training_job_stats("nope")
        assert (empty.by_status, empty.total, empty.best(True), empty.best(False)) == (
            {},
            0,
            None,
            None,
        )

    def test_training_job_counts_of_several_tuning_jobs_in_one_read(self, store: Store) -> None:
        made = self._varied(store)
        counts = store.training_job_counts(["t1", "t2", "nope"])
        assert set(counts) == {"t1", "t2", "nope"}
        for name in ("t1", "t2"):
            stats, alone = counts[name], store.training_job_stats(name)
            assert stats.total == sum(j.tuning_job_name == name for j in made) > 0
            assert (
                stats.by_status,
                stats.with_objective,
                stats.finished_without_objective,
                stats.interrupted_finished,
            ) == (
                alone.by_status,
                alone.with_objective,
                alone.finished_without_objective,
                alone.interrupted_finished,
            )
        assert counts["nope"].total == 0
        assert store.training_job_counts([]) == {}

    def test_jobs_with_points_of_a_metric_by_seq(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        store.create_tuning_job(tuning("t2"))
        store.create_training_jobs([training(s) for s in (3, 1, 2, 4)] + [training(1, "t2")])
        store.add_metric_points(
            [
                MetricPoint("t1-004", "loss", 1.0, 1, 1.0),
                MetricPoint("t1-002", "acc", 1.0, 1, 1.0),
                MetricPoint("t1-001", "loss", 1.0, 1, 1.0),
                MetricPoint("t1-001", "loss", 2.0, 2, 2.0),
                MetricPoint("t2-001", "loss", 1.0, 1, 1.0),
            ]
        )
        assert store.jobs_with_metric_points("t1", "loss") == ["t1-001", "t1-004"]
        assert store.jobs_with_metric_points("t1", "acc") == ["t1-002"]
        assert store.jobs_with_metric_points("t1", "nope") == []
        assert store.jobs_with_metric_points("nope", "loss") == []
        among = ["t1-004", "t1-003", "t2-001"]
        assert store.jobs_with_metric_points("t1", "loss", among) == ["t1-004"]
        assert store.jobs_with_metric_points("t1", "loss", []) == []

    def test_training_job_totals_sum_each_definition(self, store: Store) -> None:
        store.create_tuning_job(tuning())
        jobs = [
            dataclasses.replace(
                training(seq),
                status=("Completed", "Stopped", "InProgress")[seq % 3],
                definition_name=None if seq < 5 else "b",
                started_at=None if seq == 2 else float(seq),
                ended_at=float(seq) + 4 if seq % 3 != 2 else None,
                billable_seconds={7: 2.5, 9: 9.0}.get(seq),
                epochs_completed=None if seq == 1 else seq,
                early_stopped=seq % 3 == 1,
            )
            for seq in range(1, 10)
        ]
        store.create_training_jobs(jobs)
        now, planned = 20.0, 6

        def billable(j: TrainingJobRecord) -> float:
            if j.billable_seconds is not None:
                return j.billable_seconds
            if j.started_at is None:
                return 0.0
            return max(0.0, (j.ended_at if j.ended_at is not None else now) - j.started_at)

        def not_run(j: TrainingJobRecord) -> int:
            epochs = j.epochs_completed or 0
            return max(0, planned - epochs) if j.early_stopped and epochs else 0

        longest = max(
            billable(j)
            for j in jobs
            if j.status == "Completed" and not j.early_stopped and (j.epochs_completed or 0) >= 6
        )
        totals = store.training_job_totals("t1", now, planned)
        assert [t.definition_name for t in totals] == [None, "b"]
        assert sum(t.saved_seconds for t in totals) > 0
        for t in totals:
            mine = [j for j in jobs if j.definition_name == t.definition_name]
            assert t.jobs == len(mine)
            assert t.runtime_seconds == pytest.approx(
                sum((j.ended_at or now) - j.started_at for j in mine if j.started_at is not None)
            )
            assert t.billable_seconds == pytest.approx(sum(billable(j) for j in mine))
            assert t.billed_jobs == sum(billable(j) > 0 for j in mine)
            assert t.epochs == sum(j.epochs_completed or 0 for j in mine)
            assert t.early_stopped == sum(j.early_stopped for j in mine)
            assert t.epochs_not_run == sum(not_run(j) for j in mine)
            # Without objective metrics, each stopped job's pace is billable seconds / epochs;
            # a saving is capped by what the longest full run took beyond the job.
            assert t.saved_seconds == pytest.approx(
                sum(
                    min(
                        not_run(j) * billable(j) / (j.epochs_completed or 1),
                        max(0.0, longest - billable(j)),
                    )
                    for j in mine
                    if not_run(j)
                )
            )
        stats = store.training_job_stats("t1")
        assert stats.most_epochs == max(
            j.epochs_completed or 0
            for j in jobs
            if j.status == "Completed" and not j.early_stopped and j.epochs_completed
        )
        assert store.training_job_totals("nope", now, planned) == []

    def test_stopped_epoch_seconds_are_the_pace_cost_measures(self, store: Store) -> None:
        from sagetune.cost import epoch_seconds

        store.create_tuning_job(tuning())
        store.create_training_jobs(
            [
                dataclasses.replace(
                    training(seq),
                    status="Stopped" if seq != 5 else "Completed",
                    early_stopped=seq != 5,
                    definition_name="b" if seq == 4 else None,
                )
                for seq in range(1, 6)
            ]
        )

        def point(seq: int, metric: str, step: int, at: float) -> MetricPoint:
            return MetricPoint(f"t1-{seq:03d}", metric, 1.0 / step, step, at)

        points = [
            # t1-001: epochs 1 to 3 in 12 s, two points at epoch 1 (the first time counts) and
            # at 3 (the last counts).
            point(1, "loss", 1, 10.0),
            point(1, "loss", 1, 12.0),
            point(1, "loss", 2, 15.0),
            point(1, "loss", 3, 19.0),
            point(1, "loss", 3, 22.0),
            point(1, "acc", 9, 500.0),  # another metric: not its pace
            point(2, "loss", 4, 30.0),  # one epoch: no pace
            point(3, "loss", 2, 50.0),
            point(3, "loss", 5, 40.0),  # time running backwards: 0 s an epoch, not negative
            point(4, "acc", 1, 0.0),  # definition b's objective is acc
            point(4, "acc", 3, 8.0),
            point(4, "loss", 9, 900.0),
            point(5, "loss", 1, 0.0),  # not early-stopped
            point(5, "loss", 2, 3.0),
        ]
        store.add_metric_points(points)
        metrics = {None: "loss", "b": "acc"}
        got = store.stopped_epoch_seconds("t1", metrics)
        assert got == {"t1-001": 6.0, "t1-003": 0.0, "t1-004": 4.0}
        # The same figures as cost.epoch_seconds reads from every point.
        for name, seconds in got.items():
            job = store.get_training_job(name)
            mine = [p for p in points if p.training_job_name == name]
            assert epoch_seconds(mine, metrics[job.definition_name]) == seconds
        assert store.stopped_epoch_seconds("t1", {}) == {}
        assert store.stopped_epoch_seconds("nope", metrics) == {}
