"""Tuner overhead: many trivial training jobs through the public SDK, against Optuna.

With a training function that does nothing, the wall time of a tuning job is all overhead:
suggesting, storing, starting the function in a worker process and recording its result. This
runs ``--jobs`` such jobs with the Random strategy and one job at a time:

- ``sagetune``: ``HyperparameterTuner(..., strategy="Random", max_jobs=N, max_parallel_jobs=1,
  store="sqlite:///<temp file>", show_progress=False).fit(train)``. Every job is recorded in
  the SQLite store and runs in a worker process (the tuner's local executor).
- ``optuna-sqlite``: ``optuna.create_study(storage="sqlite:///<temp file>",
  sampler=RandomSampler(seed))`` then ``study.optimize(objective, n_trials=N)``: every trial in
  SQLite, objective called in-process.
- ``optuna-memory``: the same with the default in-memory storage (nothing persisted).

Each measurement is repeated ``--repeats`` times in a fresh temporary directory; the median
wall time is reported, with the ratios sagetune / optuna.

Usage (from the repository root)::

    PYTHONPATH=src python -m benchmarks.tuner_overhead [--jobs 1000] [--repeats 3]
        [--out benchmarks/results/tuner_overhead.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks._env import environment, load_average

DEFAULT_OUT = Path("benchmarks/results/tuner_overhead.json")


def train(hp: Mapping[str, Any]) -> dict[str, float]:
    """The trivial training function (module level, so worker processes can import it)."""
    return {"loss": (float(hp["x"]) - 0.3) ** 2}


def run_sagetune(jobs: int, folder: str) -> float:
    """Seconds for ``jobs`` Random jobs through ``HyperparameterTuner.fit`` with SQLite."""
    import sagetune
    from sagetune.space import ContinuousParameter

    t0 = time.perf_counter()
    tuner = sagetune.HyperparameterTuner(
        objective_metric_name="loss",
        objective_type="Minimize",
        hyperparameter_ranges={"x": ContinuousParameter(0.0, 1.0)},
        strategy="Random",
        max_jobs=jobs,
        max_parallel_jobs=1,
        random_seed=0,
        store=f"sqlite:///{folder}/st.db",
        show_progress=False,
    )
    tuner.fit(train)
    return time.perf_counter() - t0


def run_optuna(jobs: int, folder: str, sqlite: bool) -> float:
    """Seconds for ``study.optimize`` of ``jobs`` RandomSampler trials."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    study = optuna.create_study(
        storage=f"sqlite:///{folder}/optuna.db" if sqlite else None,
        sampler=optuna.samplers.RandomSampler(seed=0),
        direction="minimize",
    )
    study.optimize(lambda t: (t.suggest_float("x", 0.0, 1.0) - 0.3) ** 2, n_trials=jobs)
    return time.perf_counter() - t0


def measure(fn: Callable[[str], float], repeats: int) -> dict[str, Any]:
    """Wall seconds of ``repeats`` runs, each in its own temporary directory."""
    secs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            secs.append(fn(folder))
    return {"median_s": statistics.median(secs), "seconds": secs}


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the table and ratios, write JSON and Markdown."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.tuner_overhead",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    env = environment()
    rows = {
        "sagetune": measure(lambda f: run_sagetune(args.jobs, f), args.repeats),
        "optuna-sqlite": measure(lambda f: run_optuna(args.jobs, f, True), args.repeats),
        "optuna-memory": measure(lambda f: run_optuna(args.jobs, f, False), args.repeats),
    }
    st = rows["sagetune"]["median_s"]
    ratios = {k: st / v["median_s"] for k, v in rows.items() if k != "sagetune"}
    header = (
        f"| set-up ({args.jobs} jobs, Random, one at a time) | median s | ms per job | "
        "sagetune / this |"
    )
    lines = [header, "|---|---:|---:|---:|"]
    for k, v in rows.items():
        ratio = f"{ratios[k]:.2f}" if k in ratios else "-"
        lines.append(
            f"| {k} | {v['median_s']:.2f} | {v['median_s'] / args.jobs * 1e3:.2f} | {ratio} |"
        )
    md = "\n".join(lines) + "\n"
    print(md)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "environment": env,
                "jobs": args.jobs,
                "rows": rows,
                "ratios": ratios,
                "load_average_at_end": load_average(),
            },
            indent=1,
        )
    )
    args.out.with_suffix(".md").write_text(md)
    print(f"wrote {args.out}, {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
