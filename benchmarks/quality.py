"""Quality of search: best value found within a budget of training jobs.

Every method runs on every problem and seed, one job at a time (ask, evaluate, tell), or, for
``sagetune-bayesian@4``, ``optuna-gp@8`` and the like, with that many jobs running at once.
Recorded per run: each job's hyperparameters and value, the best value so far after each job,
and the seconds spent choosing each suggestion. With ``--workers 2`` runs go to two processes
side by side: the best values are identical, the suggestion times are not comparable.

Usage (from the repository root)::

    PYTHONPATH=src python -m benchmarks.quality \\
        [--problems branin,hartmann6,...] [--seeds 20] [--budget 40] \\
        [--methods sagetune-bayesian,sagetune-random,optuna-tpe,optuna-gp,...,optuna-gp@8] \\
        [--workers 1] [--out benchmarks/results/quality.json] \\
        [--reuse OLD.json [--reuse-methods optuna-tpe,optuna-gp,optuna-gp@4,...]]

The defaults are the standard set: every problem, 20 seeds, 40 jobs, the four methods plus
``sagetune-bayesian@4``, ``sagetune-bayesian@8``, ``optuna-gp@4`` and ``optuna-gp@8``. A
problem may cap its seeds unless ``--full-seeds`` is given. ``--reuse`` copies the runs of the
listed methods from an earlier results file instead of running them again (the Optuna samplers
by default: their seeded runs do not depend on sagetune's code), which saves most of the time
while iterating on a strategy.
Each finished run is appended at once to ``OUT.runs.jsonl`` (one JSON object a line: problem,
method, seed, budget, run), so a run cut short still leaves every finished run; ``--reuse``
takes such a file as well as a results JSON (``--reuse OUT.runs.jsonl --reuse-methods all``
resumes it; adding ``--reuse-only`` tabulates what finished, running nothing).
Runs go seed by seed (every problem and method for seed 0, then seed 1, ...), so a cut-short
file holds whole seeds; ``--by-problem`` runs every seed of a problem before the next one
instead, so it holds whole problems.
Methods run with the same number of jobs running (``sagetune-bayesian@8``, ``optuna-gp@8``,
``ax@8``, ``smac@8``) get a table of their own, side by side: mean best and worst seed, the
mean rank per seed among them, and sagetune's difference to the best of the others.
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
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

from benchmarks._env import environment, load_average
from benchmarks._methods import DEFAULT_METHODS, METHODS, make_method
from benchmarks._stats import standard_error
from benchmarks.problems import PROBLEMS, Problem

DEFAULT_OUT = Path("benchmarks/results/quality.json")
MODEL_PHASE = 10


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _parallel(method: str) -> tuple[str, int]:
    """``name@q`` -> (name, q); plain names run one job at a time (q = 1)."""
    name, _, q = method.partition("@")
    return name, int(q) if q else 1


def run_one(problem: Problem, method: str, seed: int, budget: int) -> dict[str, Any]:
    """One seeded run of ``budget`` jobs of ``method`` on ``problem``.

    ``method@q`` keeps ``q`` jobs running: whenever a job finishes (the oldest first, as with
    equal durations) the free slot is filled by a suggestion that sees the still-running jobs
    (as ``InProgress`` observations, as the tuner passes them; Optuna's as RUNNING trials).

    On a noisy problem the methods are told noisy values (a seeded stream per seed and job,
    the same for every method), and ``best_so_far`` is the noiseless value of the
    configuration with the best value observed so far: the one a user would pick.
    """
    name, q = _parallel(method)
    opt = make_method(name, problem.space, seed, budget)
    hps: list[dict[str, Any]] = []
    values: list[float] = []
    best: list[float] = []
    seconds: list[float] = []
    best_seen = math.inf
    best_true = math.inf

    def finish(hp: dict[str, Any]) -> None:
        nonlocal best_seen, best_true
        true = float(problem.objective(hp))
        value = true
        if problem.noise_sd:
            noise = np.random.default_rng([seed, len(values), 11]).standard_normal()
            value = true + problem.noise_sd * float(noise)
        opt.tell(hp, value)
        hps.append({k: _jsonable(v) for k, v in hp.items()})
        values.append(value)
        if value < best_seen:
            best_seen, best_true = value, true
        best.append(best_true)

    if q == 1:
        for _ in range(budget):
            hp, elapsed = opt.ask()
            seconds.append(elapsed)
            finish(hp)
    else:
        running: list[dict[str, Any]] = []
        started = 0
        while len(values) < budget:
            free = min(q - len(running), budget - started)
            if free > 0:
                batch, elapsed = opt.ask_batch(running, free)
                seconds.append(elapsed)
                running += batch
                started += len(batch)
            finish(running.pop(0))
    return {
        "seed": seed,
        "hyperparameters": hps,
        "values": values,
        "best_so_far": best,
        "suggest_seconds": seconds,
    }


def summarise(problem: Problem, runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per-method statistics of one problem's runs (ranks are among methods, per seed)."""
    methods = list(runs)
    finals = np.array([[r["best_so_far"][-1] for r in runs[m]] for m in methods])  # (m, seeds)
    # Rank per seed among the one-at-a-time methods (1 = best, ties share the average rank),
    # then average; a parallel variant is ranked against those as if it replaced its base.
    seq = [i for i, m in enumerate(methods) if "@" not in m]
    ranks = np.full(finals.shape, np.nan)
    if len(seq) > 1:
        ranks[seq] = np.apply_along_axis(rankdata, 0, finals[seq])
    elif seq:
        ranks[seq] = 1.0
    for i, m in enumerate(methods):
        base = _parallel(m)[0]
        if "@" in m and base in methods:
            others = [j for j in seq if methods[j] != base]
            ranks[i] = [
                rankdata(np.append(finals[others, s], finals[i, s]))[-1]
                for s in range(finals.shape[1])
            ]
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
            "se_best": standard_error(f),
            "median_best": float(np.median(f)),
            "worst_best": float(f.max()),
            "mean_rank": float(np.mean(ranks[i])),
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
    header = ["method", "seeds", "mean best", "SE", "median", "worst seed", "mean rank"]
    if problem.optimum is not None:
        header += ["mean regret", "median regret"]
    header += ["median ms", f"median ms, jobs {MODEL_PHASE + 1}+", "suggest s/run"]
    cells = []
    for r in rows:
        c = [
            r["method"],
            str(r["seeds"]),
            _fmt(r["mean_best"], 5),
            _fmt(r["se_best"], 4),
            _fmt(r.get("median_best", math.nan), 5),
            _fmt(r.get("worst_best", math.nan), 5),
            "-" if math.isnan(r["mean_rank"]) else f"{r['mean_rank']:.2f}",
        ]
        if problem.optimum is not None:
            c += [_fmt(r["mean_regret"], 4), _fmt(r["median_regret"], 4)]
        c += [
            _ms(r["median_suggest_ms"]),
            _ms(r["median_model_suggest_ms"]),
            f"{r['suggest_seconds_per_run']:.2f}",
        ]
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
    lines = [
        f"**{title(problem, budget)}**",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
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
    # A grid of at most four panels a row; one colour per method, its parallel variants in
    # the same colour with their own dash pattern, so sixteen curves stay readable.
    ncols = min(4, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.2 * nrows), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    bases = list(
        dict.fromkeys(_parallel(m)[0] for pr in results["problems"].values() for m in pr["runs"])
    )
    colours = {b: f"C{i % 10}" for i, b in enumerate(bases)}
    dashes = {1: "-", 4: "--", 8: ":"}
    for ax, name in zip(axes.flat, names):
        pr = results["problems"][name]
        optimum = pr["optimum"]
        early_means = []
        for method, runs in pr["runs"].items():
            base, q = _parallel(method)
            curves = np.array([r["best_so_far"] for r in runs])
            mean = curves.mean(axis=0)
            se = curves.std(axis=0, ddof=1) / math.sqrt(len(curves)) if len(curves) > 1 else 0
            jobs = np.arange(1, curves.shape[1] + 1)
            shift = optimum if optimum is not None else 0.0
            ax.plot(
                jobs, mean - shift, label=method, color=colours[base], linestyle=dashes.get(q, "-.")
            )
            early_means.append(mean[min(4, len(mean) - 1)])
            lo = np.maximum(mean - se - shift, 1e-12) if optimum is not None else mean - se
            ax.fill_between(jobs, lo, mean + se - shift, alpha=0.1, color=colours[base])
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
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _task(name: str, method: str, seed: int, budget: int) -> dict[str, Any]:
    return run_one(PROBLEMS[name], method, seed, budget)


def _report(name: str, method: str, seed: int, run: dict[str, Any]) -> dict[str, Any]:
    print(
        f"  {name} seed {seed} {method}: best {run['best_so_far'][-1]:.6g}, "
        f"suggest {sum(run['suggest_seconds']):.2f} s",
        file=sys.stderr,
        flush=True,
    )
    return run


def _finals(pr: dict[str, Any], method: str, at: int = -1) -> np.ndarray:
    """Each seed's best value of ``method`` after job ``at`` (default: the last)."""
    return np.array([r["best_so_far"][at] for r in pr["runs"][method]])


def overall_summary(problems: dict[str, Any], methods: list[str]) -> list[dict[str, Any]]:
    """Per method, across problems: mean of the per-problem mean ranks, and per problem the
    gap to ``optuna-gp`` in mean best and its standard error (paired by seed)."""
    rows = []
    for m in methods:
        row: dict[str, Any] = {"method": m, "problems": {}}
        ranks = []
        for name, pr in problems.items():
            summ = {r["method"]: r for r in pr["summary"]}
            ranks.append(summ[m]["mean_rank"])
            cell: dict[str, Any] = {
                "mean_best": summ[m]["mean_best"],
                "se_best": summ[m]["se_best"],
            }
            if "optuna-gp" in pr["runs"] and m != "optuna-gp":
                diff = _finals(pr, m) - _finals(pr, "optuna-gp")
                cell["minus_gp"] = float(diff.mean())
                cell["minus_gp_se"] = standard_error(diff)
            row["problems"][name] = cell
        row["mean_rank"] = float(np.mean(ranks))
        rows.append(row)
    return rows


def overall_markdown(rows: list[dict[str, Any]], budget: int) -> str:
    """The across-problem table: mean best per problem and method, and the mean rank."""
    names = list(rows[0]["problems"]) if rows else []
    caption = (
        f"**All problems ({budget} jobs): mean best (SE); last row, mean rank averaged "
        "over problems**"
    )
    lines = [
        caption,
        "",
        "| problem | " + " | ".join(r["method"] for r in rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]
    for n in names:
        cells = [
            f"{_fmt(r['problems'][n]['mean_best'], 5)} ({_fmt(r['problems'][n]['se_best'], 3)})"
            for r in rows
        ]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append(
        "| **mean rank** | "
        + " | ".join("-" if math.isnan(r["mean_rank"]) else f"{r['mean_rank']:.2f}" for r in rows)
        + " |"
    )
    return "\n".join(lines) + "\n"


def _paired_row(name: str, method: str, a: np.ndarray, b: np.ndarray) -> tuple[str, float, float]:
    """The table row start shared by the parallel tables (means of ``a`` and ``b``, their
    paired difference and its SE), with the difference's mean and SE for further cells."""
    diff = a - b
    mean, se = float(diff.mean()), standard_error(diff)
    return (
        f"| {name} | {method} | {_fmt(float(a.mean()), 5)} | {_fmt(float(b.mean()), 5)} | "
        f"{_fmt(mean, 3)} | {_fmt(se, 3)} |",
        mean,
        se,
    )


def parallel_markdown(problems: dict[str, Any], methods: list[str]) -> str:
    """Parallel variants against their one-at-a-time base: mean best, the paired difference
    (parallel - sequential, by seed) and its standard error; "within noise" when the
    difference is at most two standard errors (or better than sequential)."""
    pairs = [(m, _parallel(m)[0]) for m in methods if "@" in m and _parallel(m)[0] in methods]
    if not pairs:
        return ""
    lines = [
        (
            "**Parallel runs: best after all jobs, against the same method one job at a "
            "time (paired by seed); last column, the jobs one at a time needs to do as well "
            "in mean**"
        ),
        "",
        (
            "| problem | method | mean best | sequential mean best | difference | SE of "
            "difference | within noise | as good as one at a time after |"
        ),
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for name, pr in problems.items():
        for m, base in pairs:
            a = _finals(pr, m)
            row, mean, se = _paired_row(name, m, a, _finals(pr, base))
            ok = "yes" if mean <= 2 * se else "no"
            # What the parallel run's wall time bought, in one-at-a-time jobs.
            curve = np.mean([r["best_so_far"] for r in pr["runs"][base]], axis=0)
            reached = np.flatnonzero(curve <= a.mean())
            jobs = str(reached[0] + 1) if reached.size else f"> {len(curve)}"
            lines.append(f"{row} {ok} | {jobs} |")
    # The lag alone: with q running, the last job is chosen knowing all but q results, so the
    # one-at-a-time run after budget - q + 1 jobs had as much information and one decision
    # more. A parallel run behind that is losing to its batches, not only to the lag.
    lines += [
        "",
        (
            "**Parallel runs against the one-at-a-time run with the same information "
            "(its best after budget − q + 1 jobs, paired by seed)**"
        ),
        "",
        (
            "| problem | method | mean best | one at a time, same information | difference "
            "| SE of difference |"
        ),
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, pr in problems.items():
        for m, base in pairs:
            q = _parallel(m)[1]
            b = np.array(
                [r["best_so_far"][max(0, len(r["best_so_far"]) - q)] for r in pr["runs"][base]]
            )
            lines.append(_paired_row(name, m, _finals(pr, m), b)[0])
    # Side by side with the peer at the same number of running jobs.
    peers = [
        (m, peer)
        for m, _ in pairs
        if not m.startswith("optuna-gp@") and (peer := f"optuna-gp@{_parallel(m)[1]}") in methods
    ]
    if peers:
        lines += [
            "",
            (
                "**Parallel runs against GPSampler with as many jobs running (paired by "
                "seed; negative: sagetune better)**"
            ),
            "",
            "| problem | method | mean best | GPSampler, same jobs running | difference "
            "| SE of difference |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for name, pr in problems.items():
            for m, peer in peers:
                lines.append(_paired_row(name, m, _finals(pr, m), _finals(pr, peer))[0])
    return "\n".join(lines) + "\n"


def same_parallelism(problems: dict[str, Any], methods: list[str]) -> dict[int, dict[str, Any]]:
    """For each number of running jobs ``q`` > 1 with at least two methods at it: per problem
    and method the mean best, its SE and the worst seed, each method's per-seed rank among
    them (averaged over problems), and sagetune Bayesian's paired difference (by seed) to
    the peer with the best mean there."""
    out: dict[int, dict[str, Any]] = {}
    for q in sorted({_parallel(m)[1] for m in methods} - {1}):
        group = [m for m in methods if _parallel(m)[1] == q]
        if len(group) < 2:
            continue
        ours = f"sagetune-bayesian@{q}"
        rows: dict[str, Any] = {}
        for name, pr in problems.items():
            finals = np.array([_finals(pr, m) for m in group])  # (methods, seeds)
            per_seed = np.apply_along_axis(rankdata, 0, finals)
            cells = {}
            for i, m in enumerate(group):
                cells[m] = {
                    "mean": float(finals[i].mean()),
                    "se": standard_error(finals[i]),
                    "worst": float(finals[i].max()),
                    "rank": float(per_seed[i].mean()),
                }
            row: dict[str, Any] = {"cells": cells}
            peers = [m for m in group if m != ours]
            if ours in group and peers:
                best = min(peers, key=lambda m: cells[m]["mean"])
                diff = finals[group.index(ours)] - finals[group.index(best)]
                row["best_peer"] = best
                row["minus_best_peer"] = float(diff.mean())
                row["minus_best_peer_se"] = standard_error(diff)
            rows[name] = row
        out[q] = {
            "methods": group,
            "problems": rows,
            "mean_rank": {
                m: float(np.mean([row["cells"][m]["rank"] for row in rows.values()])) for m in group
            },
        }
    return out


def same_parallelism_markdown(problems: dict[str, Any], methods: list[str]) -> str:
    """:func:`same_parallelism` as one Markdown table per number of running jobs."""
    lines: list[str] = []
    for q, table in same_parallelism(problems, methods).items():
        group = table["methods"]
        ours = f"sagetune-bayesian@{q}" in group
        lines += [
            (
                f"**{q} jobs running: mean best ± SE / worst seed; last row, mean rank per "
                "seed among these methods"
                + (
                    "; last columns, sagetune Bayesian minus the peer with the best mean "
                    "(paired by seed; negative: sagetune better)**"
                    if ours
                    else "**"
                )
            ),
            "",
            "| problem | "
            + " | ".join(group)
            + (" | best peer | difference | SE |" if ours else " |"),
            "|---|" + "---:|" * len(group) + ("---|---:|---:|" if ours else ""),
        ]
        for name, row in table["problems"].items():
            cells = [
                f"{_fmt(c['mean'], 4)} ± {_fmt(c['se'], 3)} / **{_fmt(c['worst'], 4)}**"
                for c in (row["cells"][m] for m in group)
            ]
            tail = ""
            if "best_peer" in row:
                tail = (
                    f" | {row['best_peer']} | {_fmt(row['minus_best_peer'], 3)} | "
                    f"{_fmt(row['minus_best_peer_se'], 3)}"
                )
            lines.append(f"| {name} | " + " | ".join(cells) + tail + " |")
        lines.append(
            "| **mean rank** | "
            + " | ".join(f"{table['mean_rank'][m]:.2f}" for m in group)
            + (" | | | |" if ours else " |")
        )
        lines.append("")
    return "\n".join(lines)


def parallel_tables(problems: dict[str, Any], methods: list[str]) -> str:
    """Every table of parallel runs: against one at a time, then side by side at equal q."""
    parts = (parallel_markdown(problems, methods), same_parallelism_markdown(problems, methods))
    return "\n".join(p for p in parts if p)


def report(path: Path) -> int:
    """Re-print and re-write the Markdown tables and the plot of an existing results file."""
    results = json.loads(path.read_text())
    budget = results["config"]["budget"]
    methods = results["config"]["methods"]
    parts = []
    for name, pr in results["problems"].items():
        pr["summary"] = summarise(PROBLEMS[name], pr["runs"])
        parts.append(markdown(PROBLEMS[name], budget, pr["summary"]))
    overall = overall_summary(results["problems"], methods)
    results["overall"] = overall
    parts.insert(0, overall_markdown(overall, budget))
    par = parallel_tables(results["problems"], methods)
    if par:
        parts.insert(1, par)
    md = "\n".join(parts)
    print(md)
    path.write_text(json.dumps(results, indent=1))
    path.with_suffix(".md").write_text(md)
    plot(results, path.with_suffix(".png"))
    return 0


def runs_path(out: Path) -> Path:
    """Where the runs of a results file are appended as they finish (``OUT.runs.jsonl``)."""
    return out.with_suffix(".runs.jsonl")


def load_runs(path: Path) -> dict[tuple[str, str, int, int], dict[str, Any]]:
    """The runs of an earlier results file (JSON) or runs file (JSON lines), by (problem,
    method, seed, budget)."""
    runs: dict[tuple[str, str, int, int], dict[str, Any]] = {}
    if path.suffix == ".jsonl":
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # the last line of a run killed while writing
            runs[rec["problem"], rec["method"], rec["seed"], rec["budget"]] = rec["run"]
        return runs
    old = json.loads(path.read_text())
    for name, pr in old.get("problems", {}).items():
        for m, rr in pr.get("runs", {}).items():
            for r in rr:
                runs[name, m, r["seed"], len(r["values"])] = r
    return runs


def _take_reused(
    path: Path,
    methods: list[str],
    tasks: list[tuple[str, str, int, int]],
    done: dict[tuple[str, str, int], dict[str, Any]],
) -> list[tuple[str, str, int, int]]:
    """Fill ``done`` with the runs of ``methods`` (``all``: every method) found in an earlier
    results or runs file (same problem, seed and budget) and return the tasks still to run."""
    old = load_runs(path)
    todo = []
    for name, m, seed, budget in tasks:
        run = old.get((name, m, seed, budget))
        if (m in methods or "all" in methods) and run is not None:
            done[name, m, seed] = run
        else:
            todo.append((name, m, seed, budget))
    print(f"reused {len(tasks) - len(todo)} runs from {path}", file=sys.stderr)
    return todo


def _split(arg: str) -> list[str]:
    return [s.strip() for s in arg.split(",") if s.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options, with problem and method names checked."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.quality",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--problems",
        default=",".join(PROBLEMS),
        help=f"comma-separated, from {', '.join(PROBLEMS)}",
    )
    ap.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 (default 20)")
    ap.add_argument(
        "--full-seeds",
        action="store_true",
        help="run --seeds on every problem, ignoring a problem's own cap",
    )
    ap.add_argument("--budget", type=int, default=40, help="training jobs per run (default 40)")
    ap.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help=f"comma-separated, from {', '.join(METHODS)}",
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="raw results (JSON)")
    ap.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="JSON",
        help="only re-render the tables and plot of an existing results file",
    )
    ap.add_argument(
        "--reuse",
        type=Path,
        default=None,
        metavar="JSON",
        help="take the runs of --reuse-methods from this earlier results file "
        "(same problem, seed and budget) instead of running them again",
    )
    ap.add_argument(
        "--reuse-methods",
        default="optuna-tpe,optuna-gp,optuna-random,optuna-gp@4,optuna-gp@8",
        help="methods whose runs --reuse takes, or 'all' (default: the Optuna samplers, "
        "whose seeded runs do not depend on sagetune's code)",
    )
    ap.add_argument(
        "--by-problem",
        action="store_true",
        help="run every seed of a problem before the next problem, in the order of "
        "--problems (default: seed by seed over every problem)",
    )
    ap.add_argument(
        "--reuse-only",
        action="store_true",
        help="run nothing: tabulate the reused runs, per problem the seeds every method "
        "finished (for a run cut short)",
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes running (problem, seed, method) runs side by side; more "
        "than 1 disturbs the suggestion timings (default 1)",
    )
    args = ap.parse_args(argv)
    args.problems = _split(args.problems)
    args.methods = _split(args.methods)
    args.reuse_methods = _split(args.reuse_methods)
    for p in args.problems:
        if p not in PROBLEMS:
            ap.error(f"unknown problem {p!r}")
    for m in args.methods:
        name, q = _parallel(m)
        if name not in METHODS or q < 1:
            ap.error(f"unknown method {m!r}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the tables and write the JSON, Markdown and PNG files."""
    args = parse_args(argv)
    if args.report is not None:
        return report(args.report)
    started = time.time()
    results: dict[str, Any] = {
        "config": {
            "problems": args.problems,
            "methods": args.methods,
            "seeds": args.seeds,
            "full_seeds": args.full_seeds,
            "budget": args.budget,
        },
        "environment": environment(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "problems": {},
    }
    md_parts: list[str] = []
    tasks = []
    for seed in range(args.seeds):
        for name in args.problems:
            cap = PROBLEMS[name].default_seeds
            if cap is not None and not args.full_seeds and seed >= cap:
                continue
            tasks += [(name, m, seed, args.budget) for m in args.methods]
    if args.by_problem:
        order = {name: i for i, name in enumerate(args.problems)}
        tasks.sort(key=lambda t: order[t[0]])  # stable: seeds stay in order
    done: dict[tuple[str, str, int], dict[str, Any]] = {}
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    log_path = runs_path(out)
    resuming = args.reuse is not None and args.reuse.resolve() == log_path.resolve()
    if args.reuse is not None:
        tasks = _take_reused(args.reuse, args.reuse_methods, tasks, done)
    if args.reuse_only:
        tasks = []
    with log_path.open("a" if resuming else "w") as log:

        def record(name: str, m: str, seed: int, run: dict[str, Any]) -> None:
            done[name, m, seed] = run
            rec = {"problem": name, "method": m, "seed": seed, "budget": args.budget, "run": run}
            log.write(json.dumps(rec) + "\n")
            log.flush()

        if not resuming:
            for (name, m, seed), run in list(done.items()):
                record(name, m, seed, run)
        if args.workers > 1:
            with ProcessPoolExecutor(args.workers) as pool:
                futures = {pool.submit(_task, *t): t for t in tasks}
                for fut in as_completed(futures):
                    name, m, seed, _ = futures[fut]
                    record(name, m, seed, _report(name, m, seed, fut.result()))
        else:
            for name, m, seed, budget in tasks:
                record(name, m, seed, _report(name, m, seed, _task(name, m, seed, budget)))
    for name in args.problems:
        problem = PROBLEMS[name]
        # The seeds every method finished (all of them, unless a run was cut short).
        seeds = sorted(
            set.intersection(
                *({k[2] for k in done if k[0] == name and k[1] == m} for m in args.methods)
            )
        )
        if not seeds:
            print(f"{name}: no seed finished by every method, left out", file=sys.stderr)
            continue
        runs = {m: [done[name, m, s] for s in seeds] for m in args.methods}
        rows = summarise(problem, runs)
        results["problems"][name] = {
            "optimum": problem.optimum,
            "seeds": len(seeds),
            "noise_sd": problem.noise_sd,
            "suggest_seconds_total": sum(
                sum(r["suggest_seconds"]) for rr in runs.values() for r in rr
            ),
            "summary": rows,
            "runs": runs,
        }
        print_table(problem, args.budget, rows)
        md_parts.append(markdown(problem, args.budget, rows))
    overall = overall_summary(results["problems"], args.methods)
    results["overall"] = overall
    md_parts.insert(0, overall_markdown(overall, args.budget))
    print(overall_markdown(overall, args.budget))
    par = parallel_tables(results["problems"], args.methods)
    if par:
        md_parts.insert(1, par)
        print(par)
    results["wall_seconds"] = time.time() - started
    results["load_average_at_end"] = load_average()

    out.write_text(json.dumps(results, indent=1))
    out.with_suffix(".md").write_text("\n".join(md_parts))
    plot(results, out.with_suffix(".png"))
    print(
        f"wrote {out}, {out.with_suffix('.md')}, {out.with_suffix('.png')} "
        f"({results['wall_seconds']:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
