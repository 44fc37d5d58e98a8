"""Quality and suggestion time at thousands of jobs, on noisy 10-D and 20-D problems.

A cluster may run thousands of training jobs in one tuning job; there the Bayesian strategy
models a local subset of the observations (``sagetune.strategies.large``). This benchmark runs
each method for the largest budget and scores every smaller budget on the same run's prefix
(2,000 jobs are the first 2,000 of a 5,000-job run), with :func:`benchmarks.quality.run_one`:
noisy values are told, and a run is scored by the TRUE value of the configuration with the
best observed value (what a user would deploy), minus the optimum (regret).

Problems (from the functions in ``benchmarks.problems``, with Gaussian noise on every value):

- ``noisy_ackley10``: Ackley on ``[-32.768, 32.768]^10``, noise SD 0.5 (optimum 0);
- ``noisy_ackley10_off``: the same on ``[-20, 45.536]^10``, a box of the same width moved off
  the origin, since the centre of the box is the Bayesian strategy's first job (and Ackley's
  optimum on the centred box);
- ``noisy_rosenbrock10``: Rosenbrock on ``[-5, 10]^10``, noise SD 10 (optimum 0);
- ``noisy_hartmann6_in20``: Hartmann6 on six of twenty ``[0, 1]`` ranges, noise SD 0.1
  (optimum -3.32237).

The suggestion time reported at a budget ``b`` is the median over the suggestions for jobs
``0.9 b`` to ``b`` (wall clock; CPU time is less disturbed by other work on the machine).

Usage (from the repository root)::

    PYTHONPATH=src python -m benchmarks.large_budget [--problems noisy_ackley10,...]
        [--budgets 2000,5000] [--seeds 3] [--parallel 1] [--workers 1]
        [--methods sagetune-bayesian,optuna-tpe,sagetune-random]
        [--out benchmarks/results/large_budget.json] [--plot regret.png]
    PYTHONPATH=src python -m benchmarks.large_budget --from a.json,b.json [--plot regret.png]

``--parallel q`` keeps ``q`` jobs running (the pending ones passed as InProgress). ``--workers``
runs that many runs side by side (the regrets are identical, the times are not comparable with
one worker). Results are written after every run, so an interrupted benchmark keeps what it
finished.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._env import environment, load_average
from benchmarks._methods import METHODS
from benchmarks._stats import standard_error
from benchmarks.problems import Problem, _box, ackley, hartmann6_in20, rosenbrock
from benchmarks.quality import run_one

DEFAULT_OUT = Path("benchmarks/results/large_budget.json")
DEFAULT_METHODS = ("sagetune-bayesian", "optuna-tpe", "sagetune-random")
WINDOW = 0.1  # suggestion times are the median over the last tenth of the jobs before a budget

LARGE_PROBLEMS: dict[str, Problem] = {
    "noisy_ackley10": Problem(
        "noisy_ackley10",
        ackley,
        _box([f"x{i}" for i in range(10)], -32.768, 32.768),
        optimum=0.0,
        noise_sd=0.5,
    ),
    "noisy_ackley10_off": Problem(
        "noisy_ackley10_off",
        ackley,
        _box([f"x{i}" for i in range(10)], -20.0, 45.536),
        optimum=0.0,
        noise_sd=0.5,
    ),
    "noisy_rosenbrock10": Problem(
        "noisy_rosenbrock10",
        rosenbrock,
        _box([f"x{i}" for i in range(10)], -5.0, 10.0),
        optimum=0.0,
        noise_sd=10.0,
    ),
    "noisy_hartmann6_in20": Problem(
        "noisy_hartmann6_in20",
        hartmann6_in20,
        _box([f"x{i}" for i in range(20)], 0.0, 1.0),
        optimum=-3.32237,
        noise_sd=0.1,
    ),
}


def scored(run: dict[str, Any], problem: Problem, budgets: Sequence[int]) -> dict[str, Any]:
    """What is kept of one run: regret and median suggestion time at each budget."""
    best = run["best_so_far"]
    secs = np.asarray(run["suggest_seconds"])
    per_job = len(secs) / len(best)  # fewer asks than jobs when batches are asked
    out: dict[str, Any] = {"seed": run["seed"], "budgets": {}}
    for b in budgets:
        lo, hi = int(per_job * b * (1 - WINDOW)), max(1, int(per_job * b))
        out["budgets"][str(b)] = {
            "regret": float(best[b - 1]) - float(problem.optimum or 0.0),
            "median_suggest_ms": float(np.median(secs[lo:hi]) * 1e3),
        }
    out["suggest_seconds_total"] = float(secs.sum())
    return out


def _task(name: str, method: str, seed: int, budgets: list[int]) -> dict[str, Any]:
    """One run to the largest budget, scored at every budget (a process pool's unit)."""
    problem = LARGE_PROBLEMS[name]
    t0 = time.perf_counter()
    kept = scored(run_one(problem, method, seed, budgets[-1]), problem, budgets)
    kept["wall_seconds"] = time.perf_counter() - t0
    kept["load_average"] = load_average()
    return kept


def summarise(runs: list[dict[str, Any]], budget: int) -> dict[str, float]:
    """Mean, SE, median and worst regret and the median suggestion time over seeds."""
    reg = np.array([r["budgets"][str(budget)]["regret"] for r in runs])
    ms = np.array([r["budgets"][str(budget)]["median_suggest_ms"] for r in runs])
    return {
        "seeds": len(reg),
        "mean_regret": float(reg.mean()),
        "se_regret": standard_error(reg),
        "median_regret": float(np.median(reg)),
        "worst_regret": float(reg.max()),
        "median_suggest_ms": float(np.median(ms)),
    }


def _budgets(prob: dict[str, Any]) -> list[int]:
    """The budgets a problem's runs were scored at (results merged from several files may
    differ from problem to problem)."""
    return sorted({int(b) for runs in prob["runs"].values() for r in runs for b in r["budgets"]})


def markdown(results: dict[str, Any]) -> str:
    """One table: a row per problem, budget and method."""
    lines = [
        "| problem | jobs | method | seeds | mean regret | SE | median | worst | median ms |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, prob in results["problems"].items():
        for b in _budgets(prob):
            for m, runs in prob["runs"].items():
                if not runs:
                    continue
                s = summarise(runs, b)
                lines.append(
                    f"| {name} | {b} | {m} | {s['seeds']} | {s['mean_regret']:.4g} | "
                    f"{s['se_regret']:.2g} | {s['median_regret']:.4g} | "
                    f"{s['worst_regret']:.4g} | {s['median_suggest_ms']:.0f} |"
                )
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """Regret against jobs, one panel per problem: each method's mean over seeds at the scored
    budgets (a line) and every seed's regret (small markers), on a log axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["problems"])
    fig, axes = plt.subplots(1, len(names), figsize=(5.6 * len(names), 4.3), squeeze=False)
    for ax, name in zip(axes.flat, names):
        prob = results["problems"][name]
        budgets = _budgets(prob)
        for i, (m, runs) in enumerate(prob["runs"].items()):
            if not runs:
                continue
            reg = np.array([[r["budgets"][str(b)]["regret"] for b in budgets] for r in runs])
            # A run can end exactly at the optimum; keep it on the log axis.
            reg = np.maximum(reg, 1e-6)
            colour = f"C{i % 10}"
            ax.plot(budgets, reg.mean(0), marker="o", color=colour, label=f"{m} (mean)")
            for row in reg:
                ax.plot(budgets, row, linestyle="none", marker=".", color=colour, alpha=0.6)
        ax.set_yscale("log")
        ax.set_xlabel("training jobs")
        ax.set_ylabel("regret of the best observed configuration")
        seeds = max(len(runs) for runs in prob["runs"].values())
        ax.set_title(f"{name} ({seeds} seeds; dots: single seeds)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def merged(paths: Sequence[Path]) -> dict[str, Any]:
    """Results of several runs of this benchmark as one (problems side by side)."""
    out: dict[str, Any] = {"problems": {}}
    for p in paths:
        data = json.loads(p.read_text())
        for name, prob in data["problems"].items():
            runs = out["problems"].setdefault(name, {"runs": {}})["runs"]
            for m, rs in prob["runs"].items():
                runs.setdefault(m, []).extend(rs)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run every problem, method and seed; write the JSON and Markdown after each run."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.large_budget",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--problems", default="noisy_ackley10,noisy_hartmann6_in20")
    ap.add_argument("--budgets", default="2000,5000", help="job counts scored (one run each)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--parallel", type=int, default=1, help="jobs running at once")
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    ap.add_argument("--workers", type=int, default=1, help="runs side by side (processes)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--plot", type=Path, help="also draw regret against jobs to this PNG")
    ap.add_argument(
        "--from",
        dest="from_",
        help="no runs: the table (and --plot) from these results files, comma-separated",
    )
    args = ap.parse_args(argv)
    if args.from_:
        results = merged([Path(p) for p in args.from_.split(",") if p.strip()])
        print(markdown(results))
        if args.plot:
            plot(results, args.plot)
            print(f"wrote {args.plot}")
        return 0
    names = [p.strip() for p in args.problems.split(",") if p.strip()]
    for p in names:
        if p not in LARGE_PROBLEMS:
            ap.error(f"--problems: unknown problem {p!r}; choose from {', '.join(LARGE_PROBLEMS)}")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            ap.error(f"--methods: unknown method {m!r}; choose from {', '.join(METHODS)}")
    budgets = sorted(int(b) for b in args.budgets.split(",") if b.strip())
    if not budgets or budgets[0] < 1:
        ap.error("--budgets: give positive job counts, e.g. 2000,5000")
    if args.parallel < 1:
        ap.error("--parallel: at least 1 job must run at once")

    suffix = f"@{args.parallel}" if args.parallel > 1 else ""
    results: dict[str, Any] = {
        "environment": environment(),
        "budgets": budgets,
        "parallel": args.parallel,
        "problems": {n: {"runs": {m + suffix: [] for m in methods}} for n in names},
    }
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    # Method-major: with several workers the slowest method's runs start first.
    tasks = [
        (name, m + suffix, seed, budgets)
        for name in names
        for m in methods
        for seed in range(args.first_seed, args.first_seed + args.seeds)
    ]

    def record(task: tuple[str, str, int, list[int]], kept: dict[str, Any]) -> None:
        name, method, seed, _ = task
        results["problems"][name]["runs"][method].append(kept)
        last = kept["budgets"][str(budgets[-1])]
        print(
            f"{name} {method} seed {seed}: regret {last['regret']:.4g} at {budgets[-1]} jobs, "
            f"{kept['wall_seconds']:.0f} s, load {kept['load_average']}",
            flush=True,
        )
        out.write_text(json.dumps(results, indent=1))
        out.with_suffix(".md").write_text(markdown(results))

    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            futures = {pool.submit(_task, *t): t for t in tasks}
            for fut in as_completed(futures):
                record(futures[fut], fut.result())
    else:
        for t in tasks:
            record(t, _task(*t))
    print(markdown(results))
    print(f"wrote {out}, {out.with_suffix('.md')}")
    if args.plot:
        plot(results, args.plot)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
