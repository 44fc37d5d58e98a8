"""Quality of search: best value found within a budget of sequential training jobs.

Every method runs on every problem and seed in the same process, one job at a time (ask,
evaluate, tell), so all see the same machine load. Seeds are interleaved: for each seed every
method runs before the next seed starts. Recorded per run: each job's hyperparameters and
value, the best value so far after each job, and the seconds spent choosing each suggestion.

Usage (from the repository root)::

    PYTHONPATH=src python -m benchmarks.quality \\
        [--problems branin,hartmann6,xgb_breast_cancer_auc] [--seeds 8] [--budget 40] \\
        [--methods sagetune-bayesian,sagetune-random,optuna-tpe,optuna-gp] \\
        [--out benchmarks/results/quality.json]

A problem may cap its seeds (the XGBoost one runs 5) unless ``--full-seeds`` is given.
Writes the raw JSON, a Markdown copy of the tables (``.md`` beside it) and a PNG of mean
best-so-far against jobs (``.png`` beside it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

from benchmarks._env import environment, load_average
from benchmarks._methods import DEFAULT_METHODS, METHODS, make_method
from benchmarks.problems import PROBLEMS, Problem

DEFAULT_OUT = Path("benchmarks/results/quality.json")
MODEL_PHASE = 10


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def run_one(problem: Problem, method: str, seed: int, budget: int) -> dict[str, Any]:
    """One seeded run of ``budget`` sequential jobs of ``method`` on ``problem``."""
    opt = make_method(method, problem.space, seed)
    hps: list[dict[str, Any]] = []
    values: list[float] = []
    best: list[float] = []
    seconds: list[float] = []
    for _ in range(budget):
        hp, elapsed = opt.ask()
        value = float(problem.objective(hp))
        opt.tell(hp, value)
        hps.append({k: _jsonable(v) for k, v in hp.items()})
        values.append(value)
        best.append(min(value, best[-1]) if best else value)
        seconds.append(elapsed)
    return {"seed": seed, "hyperparameters": hps, "values": values, "best_so_far": best,
            "suggest_seconds": seconds}


def summarise(problem: Problem, runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per-method statistics of one problem's runs (ranks are among methods, per seed)."""
    methods = list(runs)
    finals = np.array([[r["best_so_far"][-1] for r in runs[m]] for m in methods])  # (m, seeds)
    # Rank per seed among methods (1 = best, ties share the average rank), then average.
    ranks = np.apply_along_axis(rankdata, 0, finals) if len(methods) > 1 else np.ones_like(finals)
    rows = []
    for i, m in enumerate(methods):
        f = finals[i]
        n = len(f)
        secs = np.concatenate([r["suggest_seconds"] for r in runs[m]])
        # Past the first MODEL_PHASE jobs every method is model-based (initial designs and
        # Optuna's startup trials are at most 10 long), so this median is the model's cost.
        late = np.concatenate([r["suggest_seconds"][MODEL_PHASE:] for r in runs[m]])
        row: dict[str, Any] = {
            "method": m,
            "seeds": n,
            "mean_best": float(f.mean()),
            "se_best": float(f.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
            "mean_rank": float(ranks[i].mean()),
            "median_suggest_ms": float(np.median(secs) * 1e3),
            "median_model_suggest_ms": float(np.median(late) * 1e3) if late.size else math.nan,
            "max_suggest_ms": float(secs.max() * 1e3),
            "suggest_seconds_per_run": float(secs.sum() / n),
        }
        if problem.optimum is not None:
            regret = f - problem.optimum
            row["mean_regret"] = float(regret.mean())
            row["median_regret"] = float(np.median(regret))
        rows.append(row)
    return rows


def _fmt(x: float, digits: int = 4) -> str:
    if math.isnan(x):
        return "-"
    if x != 0 and abs(x) < 10 ** -(digits - 1):
        return f"{x:.2e}"
    return f"{x:.{digits}f}"


def _ms(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.1f}"


def table_rows(problem: Problem, rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells of one problem's table."""
    header = ["method", "seeds", "mean best", "SE", "mean rank"]
    if problem.optimum is not None:
        header += ["mean regret", "median regret"]
    header += ["median ms", f"median ms, jobs {MODEL_PHASE + 1}+", "suggest s/run"]
    cells = []
    for r in rows:
        c = [r["method"], str(r["seeds"]), _fmt(r["mean_best"], 5), _fmt(r["se_best"], 4),
             f"{r['mean_rank']:.2f}"]
        if problem.optimum is not None:
            c += [_fmt(r["mean_regret"], 4), _fmt(r["median_regret"], 4)]
        c += [_ms(r["median_suggest_ms"]), _ms(r["median_model_suggest_ms"]),
              f"{r['suggest_seconds_per_run']:.2f}"]
        cells.append(c)
    return header, cells


def title(problem: Problem, budget: int) -> str:
    """A table's caption: problem, budget and optimum when known."""
    opt = f", optimum {problem.optimum}" if problem.optimum is not None else ""
    return f"{problem.name} ({budget} jobs{opt})"


def print_table(problem: Problem, budget: int, rows: list[dict[str, Any]]) -> None:
    """The table on the terminal (rich when available, plain text otherwise)."""
    header, cells = table_rows(problem, rows)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(title(problem, budget))
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
        for line in [header, *cells]:
            print("  ".join(s.rjust(w) for s, w in zip(line, widths)))
        return
    table = Table(title=title(problem, budget))
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i == 0 else "right")
    for c in cells:
        table.add_row(*c)
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # redirected output: never squeeze the columns
    console.print(table)


def markdown(problem: Problem, budget: int, rows: list[dict[str, Any]]) -> str:
    """One problem's table as Markdown."""
    header, cells = table_rows(problem, rows)
    lines = [f"**{title(problem, budget)}**", "",
             "| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(c) + " |" for c in cells]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """Mean best-so-far against jobs, one panel per problem, shaded +- one standard error.

    Problems with a known optimum are drawn as mean best minus the optimum on a log axis, so
    the approach to the optimum stays visible.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    names = list(results["problems"])
    fig, axes = plt.subplots(1, len(names), figsize=(5.2 * len(names), 4.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        pr = results["problems"][name]
        optimum = pr["optimum"]
        early_means = []
        for method, runs in pr["runs"].items():
            curves = np.array([r["best_so_far"] for r in runs])
            mean = curves.mean(axis=0)
            se = curves.std(axis=0, ddof=1) / math.sqrt(len(curves)) if len(curves) > 1 else 0
            jobs = np.arange(1, curves.shape[1] + 1)
            shift = optimum if optimum is not None else 0.0
            ax.plot(jobs, mean - shift, label=method)
            early_means.append(mean[min(4, len(mean) - 1)])
            lo = np.maximum(mean - se - shift, 1e-12) if optimum is not None else mean - se
            ax.fill_between(jobs, lo, mean + se - shift, alpha=0.15)
        if optimum is not None:
            ax.set_yscale("log")
            ax.set_ylabel(f"mean best-so-far - optimum ({optimum})")
        else:
            ax.set_ylabel("mean best-so-far (minimised)")
            # The first jobs are far off on an unknown scale; keep the later differences visible.
            ax.set_ylim(top=max(early_means))
        ax.set_xlabel("training jobs")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{name} ({len(next(iter(pr['runs'].values())))} seeds)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _split(arg: str) -> list[str]:
    return [s.strip() for s in arg.split(",") if s.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options, with problem and method names checked."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", default=",".join(PROBLEMS),
                    help=f"comma-separated, from {', '.join(PROBLEMS)}")
    ap.add_argument("--seeds", type=int, default=8, help="seeds 0..N-1 (default 8)")
    ap.add_argument("--full-seeds", action="store_true",
                    help="run --seeds on every problem, ignoring a problem's own cap")
    ap.add_argument("--budget", type=int, default=40, help="training jobs per run (default 40)")
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                    help=f"comma-separated, from {', '.join(METHODS)}")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="raw results (JSON)")
    args = ap.parse_args(argv)
    args.problems = _split(args.problems)
    args.methods = _split(args.methods)
    for p in args.problems:
        if p not in PROBLEMS:
            ap.error(f"unknown problem {p!r}")
    for m in args.methods:
        if m not in METHODS:
            ap.error(f"unknown method {m!r}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the tables and write the JSON, Markdown and PNG files."""
    args = parse_args(argv)
    started = time.time()
    results: dict[str, Any] = {
        "config": {"problems": args.problems, "methods": args.methods, "seeds": args.seeds,
                   "full_seeds": args.full_seeds, "budget": args.budget},
        "environment": environment(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "problems": {},
    }
    md_parts: list[str] = []
    for name in args.problems:
        problem = PROBLEMS[name]
        n_seeds = args.seeds
        if problem.default_seeds is not None and not args.full_seeds:
            n_seeds = min(n_seeds, problem.default_seeds)
        runs: dict[str, list[dict[str, Any]]] = {m: [] for m in args.methods}
        t0 = time.time()
        for seed in range(n_seeds):
            for m in args.methods:
                run = run_one(problem, m, seed, args.budget)
                runs[m].append(run)
                print(f"  {name} seed {seed} {m}: best {run['best_so_far'][-1]:.6g}, "
                      f"suggest {sum(run['suggest_seconds']):.2f} s", file=sys.stderr, flush=True)
        rows = summarise(problem, runs)
        results["problems"][name] = {"optimum": problem.optimum, "seeds": n_seeds,
                                     "wall_seconds": time.time() - t0,
                                     "summary": rows, "runs": runs}
        print_table(problem, args.budget, rows)
        md_parts.append(markdown(problem, args.budget, rows))
    results["wall_seconds"] = time.time() - started
    results["load_average_at_end"] = load_average()

    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    out.with_suffix(".md").write_text("\n".join(md_parts))
    plot(results, out.with_suffix(".png"))
    print(f"wrote {out}, {out.with_suffix('.md')}, {out.with_suffix('.png')} "
          f"({results['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
