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

``--scaling BLOCK`` instead runs one sagetune tuning job of ``--jobs`` jobs (for each
``--parallel`` value) and reports the time per job in each block of ``BLOCK`` jobs, read from
the stored records (``tuner.analytics().training_jobs()``: the time between the last ends of
consecutive blocks; the workers' start is left out), with the last block's time over the
first's: a loop that does not grow with the job count gives a flat line and a ratio near 1.
It writes a table and a plot (``<out>.png``).

Usage (from the repository root)::

    PYTHONPATH=src python -m benchmarks.tuner_overhead [--jobs 1000] [--repeats 3]
        [--out benchmarks/results/tuner_overhead.json]
    PYTHONPATH=src python -m benchmarks.tuner_overhead --jobs 10000 --scaling 1000 \
        --parallel 1,4 [--out benchmarks/results/tuner_scaling.json]
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
SCALING_OUT = Path("benchmarks/results/tuner_scaling.json")


def train(hp: Mapping[str, Any]) -> dict[str, float]:
    """The trivial training function (module level, so worker processes can import it)."""
    return {"loss": (float(hp["x"]) - 0.3) ** 2}


def _tuner(jobs: int, folder: str, parallel: int = 1) -> Any:
    import sagetune
    from sagetune.space import ContinuousParameter

    return sagetune.HyperparameterTuner(
        objective_metric_name="loss",
        objective_type="Minimize",
        hyperparameter_ranges={"x": ContinuousParameter(0.0, 1.0)},
        strategy="Random",
        max_jobs=jobs,
        max_parallel_jobs=parallel,
        random_seed=0,
        store=f"sqlite:///{folder}/st.db",
        show_progress=False,
    )


def run_sagetune(jobs: int, folder: str) -> float:
    """Seconds for ``jobs`` Random jobs through ``HyperparameterTuner.fit`` with SQLite."""
    t0 = time.perf_counter()
    _tuner(jobs, folder).fit(train)
    return time.perf_counter() - t0


def block_times(ends: Sequence[float], block: int) -> list[float]:
    """Milliseconds per job in each block of ``block`` jobs, from the jobs' end times in
    creation order. Block k spans from the last end of block k-1 to the last end of block k;
    the first starts at the first job's end, so the one-off start of the workers is left out."""
    ms = []
    previous, count = ends[0], block - 1
    for i in range(0, len(ends) - len(ends) % block, block):
        last = max(ends[i : i + block])
        ms.append((last - previous) / count * 1e3)
        previous, count = last, block
    return ms


def run_scaling(jobs: int, block: int, parallel: int) -> dict[str, Any]:
    """One tuning job of ``jobs`` jobs; ms per job in each block of ``block`` jobs."""
    with tempfile.TemporaryDirectory() as folder:
        tuner = _tuner(jobs, folder, parallel)
        t0 = time.perf_counter()
        tuner.fit(train)
        wall = time.perf_counter() - t0
        records = tuner.analytics().training_jobs()
    ms = block_times([r.ended_at or r.created_at for r in records], block)
    return {
        "parallel": parallel,
        "jobs": len(records),
        "wall_s": wall,
        "ms_per_job": ms,
        "last_over_first": ms[-1] / ms[0] if ms else None,
        "load_average_at_end": load_average(),
    }


def write_results(out: Path, results: dict[str, Any], md: str) -> None:
    """Print the table ``md``; write ``results`` (with the load at the end) to ``out`` and
    the table beside it (``.md``)."""
    print(md)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**results, "load_average_at_end": load_average()}, indent=1))
    out.with_suffix(".md").write_text(md)


def plot_scaling(runs: Sequence[Mapping[str, Any]], block: int, path: Path) -> None:
    """Milliseconds per job against the block's last job, one line per parallelism."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for run in runs:
        ms = run["ms_per_job"]
        xs = [(k + 1) * block for k in range(len(ms))]
        ax.plot(xs, ms, marker="o", label=f"max_parallel_jobs={run['parallel']}")
    ax.set_xlabel("training jobs run (end of block)")
    ax.set_ylabel(f"ms per job (block of {block})")
    ax.set_ylim(bottom=0)
    ax.set_title("sagetune Random, trivial jobs, SQLite store")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def scaling_main(args: argparse.Namespace) -> int:
    """The ``--scaling`` mode: table, JSON and plot of ms per job by block."""
    env = environment()
    block = args.scaling
    runs = [run_scaling(args.jobs, block, int(p)) for p in args.parallel.split(",")]
    blocks = max(len(r["ms_per_job"]) for r in runs)
    head = " | ".join(f"{(k * block) + 1}-{(k + 1) * block}" for k in range(blocks))
    lines = [
        f"| max_parallel_jobs | wall s | {head} | last / first |",
        "|---:|---:|" + "---:|" * blocks + "---:|",
    ]
    for r in runs:
        cells = " | ".join(f"{v:.2f}" for v in r["ms_per_job"])
        lines.append(
            f"| {r['parallel']} | {r['wall_s']:.1f} | {cells} | {r['last_over_first']:.2f} |"
        )
    md = "\n".join(lines) + "\n"
    write_results(
        args.out, {"environment": env, "jobs": args.jobs, "block": block, "runs": runs}, md
    )
    plot_scaling(runs, block, args.out.with_suffix(".png"))
    print(f"wrote {args.out}, {args.out.with_suffix('.md')}, {args.out.with_suffix('.png')}")
    return 0


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
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--scaling",
        type=int,
        default=None,
        metavar="BLOCK",
        help="time per job in blocks of BLOCK jobs, sagetune only",
    )
    ap.add_argument(
        "--parallel", default="1", help="with --scaling: comma-separated max_parallel_jobs"
    )
    args = ap.parse_args(argv)
    if args.scaling is not None:
        if args.out is None:
            args.out = SCALING_OUT
        return scaling_main(args)
    if args.out is None:
        args.out = DEFAULT_OUT
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
    write_results(
        args.out, {"environment": env, "jobs": args.jobs, "rows": rows, "ratios": ratios}, md
    )
    print(f"wrote {args.out}, {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
