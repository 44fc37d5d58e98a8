"""The contract every executor keeps, one suite run over the three of them.

- ProcessExecutor: a Python callable that reports each epoch, in worker processes;
- SubprocessExecutor: a script-mode script whose ``loss=...`` lines MetricDefinitions match;
- ReplayExecutor (tests/replay.py): replayed curves, one epoch per poll, no processes;
- RayExecutor, with the callable and with the script, on the loopback Ray cluster of
  ``conftest.py`` (two worker nodes of one CPU: two jobs at once).

Each runs the same small job: ``epochs`` points of ``loss = 2 ** -epoch``, a pause of ``sleep``
seconds after each, an optional failure after epoch 2, and an optional meeting with a peer job
(each waits until the other has started, which only two jobs running at once can do). Every wait
is bounded, so a broken executor fails a test instead of hanging it.
"""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from replay import ReplayExecutor

from sagetune.executors.base import (
    Event,
    Executor,
    JobFinished,
    JobRequest,
    JobStarted,
    MetricReported,
)
from sagetune.executors.process import ProcessExecutor, metrics_from_result
from sagetune.executors.subprocess import SubprocessExecutor
from sagetune.status import TrainingJobStatus
from sagetune.training import parse_script_definition

DEADLINE_SECONDS = 30.0
MEET_SECONDS = 20.0
LONG_EPOCHS = 400  # with a pause of 0.05 s: 20 s, far longer than any test waits to stop it


def loss(epoch: int) -> float:
    return 2.0**-epoch


def meet(folder: str, me: str, peer: str) -> None:
    """Say this job has started, then wait (bounded) until the peer job has too."""
    Path(folder, me).touch()
    end = time.time() + MEET_SECONDS
    while not Path(folder, peer).exists():
        if time.time() > end:
            raise RuntimeError(f"job {peer} never ran alongside job {me}")
        time.sleep(0.02)


def contract_job(hp: dict[str, Any], report: Any) -> dict[str, float]:
    """The job as a Python callable (ProcessExecutor)."""
    if hp["meet"]:
        meet(hp["meet"], hp["me"], hp["peer"])
    for epoch in range(1, int(hp["epochs"]) + 1):
        report(epoch=epoch, loss=loss(epoch))
        if int(hp["fail"]) and epoch == 2:
            raise RuntimeError("boom at epoch 2")
        time.sleep(float(hp["sleep"]))
    return {"loss": loss(int(hp["epochs"]))}


# The same job as a script (SubprocessExecutor); hyperparameters arrive as --name value.
SCRIPT = """
import argparse, time
from pathlib import Path

p = argparse.ArgumentParser()
for name in ("meet", "me", "peer"):
    p.add_argument(f"--{name}", default="")
p.add_argument("--epochs", type=int)
p.add_argument("--sleep", type=float)
p.add_argument("--fail", type=int)
args = p.parse_args()
if args.meet:
    Path(args.meet, args.me).touch()
    end = time.time() + MEET_SECONDS
    while not Path(args.meet, args.peer).exists():
        if time.time() > end:
            raise RuntimeError(f"job {args.peer} never ran alongside job {args.me}")
        time.sleep(0.02)
for epoch in range(1, args.epochs + 1):
    print(f"epoch={epoch} loss={2.0 ** -epoch!r}", flush=True)
    if args.fail and epoch == 2:
        raise RuntimeError("boom at epoch 2")
    time.sleep(args.sleep)
"""


@dataclass
class Harness:
    """One executor under test, and what it can and cannot do.

    Attributes:
        final_metrics: the final metrics a Completed ``JobFinished`` carries (a callable's
            come back as its raw return value, normalised by the tuner).
        cannot_fail: why this executor has no way to fail a job (None when it can).
        has_processes: whether jobs run as processes whose group ``JobStarted.pid`` names.
    """

    executor: Executor
    root: Path
    final_metrics: Callable[[JobFinished], dict[str, float]]
    cannot_fail: str | None = None
    has_processes: bool = True

    def request(
        self,
        name: str,
        epochs: int = 3,
        sleep: float = 0.0,
        fail: bool = False,
        peer: str | None = None,
    ) -> JobRequest:
        hp = {
            "epochs": epochs,
            "sleep": sleep,
            "fail": int(fail),
            "meet": str(self.root / "meet") if peer else "",
            "me": name,
            "peer": peer or "",
        }
        (self.root / "meet").mkdir(exist_ok=True)
        return JobRequest(name, hp, self.root / "jobs" / name)


def _process(root: Path) -> Harness:
    return Harness(
        ProcessExecutor(contract_job, capacity=2, stop_grace_seconds=2.0),
        root,
        lambda ev: metrics_from_result(ev.result, "loss")[0],
    )


def _script_definition(root: Path) -> Any:
    source = root / "src"
    source.mkdir()
    (source / "job.py").write_text(
        textwrap.dedent(SCRIPT).replace("MEET_SECONDS", repr(MEET_SECONDS))
    )
    errors: list[str] = []
    definition = parse_script_definition(
        {
            "LocalCommand": "python job.py",
            "AlgorithmSpecification": {
                "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([-0-9.eE+]+)"}]
            },
        },
        "loss",
        source,
        errors,
    )
    assert definition is not None and not errors, errors
    return definition


def _subprocess(root: Path) -> Harness:
    return Harness(
        SubprocessExecutor(_script_definition(root), "loss", stop_grace_seconds=2.0),
        root,
        lambda ev: ev.metrics,
    )


def _ray_callable(root: Path) -> Harness:
    from sagetune.executors.process import serialize_callable
    from sagetune.executors.ray import RayExecutor

    return Harness(
        RayExecutor(
            train=serialize_callable(contract_job),
            stop_grace_seconds=2.0,
            cooperative_stop_seconds=2.0,
        ),
        root,
        lambda ev: metrics_from_result(ev.result, "loss")[0],
    )


def _ray_script(root: Path) -> Harness:
    from sagetune.executors.ray import RayExecutor

    return Harness(
        RayExecutor(_script_definition(root), objective_metric="loss", stop_grace_seconds=2.0),
        root,
        lambda ev: ev.metrics,
    )


def _replay(root: Path) -> Harness:
    return Harness(
        ReplayExecutor(lambda hp: [loss(e) for e in range(1, hp["epochs"] + 1)]),
        root,
        lambda ev: ev.metrics,
        cannot_fail="the replay executor replays curves: it has no way to fail a job",
        has_processes=False,
    )


@pytest.fixture(
    params=[_process, _subprocess, _replay, _ray_callable, _ray_script],
    ids=["process", "subprocess", "replay", "ray-callable", "ray-script"],
)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param in (_ray_callable, _ray_script):
        request.getfixturevalue("ray_cluster")  # the session's cluster, connected
    h = request.param(tmp_path)
    try:
        yield h
    finally:
        h.executor.shutdown()


def of(events: list[Event], name: str) -> list[Event]:
    return [e for e in events if e.name == name]


def finishes(events: list[Event], name: str) -> list[JobFinished]:
    return [e for e in of(events, name) if isinstance(e, JobFinished)]


def poll_until(
    executor: Executor,
    done: Callable[[list[Event]], bool],
    what: str,
    seconds: float = DEADLINE_SECONDS,
) -> list[Event]:
    """Poll until ``done(events)``; fail the test past the deadline instead of hanging."""
    events: list[Event] = []
    deadline = time.monotonic() + seconds
    while not done(events):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds:g} s; last events: {events[-5:]}")
        events += executor.poll(0.1)
    return events


def poll_for_a_while(executor: Executor, seconds: float = 0.3) -> list[Event]:
    """What arrives in about ``seconds``, in 5 to 20 polls (a replay's poll never waits, and
    each of its polls is an epoch: a time limit alone would replay whole jobs)."""
    events: list[Event] = []
    end = time.monotonic() + seconds
    for polls in range(20):
        if polls >= 5 and time.monotonic() >= end:
            break
        events += executor.poll(0.05)
    return events


def points(events: list[Event], name: str) -> list[tuple[str, int, float]]:
    return [(e.metric, e.step, e.value) for e in of(events, name) if isinstance(e, MetricReported)]


def last_values(events: list[Event], name: str) -> dict[str, float]:
    return {metric: value for metric, _, value in points(events, name)}


def process_gone(pgid: int, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


class TestExecutorContract:
    def test_a_job_starts_reports_its_points_then_finishes_completed_once(
        self, harness: Harness
    ) -> None:
        ex = harness.executor
        ex.start(harness.request("j1", epochs=3))
        assert ex.running == {"j1"}
        events = poll_until(ex, lambda evs: bool(finishes(evs, "j1")), "j1 finishing")
        mine = of(events, "j1")
        assert isinstance(mine[0], JobStarted) and isinstance(mine[-1], JobFinished)
        assert all(isinstance(e, MetricReported) for e in mine[1:-1])
        if harness.has_processes:
            assert isinstance(mine[0].pid, int) and mine[0].pid > 0
        assert points(events, "j1") == [("loss", e, loss(e)) for e in (1, 2, 3)]
        times = [e.time for e in mine]
        assert times == sorted(times)
        (finished,) = finishes(events, "j1")
        assert finished.status == TrainingJobStatus.Completed
        assert harness.final_metrics(finished) == {"loss": loss(3)}
        assert "j1" not in ex.running
        # Exactly one JobFinished, and it is the job's last event, even when stopped too late.
        ex.stop("j1", "too late")
        assert of(poll_for_a_while(ex), "j1") == []

    def test_running_holds_a_started_job_until_its_finish_is_reported(
        self, harness: Harness
    ) -> None:
        ex = harness.executor
        assert ex.running == set()
        ex.start(harness.request("long", epochs=LONG_EPOCHS, sleep=0.05))
        events = poll_until(ex, lambda evs: bool(points(evs, "long")), "a first point")
        assert ex.running == {"long"}
        events += poll_for_a_while(ex)
        assert ex.running == {"long"} and not finishes(events, "long")
        ex.stop("long", "done looking")
        poll_until(ex, lambda evs: bool(finishes(evs, "long")), "the stop")
        assert ex.running == set()

    def test_stop_ends_a_job_as_stopped_with_the_reason(self, harness: Harness) -> None:
        ex = harness.executor
        ex.start(harness.request("s1", epochs=LONG_EPOCHS, sleep=0.05))
        events = poll_until(ex, lambda evs: len(points(evs, "s1")) >= 2, "two points")
        ex.stop("s1", "told to stop")
        t0 = time.monotonic()
        events += poll_until(ex, lambda evs: bool(finishes(evs, "s1")), "the stop")
        (finished,) = finishes(events, "s1")
        assert finished.status == TrainingJobStatus.Stopped
        assert finished.failure_reason == "told to stop"
        assert time.monotonic() - t0 < 10  # well before the job would have ended by itself
        reported = points(events, "s1")
        assert len(reported) < LONG_EPOCHS
        assert [step for _, step, _ in reported] == list(range(1, len(reported) + 1))
        assert finished.metrics == last_values(events, "s1")  # its last reported values
        ex.stop("s1", "again")  # a second stop changes nothing
        assert of(poll_for_a_while(ex), "s1") == [] and ex.running == set()

    def test_a_failing_job_finishes_failed_with_its_reason(self, harness: Harness) -> None:
        if harness.cannot_fail is not None:
            pytest.skip(harness.cannot_fail)
        ex = harness.executor
        ex.start(harness.request("bad", epochs=5, fail=True))
        events = poll_until(ex, lambda evs: bool(finishes(evs, "bad")), "the failure")
        (finished,) = finishes(events, "bad")
        assert finished.status == TrainingJobStatus.Failed
        assert finished.failure_reason and "boom at epoch 2" in finished.failure_reason
        assert points(events, "bad") == [("loss", 1, loss(1)), ("loss", 2, loss(2))]
        assert ex.running == set()
        assert of(poll_for_a_while(ex), "bad") == []

    def test_shutdown_leaves_nothing_running(self, harness: Harness) -> None:
        ex = harness.executor
        for name in ("a", "b"):
            ex.start(harness.request(name, epochs=LONG_EPOCHS, sleep=0.05))
        events = poll_until(
            ex, lambda evs: all(points(evs, n) for n in ("a", "b")), "a point from each job"
        )
        started = [e for e in events if isinstance(e, JobStarted)]
        assert ex.running == {"a", "b"}
        t0 = time.monotonic()
        ex.shutdown()
        assert ex.running == set()
        assert time.monotonic() - t0 < DEADLINE_SECONDS
        if harness.has_processes:
            assert all(process_gone(e.pid) for e in started if e.pid is not None)
        ex.shutdown()  # twice is harmless
        assert ex.running == set()

    def test_two_jobs_run_at_once_and_both_finish(self, harness: Harness) -> None:
        ex = harness.executor
        # Each job waits until the other has started: one at a time, neither would finish.
        ex.start(harness.request("p1", epochs=3, peer="p2"))
        ex.start(harness.request("p2", epochs=3, peer="p1"))
        assert ex.running == {"p1", "p2"}
        events = poll_until(
            ex, lambda evs: bool(finishes(evs, "p1") and finishes(evs, "p2")), "both jobs finishing"
        )
        for name in ("p1", "p2"):
            (finished,) = finishes(events, name)
            assert finished.status == TrainingJobStatus.Completed, finished.failure_reason
            assert harness.final_metrics(finished) == {"loss": loss(3)}
            assert [step for _, step, _ in points(events, name)] == [1, 2, 3]
        assert ex.running == set()
