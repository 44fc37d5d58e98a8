"""Overhead: time of one suggestion at a fixed number of observations (50 to 10,000).

The observations are random points of one benchmark problem's space (``--problem``, Hartmann6
by default; ``rosenbrock10`` and ``hartmann6_in20`` give the 10-D and 20-D curves) with their
values (the same points for every method). For each size, each method makes ``--repeats``
suggestions (``--large-repeats`` from 2,000 observations on), each after its own untimed
set-up, and the median is reported, both wall-clock and process CPU time (CPU time is less
disturbed when other work shares the machine, but counts every thread, so a method using two
threads may show more CPU than wall time). A method whose median suggestion takes longer than
``--cap`` seconds at one size is not run at the larger ones (the table says so), and at one
size it stops repeating once its suggestions have taken ``--cap`` seconds in all.

- ``sagetune-bayesian``: ``suggest(observations, 1)``. It keeps no state between calls, so
  every call refits its GP from scratch.
- ``optuna-gp``: ``study.ask(fixed_distributions=...)`` on a study holding the observations as
  completed trials; ``ask`` runs GPSampler's kernel fit and acquisition optimisation. As in a
  running study, the sampler has just made one suggestion on the first ``n - 1`` observations
  (untimed), so it warm-starts from those kernel parameters. Asked trials are told FAIL so they
  are not modelled as pending points.
- ``optuna-gp-cold``: the same on a fresh sampler, without cached kernel parameters.
- ``optuna-tpe``: TPESampler, for scale.
- ``ax``: Ax's default generation strategy (Sobol, then BoTorch's GP with log EI) through
  ``ax.api.Client``, the observations attached as completed trials; timed is one
  ``get_next_trials(max_trials=1)``.

Every method suggests once, untimed, before any measurement, so imports and first-call set-up
are not charged to the first size.

Usage (from the repository root)::

    PYTHONPATH=src python -m benchmarks.overhead [--sizes 50,200,500,1000] [--repeats 9]
        [--methods sagetune-bayesian,optuna-gp,optuna-gp-cold,optuna-tpe,ax]
        [--problem hartmann6] [--large-repeats 3] [--cap 120] [--plot]
        [--out benchmarks/results/overhead.json]

``--plot`` also draws the median wall and CPU times against observations, log-log, next to
the JSON (``.png``).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._env import environment, load_average
from benchmarks._methods import optuna_distributions, quiet_optuna
from benchmarks.problems import PROBLEMS, Problem
from sagetune.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    SearchSpace,
)
from sagetune.strategies import Observation, make_strategy

DEFAULT_OUT = Path("benchmarks/results/overhead.json")
METHODS = ("sagetune-bayesian", "optuna-gp", "optuna-gp-cold", "optuna-tpe", "ax")
DEFAULT_METHODS = METHODS[:4]
LARGE = 2000  # from this many observations on, --large-repeats suggestions per size

Call = Callable[[], None]
Prepare = Callable[[], Call]  # untimed set-up returning the one call to time


Data = list[tuple[dict[str, Any], float]]


def observations(problem: Problem, n: int, seed: int = 0) -> Data:
    """``n`` uniform random points of the problem's space with their values."""
    points = problem.space.sample(np.random.default_rng(seed), n)
    return [(hp, problem.objective(hp)) for hp in points]


def _sagetune(space: SearchSpace, data: Data, seed: int) -> Prepare:
    strategy = make_strategy("Bayesian", space, seed)
    obs = [Observation(hp, "Completed", v) for hp, v in data]

    def call() -> None:
        strategy.suggest(obs, 1)

    return lambda: call


def _optuna(space: SearchSpace, data: Data, seed: int, sampler: str) -> Prepare:
    import optuna
    from optuna.trial import TrialState, create_trial

    quiet_optuna()
    dists = optuna_distributions(space)
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


def _ax_parameters(space: SearchSpace) -> list[Any]:
    """Ax parameter configurations equivalent to a sagetune space (log where Logarithmic)."""
    from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig

    out: list[Any] = []
    for name, p in space.ranges.items():
        if isinstance(p, CategoricalParameter):
            out.append(ChoiceParameterConfig(name=name, values=list(p.values), is_ordered=False))
            continue
        assert isinstance(p, (ContinuousParameter, IntegerParameter))
        kind = "int" if isinstance(p, IntegerParameter) else "float"
        cast = int if kind == "int" else float
        out.append(
            RangeParameterConfig(
                name=name,
                parameter_type=kind,
                bounds=(cast(p.min_value), cast(p.max_value)),
                scaling="log" if p.scaling == "Logarithmic" else "linear",
            )
        )
    return out


def _ax(space: SearchSpace, data: Data, seed: int) -> Prepare:
    import logging

    from ax.api.client import Client
    from ax.utils.common.logger import set_ax_logger_levels

    set_ax_logger_levels(logging.ERROR)
    parameters = _ax_parameters(space)

    def prepare() -> Call:
        client = Client(random_seed=seed)
        client.configure_experiment(parameters=parameters)
        client.configure_optimization(objective="-loss")  # "-": minimise
        for hp, v in data:
            index = client.attach_trial(parameters=hp)
            client.complete_trial(trial_index=index, raw_data={"loss": v})
        # The default strategy moves on from its initial nodes (centre, Sobol) one call at a
        # time; those untimed calls' trials are marked failed so they are not pending points.
        for _ in range(3):
            for index in client.get_next_trials(max_trials=1):
                client.mark_trial_failed(trial_index=index)
            if client._generation_strategy.current_node_name not in (
                "CenterOfSearchSpace",
                "Sobol",
            ):
                break

        def call() -> None:
            client.get_next_trials(max_trials=1)

        return call

    return prepare


def make_prepare(method: str, space: SearchSpace, data: Data, seed: int) -> Prepare:
    """Untimed set-up for one suggestion of ``method`` on ``data``."""
    if method == "sagetune-bayesian":
        return _sagetune(space, data, seed)
    if method.startswith("optuna-"):
        return _optuna(space, data, seed, method.removeprefix("optuna-"))
    if method == "ax":
        return _ax(space, data, seed)
    raise ValueError(f"unknown method {method!r}")


def measure(prepare: Prepare, repeats: int, cap: float = math.inf) -> dict[str, Any]:
    """Wall and CPU time of up to ``repeats`` suggestions, each after its own untimed set-up;
    fewer once the timed suggestions have taken ``cap`` seconds in all."""
    walls, cpus = [], []
    for _ in range(repeats):
        call = prepare()
        w0, c0 = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        if sum(walls) > cap:
            break
    return {
        "median_ms": statistics.median(walls) * 1e3,
        "median_cpu_ms": statistics.median(cpus) * 1e3,
        "min_ms": min(walls) * 1e3,
        "max_ms": max(walls) * 1e3,
        "wall_ms": [w * 1e3 for w in walls],
        "repeats": len(walls),
    }


def print_table(rows: list[dict[str, Any]], methods: Sequence[str]) -> str:
    """Print one row per size, one column group per method; return the Markdown.

    A method not run at a size (too slow at a smaller one) shows ``-`` and is footnoted.
    """
    header = ["observations"]
    for m in methods:
        header += [f"{m} median ms", f"{m} CPU ms"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---:"] * len(header)) + "|"]
    plain = [header]
    notes: dict[str, str] = {}
    for r in rows:
        cells = [str(r["n"])]
        for m in methods:
            t = r[m]
            if "skipped" in t:
                cells += ["-", "-"]
                notes.setdefault(m, t["skipped"])
            else:
                cells += [f"{t['median_ms']:.0f}", f"{t['median_cpu_ms']:.0f}"]
        plain.append(cells)
        lines.append("| " + " | ".join(cells) + " |")
    widths = [max(len(row[i]) for row in plain) for i in range(len(header))]
    for row in plain:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    for m, why in notes.items():
        print(f"{m}: {why}")
        lines.append(f"\n{m}: {why}.")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], methods: Sequence[str], title: str, path: Path) -> None:
    """Median wall and CPU time per suggestion against observations, log-log, per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for m in methods:
        done = [r for r in rows if "median_ms" in r[m]]
        if not done:
            continue
        n = [r["n"] for r in done]
        (line,) = ax.plot(n, [r[m]["median_ms"] / 1e3 for r in done], marker="o", label=m)
        # CPU time beside wall time: on a shared machine the wall time also counts waiting.
        cpu = [r[m]["median_cpu_ms"] / 1e3 for r in done]
        ax.plot(n, cpu, linestyle="--", linewidth=1, color=line.get_color(), label=f"{m}, CPU")
    ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("observations")
    ax.set_ylabel("median seconds per suggestion")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
        "--large-repeats",
        type=int,
        default=3,
        help=f"timed suggestions per size from {LARGE} observations on",
    )
    ap.add_argument(
        "--cap",
        type=float,
        default=120.0,
        help="seconds: a method slower than this (median) is not run at larger sizes",
    )
    ap.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help=f"comma-separated, from {', '.join(METHODS)}",
    )
    ap.add_argument("--problem", default="hartmann6", choices=sorted(PROBLEMS))
    ap.add_argument("--plot", action="store_true", help="also write a log-log PNG")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            ap.error(f"unknown method {m!r}")
    problem = PROBLEMS[args.problem]

    env = environment()
    # One untimed suggestion per method first, so that imports and first-call set-up (torch,
    # scipy) are not charged to the first size measured.
    warm = observations(problem, max(12, min(sizes)), args.seed)
    for m in methods:
        make_prepare(m, problem.space, warm, args.seed)()()

    rows: list[dict[str, Any]] = []
    too_slow: dict[str, str] = {}
    for n in sizes:
        data = observations(problem, n, args.seed)
        row: dict[str, Any] = {"n": n}
        repeats = args.large_repeats if n >= LARGE else args.repeats
        for m in methods:  # same data, measured one after the other
            if m in too_slow:
                row[m] = {"skipped": too_slow[m]}
                continue
            t = measure(make_prepare(m, problem.space, data, args.seed), repeats, args.cap)
            row[m] = t
            print(f"n={n} {m}: {t['median_ms']:.0f} ms ({t['repeats']} runs)", flush=True)
            if t["median_ms"] > args.cap * 1e3:
                too_slow[m] = (
                    f"not run past {n} observations "
                    f"({t['median_ms'] / 1e3:.0f} s per suggestion, over the {args.cap:g} s cap)"
                )
        rows.append(row)
    md = print_table(rows, methods)
    if "sagetune-bayesian" in methods and "optuna-gp" in methods:
        for r in rows:
            if "median_ms" not in r["optuna-gp"]:
                continue
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
                "large_repeats": args.large_repeats,
                "cap_seconds": args.cap,
                "problem": problem.name,
                "rows": rows,
                "load_average_at_end": load_average(),
            },
            indent=1,
        )
    )
    out.with_suffix(".md").write_text(md)
    print(f"wrote {out}, {out.with_suffix('.md')}")
    if args.plot:
        title = f"one suggestion on {problem.name} ({len(problem.space)}-D)"
        plot(rows, methods, title, out.with_suffix(".png"))
        print(f"wrote {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
