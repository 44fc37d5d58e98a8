"""SageMaker's median rule (early stopping Auto): hand-made curves, then the real tuner loop
against replayed curves."""

from __future__ import annotations

import statistics

import pytest
from replay import replay_request, run_replayed

from sagetune.status import TrainingJobStatus
from sagetune.stopping import (
    CONTINUE,
    JobSnapshot,
    MedianStoppingRule,
    StopDecision,
    min_jobs_for,
)


def done(seq: int, *values: float) -> JobSnapshot:
    return JobSnapshot(f"j{seq}", seq, "Completed", tuple(enumerate(values, start=1)))


PREVIOUS = [
    done(1, 1.0, 0.2),
    done(2, 1.0, 0.2),
    done(3, 1.2, 0.4),
    done(4, 0.8, 0.6),
    done(5, 3.0, 2.0),
]
# Running averages up to epoch 2: 0.6, 0.6, 0.8, 0.7, 2.5 -> median 0.7.
# Values at epoch 1: 1.0, 1.0, 1.2, 0.8, 3.0 -> median 1.0.


def test_the_median_is_of_running_averages_up_to_the_same_epoch() -> None:
    rule = MedianStoppingRule(min_jobs=5)
    new = JobSnapshot("new", 6, "InProgress", ((1, 0.9), (2, 0.65)))
    assert rule.median_at(new, 2, PREVIOUS) == pytest.approx(0.7)
    assert rule.median_at(new, 1, PREVIOUS) == pytest.approx(1.0)
    # 0.65 is worse than every previous job's value at epoch 2 (0.2 ... 0.6, 2.0 aside), yet
    # better than the median of their running averages: it goes on.
    assert rule.on_metric(new, 2, 0.65, [*PREVIOUS, new]) == CONTINUE
    worse = JobSnapshot("worse", 6, "InProgress", ((1, 0.9), (2, 0.71)))
    decision = rule.on_metric(worse, 2, 0.71, [*PREVIOUS, worse])
    assert decision == StopDecision(
        "stop",
        (
            "stopped by early stopping (Auto) at epoch 2: its objective 0.71 was worse than 0.7, "
            "the median of the running averages of previous training jobs up to that epoch"
        ),
        epoch=2,
    )
    # A maximised objective is compared negated, and shown in its own sign.
    flipped = MedianStoppingRule(min_jobs=5, maximize=True)
    shown = flipped.on_metric(worse, 2, 0.71, [*PREVIOUS, worse]).reason or ""
    assert "its objective -0.71 was worse than -0.7," in shown
    assert rule.on_metric(worse, 1, 0.9, [*PREVIOUS, worse]) == CONTINUE  # 0.9 < 1.0
    assert rule.on_metric(worse, 1, 1.0, [*PREVIOUS, worse]) == CONTINUE  # equal is not worse


def test_the_rule_waits_for_enough_previous_jobs_and_epochs() -> None:
    new = JobSnapshot("new", 6, "InProgress", ((1, 9.0), (2, 9.0), (3, 9.0)))
    jobs = [*PREVIOUS, new]
    assert MedianStoppingRule(min_jobs=6).on_metric(new, 2, 9.0, jobs) == CONTINUE
    assert MedianStoppingRule(min_jobs=5).on_metric(new, 2, 9.0, jobs).action == "stop"
    assert MedianStoppingRule(min_jobs=5, min_epoch=3).on_metric(new, 2, 9.0, jobs) == CONTINUE
    # Nobody before it reached epoch 3: nothing to compare with.
    assert MedianStoppingRule(min_jobs=1).on_metric(new, 3, 9.0, jobs) == CONTINUE


def test_only_earlier_jobs_count_and_they_may_still_run() -> None:
    rule = MedianStoppingRule(min_jobs=2)
    running = JobSnapshot("r", 1, "InProgress", ((1, 0.1), (2, 0.1)))
    stopped = JobSnapshot("s", 2, "Stopped", ((1, 0.2),))  # never reached epoch 2
    later = JobSnapshot("l", 9, "Completed", ((1, 0.0), (2, 0.0)))
    new = JobSnapshot("n", 3, "InProgress", ((1, 0.5), (2, 0.5)))
    jobs = [running, stopped, later, new]
    assert rule.on_metric(new, 1, 0.5, jobs).action == "stop"  # median of 0.1 and 0.2
    assert rule.median_at(new, 2, jobs) is None  # only one earlier job reached epoch 2


def test_the_rule_keeps_no_state_between_calls() -> None:
    rule = MedianStoppingRule(min_jobs=5)
    state = dict(vars(rule))
    worse = JobSnapshot("worse", 6, "InProgress", ((1, 0.9), (2, 0.71)))
    first = rule.on_metric(worse, 2, 0.71, [*PREVIOUS, worse])
    # Deciding for other jobs in between changes nothing: the reason came with the decision.
    other = JobSnapshot("other", 7, "InProgress", ((1, 5.0),))
    assert rule.on_metric(other, 1, 5.0, [*PREVIOUS, other]).action == "stop"
    assert rule.on_metric(worse, 2, 0.71, [*PREVIOUS, worse]) == first
    assert vars(rule) == state
    with pytest.raises(AttributeError):
        first.action = "continue"  # type: ignore[misc]


def test_a_decision_to_end_a_job_says_why() -> None:
    assert CONTINUE == StopDecision("continue") and CONTINUE.reason is None
    with pytest.raises(ValueError, match="needs a reason"):
        StopDecision("stop")
    with pytest.raises(ValueError, match="needs a reason"):
        StopDecision("complete", "")
    with pytest.raises(ValueError, match="no reason"):
        StopDecision("continue", "why")
    with pytest.raises(ValueError, match="continue, stop or complete"):
        StopDecision("pause", "why")  # type: ignore[arg-type]


def test_snapshots_carry_the_status_enum() -> None:
    snapshot = JobSnapshot("a", 1, "Stopping")
    assert snapshot.status is TrainingJobStatus.Stopping and snapshot.status == "Stopping"


def test_the_rule_waits_for_a_quarter_of_the_jobs_between_5_and_10() -> None:
    assert [min_jobs_for(n) for n in (1, 20, 24, 40, 41, 1000)] == [5, 5, 6, 10, 10, 10]


def test_reports_every_few_epochs_average_what_was_reported() -> None:
    sparse = JobSnapshot("a", 1, "Completed", ((5, 0.8), (10, 0.4)))
    assert sparse.running_average(10) == pytest.approx(0.6)
    assert sparse.running_average(7) == pytest.approx(0.8)
    assert sparse.running_average(11) is None
    assert sparse.value_at(7) == 0.4 and sparse.value_at(11) is None


def curve(hp: dict) -> list[float]:
    """Ten epochs; the further x is from 0.3, the worse every epoch."""
    return [abs(hp["x"] - 0.3) + 1.0 / k for k in range(1, 11)]


def test_auto_stops_bad_jobs_in_the_tuner_loop(store_url: str) -> None:
    off_store, off_exec, _ = run_replayed(store_url, replay_request("off", 24, 3), curve)
    store, executor, runner = run_replayed(
        store_url, replay_request("auto", 24, 3, early="Auto"), curve
    )
    jobs = store.list_training_jobs("auto")
    stopped = [j for j in jobs if j.status == "Stopped"]
    assert len(jobs) == 24 and stopped and off_exec.stops == []
    assert {name for name, _ in executor.stops} == {j.name for j in stopped}
    points = {
        j.name: [p for p in store.metric_points([j.name]) if p.metric_name == "loss"] for j in jobs
    }
    for job in stopped:
        assert job.early_stopped and "early stopping (Auto)" in job.failure_reason
        # the final objective is the last value reported before the stop
        assert job.objective == points[job.name][-1].value
        assert job.epochs_completed == len(points[job.name]) < 10
        # the rule held: worse than the median of earlier jobs' running averages
        epoch = job.epochs_completed
        earlier = [
            sum(p.value for p in points[j.name][:epoch]) / epoch
            for j in jobs
            if j.seq < job.seq and len(points[j.name]) >= epoch
        ]
        assert len(earlier) >= min_jobs_for(24) == 6
        assert job.objective > statistics.median(earlier)
    observed = runner._observations()
    assert sum(o.status == "Stopped" and o.value is not None for o in observed) == len(stopped)
    epochs_auto = sum(j.epochs_completed for j in jobs)
    epochs_off = sum(j.epochs_completed for j in off_store.list_training_jobs("off"))
    assert epochs_off == 240 and epochs_auto < epochs_off
    best = min(jobs, key=lambda j: j.objective)
    assert best.status == "Completed" and best.epochs_completed == 10
