"""Early stopping and Hyperband against Optuna's pruners, on learning curves.

Two problems, every method on the same seeds in one run:

- ``synthetic`` and ``synthetic_inverted``: seeded families of learning curves over
  ``x1, x2`` in [0, 1] and a log-scaled learning rate: ``loss(k) = f + (1.5 - f) *
  exp(-k * rate)`` plus seeded noise, 27 epochs, where ``f`` (the final loss) depends on all
  three and ``rate`` grows with the learning rate. In ``synthetic`` the final loss is lowest
  at a moderate learning rate, so curves cross but early epochs still inform; in
  ``synthetic_inverted`` (a stress case) the slowest learners end best, so early epochs
  mislead. sagetune runs through its real tuner loop and store with an executor that replays
  the curves (no training, no sleeping).
- ``xgb_digits``: real training. XGBoost on scikit-learn's bundled digits data (no download),
  3 boosting rounds per epoch, 27 epochs (81 rounds), objective the validation multi-class log
  loss on a fixed 30% hold-out, tuning ``eta``, ``max_depth``, ``min_child_weight`` and
  ``subsample``. sagetune runs Python callables that report each epoch, 4 jobs in parallel in
  worker processes; Optuna runs ``study.optimize(n_jobs=4)`` (threads; XGBoost releases the
  GIL, one thread per model).

Methods: sagetune ``Off``, ``Auto`` (median rule) and ``Hyperband`` (MinResource 1,
MaxResource 27), Optuna ``MedianPruner()`` and ``HyperbandPruner(1, 27, 3)``. Every method runs
the same configurations in the same order: sagetune's seeded random draws (the ``k``-th job's
point depends only on the seed and ``k``), handed to Optuna with ``enqueue_trial``. Only the
stopping differs.

Hyperband methods get twice as many training jobs (``--hyperband-jobs``, default 2x
``--jobs``): they are meant to try more configurations for fewer epochs each. All epochs they
spend are counted.

Recorded per run: total epochs trained, wall time, the final best objective, and the epochs
spent when the best-so-far first reached Off's final best of the same seed.

Usage (from the repository root)::

    python -m benchmarks.early_stopping [--problems synthetic,synthetic_inverted,xgb_digits] \
        [--seeds 10] [--real-seeds 2] [--jobs 40] [--real-jobs 24]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._env import environment
from sagetune import parse_request
from sagetune.executors.base import (
    Event,
    Executor,
    JobFinished,
    JobRequest,
    JobStarted,
    MetricReported,
)
from sagetune.runner import TuningJobRunner
from sagetune.service import create_tuning_job
from sagetune.store import open_store
from sagetune.strategies import Observation, make_strategy

EPOCHS = 27
PARALLEL = 4
DEFAULT_OUT = Path("benchmarks/results/early_stopping.json")
METHODS = (
    "sagetune-off",
    "sagetune-auto",
    "sagetune-hyperband",
    "optuna-median",
    "optuna-hyperband",
)


# -- problems ------------------------------------------------------------------------------


def _noise(hp: dict[str, Any], seed: int) -> np.ndarray:
    x1, x2, lr = float(hp["x1"]), float(hp["x2"]), float(hp["lr"])
    rng = np.random.default_rng([seed, int(x1 * 1e6), int(x2 * 1e6), int(lr * 1e9)])
    return rng.normal(0.0, 0.01, EPOCHS)


def synthetic_curve(hp: dict[str, Any], seed: int) -> list[float]:
    """A seeded learning curve of the usual kind: the final loss is lowest at a moderate
    learning rate, larger rates learn faster, so a slightly slow learner can overtake a fast
    one late (curves cross) but early epochs still say a good deal about the end."""
    x1, x2, lr = float(hp["x1"]), float(hp["x2"]), float(hp["lr"])
    final = 0.2 + 0.8 * (x1 - 0.35) ** 2 + 0.6 * (x2 - 0.6) ** 2 + 0.08 * math.log10(lr / 0.03) ** 2
    rate = 0.08 + 1.5 * math.sqrt(lr)
    noise = _noise(hp, seed)
    return [
        final + (1.5 - final) * math.exp(-k * rate) + float(noise[k - 1])
        for k in range(1, EPOCHS + 1)
    ]


def inverted_curve(hp: dict[str, Any], seed: int) -> list[float]:
    """A stress case: the slower a configuration learns, the better it ends (the final loss
    grows with the learning rate), so the ranking in early epochs is inverted."""
    x1, x2, lr = float(hp["x1"]), float(hp["x2"]), float(hp["lr"])
    final = 0.2 + 0.8 * (x1 - 0.35) ** 2 + 0.6 * (x2 - 0.6) ** 2 + 0.15 * math.log10(lr / 1e-3)
    rate = 0.05 + 2.0 * lr
    noise = _noise(hp, seed)
    return [
        final + (1.5 - final) * math.exp(-k * rate) + float(noise[k - 1])
        for k in range(1, EPOCHS + 1)
    ]


CURVES: dict[str, Callable[[dict[str, Any], int], list[float]]] = {
    "synthetic": synthetic_curve,
    "synthetic_inverted": inverted_curve,
}


SYNTHETIC_RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "x1", "MinValue": "0", "MaxValue": "1"},
        {"Name": "x2", "MinValue": "0", "MaxValue": "1"},
        {"Name": "lr", "MinValue": "0.001", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
    ]
}

XGB_RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
        {
            "Name": "min_child_weight",
            "MinValue": "0.5",
            "MaxValue": "20",
            "ScalingType": "Logarithmic",
        },
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "1"},
    ],
    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "8"}],
}


def xgb_digits_train(hp: dict[str, Any], report: Callable[..., None]) -> dict[str, float]:
    """XGBoost on digits, 3 boosting rounds per epoch; reports the hold-out log loss."""
    import xgboost as xgb
    from sklearn.datasets import load_digits
    from sklearn.metrics import log_loss
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    dtrain, dvalid = xgb.DMatrix(x_tr, label=y_tr), xgb.DMatrix(x_va)
    params = {
        "objective": "multi:softprob",
        "num_class": 10,
        "eta": float(hp["eta"]),
        "max_depth": int(hp["max_depth"]),
        "min_child_weight": float(hp["min_child_weight"]),
        "subsample": float(hp["subsample"]),
        "nthread": 1,
        "seed": 0,
        "verbosity": 0,
    }
    booster = None
    loss = float("nan")
    for epoch in range(1, EPOCHS + 1):
        booster = xgb.train(params, dtrain, num_boost_round=3, xgb_model=booster)
        loss = float(log_loss(y_va, booster.predict(dvalid), labels=list(range(10))))
        report(epoch=epoch, loss=loss)
    return {"loss": loss}


def random_configs(problem: str, seed: int, jobs: int) -> list[dict[str, Any]]:
    """The configurations sagetune's seeded Random draws for jobs 1..jobs (Off, Auto and
    Hyperband run exactly these; Optuna gets them through ``enqueue_trial``)."""
    spec = parse_request(
        request(
            "configs",
            "sagetune-off",
            SYNTHETIC_RANGES if problem in CURVES else XGB_RANGES,
            max(jobs, PARALLEL),
            seed,
        )
    )
    strategy = make_strategy("Random", spec.space, seed)
    out: list[dict[str, Any]] = []
    while len(out) < jobs:
        out += strategy.suggest([Observation(hp, "Completed", 0.0) for hp in out], 1)
    return out


# -- sagetune ------------------------------------------------------------------------------


class ReplayExecutor(Executor):
    """Replays curves one epoch per poll for every running job (the simulated clock counts
    epochs, so its makespan is the wall time in epochs with PARALLEL workers)."""

    def __init__(self, curve: Callable[[dict[str, Any]], list[float]]):
        self.curve = curve
        self.t = 0.0
        self.jobs: dict[str, tuple[list[float], int]] = {}
        self.pending: list[Event] = []

    @property
    def running(self) -> set[str]:
        return set(self.jobs)

    def now(self) -> float:
        return self.t

    def start(self, job: JobRequest) -> None:
        self.jobs[job.name] = (self.curve(job.hyperparameters), 0)
        self.pending.append(JobStarted(job.name, self.t))

    def poll(self, timeout: float) -> list[Event]:
        events, self.pending = self.pending, []
        if self.jobs:
            self.t += 1.0
        for name, (values, done) in list(self.jobs.items()):
            if done == len(values):
                del self.jobs[name]
                events.append(JobFinished(name, self.t, "Completed", metrics={"loss": values[-1]}))
            else:
                events.append(MetricReported(name, "loss", values[done], done + 1, self.t))
                self.jobs[name] = (values, done + 1)
        return events

    def stop(self, name: str, reason: str) -> None:
        values, done = self.jobs.pop(name, ([], 0))
        metrics = {"loss": values[done - 1]} if done else {}
        self.pending.append(
            JobFinished(name, self.t, "Stopped", metrics=metrics, failure_reason=reason)
        )

    def shutdown(self) -> None:
        for name in list(self.jobs):
            self.stop(name, "end")


def request(name: str, method: str, ranges: dict[str, Any], jobs: int, seed: int) -> dict[str, Any]:
    strategy = "Hyperband" if method == "sagetune-hyperband" else "Random"
    config: dict[str, Any] = {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": PARALLEL},
        "ParameterRanges": ranges,
        "RandomSeed": seed,
        "TrainingJobEarlyStoppingType": "Auto" if method == "sagetune-auto" else "Off",
    }
    if strategy == "Hyperband":
        config["StrategyConfig"] = {
            "HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": EPOCHS}
        }
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": {"StaticHyperParameters": {}},
    }


def sagetune_run(method: str, problem: str, seed: int, jobs: int, folder: Path) -> dict[str, Any]:
    store = open_store(folder / f"{problem}-{method}-{seed}.db")
    name = f"{problem.replace('_', '-')}-{seed}"
    req = request(name, method, SYNTHETIC_RANGES if problem in CURVES else XGB_RANGES, jobs, seed)
    t0 = time.perf_counter()
    if problem in CURVES:
        create_tuning_job(store, req, train_payload=b"replayed")
        spec = parse_request(req)
        executor = ReplayExecutor(lambda hp: CURVES[problem](hp, seed))
        strategy = make_strategy(spec.strategy, spec.space, seed, hyperband=spec.hyperband)
        TuningJobRunner(spec, store, executor, strategy, clock=executor.now).run()
        wall = executor.t  # in epochs
    else:
        from sagetune.executors.process import serialize_callable
        from sagetune.service import run_tuning_job

        create_tuning_job(store, req, train_payload=serialize_callable(xgb_digits_train))
        run_tuning_job(store, name)
        wall = time.perf_counter() - t0
    records = sorted(store.list_training_jobs(name), key=lambda j: j.ended_at or 0.0)
    trace, spent, best = [], 0, math.inf
    for j in records:  # best-so-far against epochs spent, in the order jobs ended
        spent += j.epochs_completed or 0
        if j.objective is not None:
            best = min(best, j.objective)
        trace.append((spent, best))
    return {
        "epochs": spent,
        "wall": wall,
        "best": best,
        "trace": trace,
        "stopped": sum(j.early_stopped for j in records),
        "jobs": len(records),
    }


# -- optuna --------------------------------------------------------------------------------


def optuna_run(method: str, problem: str, seed: int, jobs: int) -> dict[str, Any]:
    import threading

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = (
        optuna.pruners.MedianPruner()
        if method == "optuna-median"
        else optuna.pruners.HyperbandPruner(min_resource=1, max_resource=EPOCHS, reduction_factor=3)
    )
    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=seed), pruner=pruner, direction="minimize"
    )
    for hp in random_configs(problem, seed, jobs):
        study.enqueue_trial(hp)
    lock = threading.Lock()
    trace: list[tuple[int, float]] = []
    spent = [0]

    def record(epochs: int, value: float | None) -> None:
        with lock:
            spent[0] += epochs
            prev = trace[-1][1] if trace else math.inf
            trace.append((spent[0], min(prev, value) if value is not None else prev))

    def objective(trial: Any) -> float:
        if problem in CURVES:
            hp = {
                "x1": trial.suggest_float("x1", 0, 1),
                "x2": trial.suggest_float("x2", 0, 1),
                "lr": trial.suggest_float("lr", 1e-3, 0.5, log=True),
            }
            values = CURVES[problem](hp, seed)
            for k, v in enumerate(values, start=1):
                trial.report(v, k)
                if trial.should_prune():
                    record(k, v)
                    raise optuna.TrialPruned()
            record(EPOCHS, values[-1])
            return values[-1]
        hp = {
            "eta": trial.suggest_float("eta", 0.01, 0.5, log=True),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 20, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "max_depth": trial.suggest_int("max_depth", 1, 8),
        }
        last: dict[str, float] = {}

        def report(epoch: int, loss: float) -> None:
            last.update(epoch=epoch, loss=loss)
            trial.report(loss, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        try:
            loss = xgb_digits_train(hp, report)["loss"]
        except optuna.TrialPruned:
            record(int(last["epoch"]), last["loss"])  # sagetune counts a stopped job's value too
            raise
        record(EPOCHS, loss)
        return loss

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=jobs, n_jobs=1 if problem in CURVES else PARALLEL)
    wall = time.perf_counter() - t0
    return {
        "epochs": spent[0],
        "wall": wall if problem not in CURVES else None,
        "best": trace[-1][1],
        "trace": trace,
        "jobs": len(study.trials),
        "stopped": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
    }


# -- report --------------------------------------------------------------------------------


def epochs_to_reach(trace: Sequence[tuple[int, float]], target: float) -> int | None:
    for spent, best in trace:
        if best <= target + 1e-12:
            return spent
    return None


def summarise(results: dict[str, dict[str, list[dict[str, Any]]]]) -> str:
    lines = []
    for problem, by_method in results.items():
        off = by_method["sagetune-off"]
        lines += [
            f"### {problem}",
            "",
            (
                "| method | jobs | epochs trained (mean) | vs Off | wall time (mean) | "
                "final best (mean) | best vs Off (mean rel.) | runs reaching Off's best | "
                "epochs to reach it / Off's epochs (median of all runs; mean when reached) | "
                "jobs stopped (mean) |"
            ),
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for method, runs in by_method.items():
            epochs = np.mean([r["epochs"] for r in runs])
            walls = [r["wall"] for r in runs if r["wall"] is not None]
            wall = (
                f"{np.mean(walls):.1f} {'epochs' if problem in CURVES else 's'}" if walls else "–"
            )
            rel = np.mean([(r["best"] - o["best"]) / abs(o["best"]) for r, o in zip(runs, off)])
            reach = [epochs_to_reach(r["trace"], o["best"]) for r, o in zip(runs, off)]
            ratios = [e / o["epochs"] for e, o in zip(reach, off) if e is not None]
            # A run that never reached Off's best counts as needing more than any other.
            every = [e / o["epochs"] if e is not None else math.inf for e, o in zip(reach, off)]
            median = float(np.median(every))
            median_text = f"{median:.2f}" if math.isfinite(median) else "never"
            off_epochs = np.mean([o["epochs"] for o in off])
            lines.append(
                f"| {method} | {runs[0]['jobs']} | {epochs:.0f} | {epochs / off_epochs:.2f} "
                f"| {wall} | {np.mean([r['best'] for r in runs]):.4f} | {rel:+.2%} | "
                f"{len(ratios)}/{len(runs)} | "
                f"{median_text}; {(f'{np.mean(ratios):.2f}' if ratios else '–')} | "
                f"{np.mean([r['stopped'] for r in runs]):.1f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--problems",
        default="synthetic,synthetic_inverted,xgb_digits",
        help="comma-separated: " + ", ".join([*CURVES, "xgb_digits"]),
    )
    parser.add_argument("--seeds", type=int, default=10, help="synthetic repetitions")
    parser.add_argument("--real-seeds", type=int, default=2, help="XGBoost repetitions")
    parser.add_argument("--jobs", type=int, default=40, help="training jobs per synthetic run")
    parser.add_argument("--real-jobs", type=int, default=24, help="training jobs per XGBoost run")
    parser.add_argument(
        "--hyperband-jobs",
        type=int,
        default=None,
        help="training jobs per Hyperband run (default 2x the others)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for problem in args.problems.split(","):
            if problem not in CURVES and problem != "xgb_digits":
                parser.error(f"--problems: unknown problem {problem!r}")
            seeds = args.seeds if problem in CURVES else args.real_seeds
            results[problem] = {m: [] for m in METHODS}
            for seed in range(seeds):
                for method in METHODS:
                    base = args.jobs if problem in CURVES else args.real_jobs
                    jobs = (args.hyperband_jobs or 2 * base) if "hyperband" in method else base
                    run = (
                        sagetune_run(method, problem, seed, jobs, Path(tmp))
                        if method.startswith("sagetune")
                        else optuna_run(method, problem, seed, jobs)
                    )
                    results[problem][method].append(run)
                    print(
                        f"{problem} seed {seed} {method}: epochs {run['epochs']}, best "
                        f"{run['best']:.4f}, wall {run['wall']}",
                        flush=True,
                    )
    table = summarise(results)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "environment": environment(),
                "args": vars(args) | {"out": str(args.out)},
                "seconds": time.time() - started,
                "results": results,
            },
            indent=1,
            default=str,
        )
    )
    args.out.with_suffix(".md").write_text(table + "\n")


if __name__ == "__main__":
    main()
