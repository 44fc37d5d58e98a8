"""Hyperband: brackets and rungs, the asynchronous promotion rule, and a seeded run of the
real tuner loop against replayed curves."""

from __future__ import annotations

import math

import pytest
from replay import Curve, ReplayExecutor, replay_request, run_replayed

from sagetune.executors.base import Event
from sagetune.runner import TuningJobRunner
from sagetune.service import create_tuning_job
from sagetune.space import ContinuousParameter, SearchSpace
from sagetune.spec import load_spec
from sagetune.stopping import CONTINUE, JobSnapshot, StopDecision
from sagetune.store import open_store
from sagetune.strategies import Observation, make_strategy
from sagetune.strategies.hyperband import HyperbandConfig, HyperbandRule


def test_brackets_and_their_weights() -> None:
    assert HyperbandConfig(1, 27).brackets == ((1, 3, 9), (3, 9), (9,), ())
    assert HyperbandConfig(2, 20).brackets == ((2, 6, 18), (6, 18), (18,))
    assert HyperbandConfig(5, 5).brackets == ((),)
    w = HyperbandConfig(1, 27).weights
    assert w == pytest.approx([x / 12.25 for x in (6.75, 3, 1.5, 1)])
    config = HyperbandConfig(1, 27)
    drawn = [config.bracket_of(seed=4, seq=s) for s in range(1, 2001)]
    assert drawn == [config.bracket_of(seed=4, seq=s) for s in range(1, 2001)]  # resume-safe
    shares = [drawn.count(b) / len(drawn) for b in range(4)]
    assert shares == pytest.approx(list(w), abs=0.04)


def job(seq: int, *values: float, status: str = "InProgress") -> JobSnapshot:
    return JobSnapshot(f"j{seq}", seq, status, tuple(enumerate(values, start=1)))


def rule_in_bracket(bracket: int, config: HyperbandConfig, seq: int) -> HyperbandRule:
    seed = next(s for s in range(1000) if config.bracket_of(s, seq) == bracket)
    return HyperbandRule(config, seed)


def test_a_job_goes_on_only_in_the_top_third_at_its_rung() -> None:
    config = HyperbandConfig(1, 9)  # brackets (1, 3), (3,), ()
    rule = rule_in_bracket(0, config, seq=7)
    others = [job(i, v, status="Completed") for i, v in enumerate([0.1, 0.2, 0.3, 0.4, 0.5], 1)]
    # 6 jobs at epoch 1 -> the top ceil(6 / 3) = 2 go on
    assert rule.on_metric(job(7, 0.15), 1, 0.15, [*others, job(7, 0.15)]) == CONTINUE
    state = dict(vars(rule))
    assert rule.on_metric(job(7, 0.25), 1, 0.25, [*others, job(7, 0.25)]) == StopDecision(
        "stop",
        "stopped by Hyperband at the rung of epoch 1 (bracket 0): ranked 3 of 6 jobs at "
        "that epoch, only the top 2 go on",
        epoch=1,
    )
    assert vars(rule) == state  # the reason came with the decision: nothing kept for later
    # The first job at a rung never waits and is never stopped: asynchronous.
    assert rule.on_metric(job(7, 9.0), 1, 9.0, [job(7, 9.0)]) == CONTINUE
    # Between rungs nothing is decided; bracket 1 skips the rung at epoch 1.
    assert rule.on_metric(job(7, 0.1, 9.0), 2, 9.0, [*others, job(7, 0.1, 9.0)]) == CONTINUE
    late = rule_in_bracket(1, config, seq=7)
    assert late.on_metric(job(7, 0.25), 1, 0.25, [*others, job(7, 0.25)]) == CONTINUE
    # MaxResource reached: the job has trained enough.
    full = job(7, *[0.1] * 9)
    assert rule.on_metric(full, 9, 0.1, [full]) == StopDecision(
        "complete", "reached MaxResource (9 epochs)"
    )


def test_a_report_that_jumps_over_a_rung_is_judged_at_it() -> None:
    config = HyperbandConfig(1, 27)
    rule = rule_in_bracket(0, config, seq=5)
    every5 = [
        JobSnapshot(f"j{i}", i, "Completed", ((5, v), (10, v / 2)))
        for i, v in enumerate([0.1, 0.2, 0.3, 0.4], 1)
    ]
    me = JobSnapshot("j5", 5, "InProgress", ((5, 0.35),))
    # epoch 5 crosses rungs 1 and 3: 5 jobs, top 2 go on, 0.35 ranks 4th
    decision = rule.on_metric(me, 5, 0.35, [*every5, me])
    assert decision.action == "stop" and "ranked 4 of 5" in decision.reason


def curve(hp: dict) -> list[float]:
    """27 epochs; x near 0.7 is best; the curves cross a little early on."""
    gap = abs(hp["x"] - 0.7)
    return [gap + 1.0 / math.sqrt(k) * (1 + 0.3 * math.sin(7 * hp["x"])) for k in range(1, 28)]


def test_a_seeded_hyperband_run_stops_at_rungs_and_promotes_the_best(store_url: str) -> None:
    request = replay_request(
        "hb", 40, 4, strategy="Hyperband", hyperband={"MinResource": 1, "MaxResource": 27}, seed=11
    )
    store, _, _ = run_replayed(store_url, request, curve)
    jobs = store.list_training_jobs("hb")
    config = HyperbandConfig(1, 27)
    assert len(jobs) == 40 and all(j.status in ("Completed", "Stopped") for j in jobs)
    points = {j.name: [(p.step, p.value) for p in store.metric_points([j.name])] for j in jobs}
    stopped = [j for j in jobs if j.status == "Stopped"]
    assert stopped and all(j.early_stopped for j in stopped)
    for j in stopped:
        rungs = config.brackets[config.bracket_of(11, j.seq)]
        assert j.epochs_completed in rungs  # stopped exactly at one of its bracket's rungs
        assert j.objective == points[j.name][-1][1]
    for j in jobs:
        if j.status == "Completed":
            assert j.epochs_completed == 27
    # Reproducible: the same seed gives the same decisions.
    store2, _, _ = run_replayed(
        store_url.replace("tuning.db", "again.db"),
        {**request, "HyperParameterTuningJobName": "hb"},
        curve,
    )
    again = store2.list_training_jobs("hb")
    assert [(j.status, j.epochs_completed) for j in again] == [
        (j.status, j.epochs_completed) for j in jobs
    ]
    assert sum(j.epochs_completed for j in jobs) < 40 * 27 / 2
    best = min(jobs, key=lambda j: j.objective)
    assert best.status == "Completed"


def test_suggestions_are_seeded_random_draws() -> None:
    space = SearchSpace({"x": ContinuousParameter(0.0, 1.0)})
    strategy = make_strategy("Hyperband", space, 5, hyperband=HyperbandConfig(1, 9))
    random = make_strategy("Random", space, 5)
    seen = [
        Observation(
            {"x": i / 10}, "Stopped", (i / 10 - 0.3) ** 2 + 1, ((1, (i / 10 - 0.3) ** 2 + 1),)
        )
        for i in range(10)
    ]
    assert strategy.suggest(seen, 3) == random.suggest(seen, 3)
    other = make_strategy("Hyperband", space, 6, hyperband=HyperbandConfig(1, 9))
    assert other.suggest(seen, 3) != strategy.suggest(seen, 3)


class InterruptedReplay(ReplayExecutor):
    """Ctrl-C at the ``polls``-th poll, while jobs run."""

    def __init__(self, curve: Curve, polls: int):
        super().__init__(curve)
        self.polls = polls

    def poll(self, timeout: float) -> list[Event]:
        self.polls -= 1
        if self.polls == 0:
            raise KeyboardInterrupt
        return super().poll(timeout)


def test_an_interrupted_hyperband_job_is_run_again_on_resume(store_url: str) -> None:
    request = replay_request(
        "hbi", 8, 3, strategy="Hyperband", hyperband={"MinResource": 1, "MaxResource": 9}, seed=5
    )
    store = open_store(store_url)
    create_tuning_job(store, request, train_payload=b"unused")
    spec = load_spec(store.get_tuning_job("hbi"))

    def runner(executor: ReplayExecutor) -> TuningJobRunner:
        strategy = make_strategy(spec.strategy, spec.space, 5, hyperband=spec.hyperband)
        return TuningJobRunner(spec, store, executor, strategy, clock=executor.now)

    with pytest.raises(KeyboardInterrupt):
        runner(InterruptedReplay(curve, polls=12)).run()
    cut = [j for j in store.list_training_jobs("hbi") if j.interrupted]
    assert cut and all(j.status == "Stopped" and j.epochs_completed < 9 for j in cut)
    # As sagetune resume takes up a tuning job its tuner stopped on a signal.
    store.update_tuning_job("hbi", status="InProgress", ended_at=None, details={})
    runner(ReplayExecutor(curve)).run()

    jobs = store.list_training_jobs("hbi")
    counted = [j for j in jobs if not j.interrupted]
    assert len(counted) == 8 and all(j.status in ("Completed", "Stopped") for j in counted)
    config = HyperbandConfig(1, 9)
    for j in counted:  # each replacement in a bracket of its own, stopped only at its rungs
        if j.status == "Stopped":
            assert j.early_stopped
            assert j.epochs_completed in config.brackets[config.bracket_of(5, j.seq)]
        else:
            assert j.epochs_completed == 9
    # Every interrupted job's point was trained again by a later job.
    for j in cut:
        assert any(k.seq > j.seq and k.hyperparameters == j.hyperparameters for k in counted)
    assert store.get_tuning_job("hbi").status == "Completed"
