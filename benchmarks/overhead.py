"""Overhead: time of one suggestion at a fixed number of observations (50 to 1000).

The observations are random points of Hartmann6's space, ``[0, 1]^6``, with their Hartmann6
values (the same points for every method). For each size, each method makes ``--repeats``
suggestions, each after its own untimed set-up, and the median is reported, both wall-clock and
process CPU time (CPU time is less disturbed when other work shares the machine, but counts
every thread, so a method using two threads may show more CPU than wall time).

- ``sagetune-bayesian``: ``suggest(observations, 1)``. It keeps no state between calls, so
  every call refits its GP from scratch.
- ``optuna-gp``: ``study.ask(fixed_distributions=...)`` on a study holding the observations as
  completed trials; ``ask`` runs GPSampler's kernel fit and acquisition optimisation. As in a
  running study, the sampler has just made one suggestion on the first ``n - 1`` observations
  (untimed), so it warm-starts from those kernel parameters. Asked trials are told FAIL so they
  are not modelled as pending points.
- ``optuna-gp-cold``: the same on a fresh sampler, without cached kernel parameters.
- ``optuna-tpe``: TPESampler, for scale.

Every method suggests once, untimed, before any measurement, so imports and first-call set-up
are not charged to the first size.

Usage (from the repository root)::

    PYTHONPATH=src python -m benchmarks.overhead [--sizes 50,200,500,1000] [--repeats 9]
        [--methods sagetune-bayesian,optuna-gp,optuna-gp-cold,optuna-tpe]
        [--out benchmarks/results/overhead.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._env import environment, load_average
from benchmarks._methods import optuna_distributions, quiet_optuna
from benchmarks.problems import PROBLEMS
from sagetune.strategies import Observation, make_strategy

DEFAULT_OUT = Path("benchmarks/results/overhead.json")
METHODS = ("sagetune-bayesian", "optuna-gp", "optuna-gp-cold", "optuna-tpe")
PROBLEM = PROBLEMS["hartmann6"]

Call = Callable[[], None]
Prepare = Callable[[], Call]  # untimed set-up returning the one call to time


def observations(n: int, seed: int = 0) -> list[tuple[dict[str, Any], float]]:
    """``n`` uniform random points of Hartmann6's space with their values."""
    points = PROBLEM.space.sample(np.random.default_rng(seed), n)
    return [(hp, PROBLEM.objective(hp)) for hp in points]


def _sagetune(data: list[tuple[dict[str, Any], float]], seed: int) -> Prepare:
    strategy = make_strategy("Bayesian", PROBLEM.space, seed)
    obs = [Observation(hp, "Completed", v) for hp, v in data]

    def call() -> None:
        strategy.suggest(obs, 1)

    return lambda: call


def _optuna(data: list[tuple[dict[str, Any], float]], seed: int, sampler: str) -> Prepare:
    import optuna
    from optuna.trial import TrialState, create_trial

    quiet_optuna()
    dists = optuna_distributions(PROBLEM.space)
    trials = [create_trial(params=hp, distributions=dists, value=v) for hp, v in data]

    def ask_and_drop(study: optuna.Study) -> None:
        # Told FAIL so that the trial is not modelled as a pending point afterwards.
        study.tell(study.ask(fixed_distributions=dists), state=TrialState.FAIL)

    def prepare() -> Call:
        s = (
            optuna.samplers.TPESampler(seed=seed)
            if sampler == "tpe"
            else optuna.samplers.GPSampler(seed=seed)
        )
        study = optuna.create_study(direction="minimize", sampler=s)
        if sampler == "gp":
            # As in a running study: the sampler last fitted its kernel on n - 1 observations
            # and warm-starts from those parameters when the n-th arrives.
            study.add_trials(trials[:-1])
            ask_and_drop(study)
            study.add_trials(trials[-1:])
        else:  # "gp-cold" (no cached kernel parameters) and "tpe" (stateless)
            study.add_trials(trials)
        return lambda: ask_and_drop(study)

    return prepare


def make_prepare(method: str, data: list[tuple[dict[str, Any], float]], seed: int) -> Prepare:
    """Untimed set-up for one suggestion of ``method`` on ``data``."""
    if method == "sagetune-bayesian":
        return _sagetune(data, seed)
    if method.startswith("optuna-"):
        return _optuna(data, seed, method.removeprefix("optuna-"))
    raise ValueError(f"unknown method {method!r}")


def measure(prepare: Prepare, repeats: int) -> dict[str, Any]:
    """Wall and CPU time of ``repeats`` suggestions, each after its own untimed set-up."""
    walls, cpus = [], []
    for _ in range(repeats):
        call = prepare()
        w0, c0 = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return {
        "median_ms": statistics.median(walls) * 1e3,
        "median_cpu_ms": statistics.median(cpus) * 1e3,
        "min_ms": min(walls) * 1e3,
        "max_ms": max(walls) * 1e3,
        "wall_ms": [w * 1e3 for w in walls],
    }


def print_table(rows: list[dict[str, Any]], methods: Sequence[str]) -> str:
    """Print one row per size, one column group per method; return the Markdown."""
    header = ["observations"]
    for m in methods:
        header += [f"{m} median ms", f"{m} CPU ms"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---:"] * len(header)) + "|"]
    plain = [header]
    for r in rows:
        cells = [str(r["n"])]
        for m in methods:
            t = r[m]
            cells += [f"{t['median_ms']:.0f}", f"{t['median_cpu_ms']:.0f}"]
        plain.append(cells)
        lines.append("| " + " | ".join(cells) + " |")
    widths = [max(len(row[i]) for row in plain) for i in range(len(header))]
    for row in plain:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every method at every size, print the table and write JSON and Markdown."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.overhead",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--sizes", default="50,200,500,1000", help="observation counts (default 50,200,500,1000)"
    )
    ap.add_argument("--repeats", type=int, default=9, help="timed suggestions per size")
    ap.add_argument(
        "--methods", default=",".join(METHODS), help=f"comma-separated, from {', '.join(METHODS)}"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            ap.error(f"unknown method {m!r}")

    env = environment()
    # One untimed suggestion per method first, so that imports and first-call set-up (torch,
    # scipy) are not charged to the first size measured.
    warm = observations(max(12, min(sizes)), args.seed)
    for m in methods:
        make_prepare(m, warm, args.seed)()()

    rows: list[dict[str, Any]] = []
    for n in sizes:
        data = observations(n, args.seed)
        row: dict[str, Any] = {"n": n}
        for m in methods:  # same data, measured one after the other
            row[m] = measure(make_prepare(m, data, args.seed), args.repeats)
        rows.append(row)
    md = print_table(rows, methods)
    if "sagetune-bayesian" in methods and "optuna-gp" in methods:
        for r in rows:
            ratio = r["sagetune-bayesian"]["median_ms"] / r["optuna-gp"]["median_ms"]
            r["bayesian_over_gpsampler"] = ratio
            print(f"n={r['n']}: sagetune Bayesian / Optuna GPSampler median = {ratio:.2f}")
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "environment": env,
                "repeats": args.repeats,
                "problem": PROBLEM.name,
                "rows": rows,
                "load_average_at_end": load_average(),
            },
            indent=1,
        )
    )
    out.with_suffix(".md").write_text(md)
    print(f"wrote {out}, {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
