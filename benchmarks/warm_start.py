"""Warm start against cold start, through the SDK on real tuning jobs.

For each problem and seed: a parent tuning job of 20 Bayesian jobs; then a child of 20 more,
once warm-started from the parent and once cold (same child seed). Reported per problem:

- IdenticalDataAndAlgorithm (same objective): how many child jobs it takes to reach the
  parent's best value (21 = not within 20; ``--reach-budget N`` lets these two children run
  N jobs so that a cold start that needs more than 20 is counted too), and the child's best
  after 20 jobs;
- TransferLearning (the child's objective is a shifted, rescaled version of the parent's, or
  the same model with another number of trees): the child's final best, warm against cold,
  and how many jobs the warm child needs to reach the cold child's final best.

Run: ``python -m benchmarks.warm_start [--problems branin,hartmann6,xgb] [--seeds 5]
[--reach-budget 20]``.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._stats import standard_error
from benchmarks.problems import PROBLEMS, branin, hartmann6, xgb_auc, xgb_breast_cancer_auc
from sagetune import HyperparameterTuner, WarmStartConfig
from sagetune.store import open_store

BUDGET = 20


def shifted_branin(p: Mapping[str, Any]) -> float:
    """Branin moved by (0.5, -0.5), doubled and lifted: same shape, other place and level."""
    return 2.0 * branin({"x1": p["x1"] - 0.5, "x2": p["x2"] + 0.5}) + 3.0


def shifted_hartmann6(p: Mapping[str, Any]) -> float:
    return 1.5 * hartmann6({k: float(v) - 0.03 for k, v in p.items()}) + 1.0


def xgb_30_trees(p: Mapping[str, Any]) -> float:
    """The same XGBoost task with half the trees and other folds: a related objective."""
    return xgb_auc(p, n_estimators=30, folds_seed=1)


CASES: dict[
    str, tuple[str, Callable[[Mapping[str, Any]], float], Callable[[Mapping[str, Any]], float]]
] = {
    # name: (problem with the space, parent objective, transfer child objective)
    "branin": ("branin", branin, shifted_branin),
    "hartmann6": ("hartmann6", hartmann6, shifted_hartmann6),
    "xgb": ("xgb_breast_cancer_auc", xgb_breast_cancer_auc, xgb_30_trees),
}


def _tune(
    store: str,
    name: str,
    problem: str,
    fn: Callable[..., float],
    seed: int,
    parent: str | None = None,
    kind: str = "IdenticalDataAndAlgorithm",
    budget: int = BUDGET,
) -> list[float]:
    space = PROBLEMS[problem].space
    warm = WarmStartConfig(kind, parents=[parent]) if parent else None
    tuner = HyperparameterTuner(
        "loss",
        dict(space.ranges),
        objective_type="Minimize",
        strategy="Bayesian",
        max_jobs=budget,
        random_seed=seed,
        store=store,
        show_progress=False,
        warm_start_config=warm,
    )
    tuner.fit(lambda hp: {"loss": fn(hp)}, job_name=name)
    return [j.objective for j in open_store(store).list_training_jobs(name)]


def _jobs_to_reach(values: list[float], target: float) -> int:
    best = math.inf
    for i, v in enumerate(values, 1):
        best = min(best, v)
        if best <= target + 1e-12:
            return i
    return len(values) + 1


def run(cases: list[str], seeds: int, reach_budget: int = BUDGET) -> dict[str, Any]:
    """``reach_budget``: how long the IdenticalDataAndAlgorithm children run to count the
    jobs they need to reach the parent's best (their best is still read at job 20; the first
    20 suggestions do not depend on the budget)."""
    results: dict[str, Any] = {}
    for case in cases:
        problem, parent_fn, transfer_fn = CASES[case]
        rows = []
        for s in range(seeds):
            with tempfile.TemporaryDirectory() as tmp:
                store = f"sqlite:///{Path(tmp) / 'ws.db'}"
                parent = _tune(store, "parent", problem, parent_fn, s)
                target = min(parent)
                warm = _tune(
                    store, "warm", problem, parent_fn, 100 + s, "parent", budget=reach_budget
                )
                cold = _tune(store, "cold", problem, parent_fn, 100 + s, budget=reach_budget)
                tl_warm = _tune(
                    store, "tl-warm", problem, transfer_fn, 100 + s, "parent", "TransferLearning"
                )
                tl_cold = _tune(store, "tl-cold", problem, transfer_fn, 100 + s)
            rows.append(
                {
                    "seed": s,
                    "parent_best": target,
                    "identical_warm_jobs": _jobs_to_reach(warm, target),
                    "identical_cold_jobs": _jobs_to_reach(cold, target),
                    "identical_warm_best": min(warm[:BUDGET]),
                    "identical_cold_best": min(cold[:BUDGET]),
                    "transfer_warm_best": min(tl_warm),
                    "transfer_cold_best": min(tl_cold),
                    "transfer_warm_jobs_to_cold_best": _jobs_to_reach(tl_warm, min(tl_cold)),
                }
            )
            print(f"{case} seed {s}: {rows[-1]}", flush=True)
        results[case] = rows
    return results


def table(results: dict[str, Any]) -> str:
    lines = [
        "| problem | seeds | parent best (20 jobs) | jobs to parent's best: warm | cold | "
        "child best: warm | cold | TransferLearning best: warm | cold | warm jobs to cold's "
        "best |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case, rows in results.items():
        col = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}

        def ms(k: str, col: dict[str, np.ndarray] = col) -> str:
            return f"{col[k].mean():.5g} ± {standard_error(col[k]):.2g}"

        lines.append(
            f"| {case} | {len(rows)} | {ms('parent_best')} | "
            f"{np.median(col['identical_warm_jobs']):.0f} (mean {col['identical_warm_jobs'].mean():.1f}) | "  # noqa: E501
            f"{np.median(col['identical_cold_jobs']):.0f} (mean {col['identical_cold_jobs'].mean():.1f}) | "  # noqa: E501
            f"{ms('identical_warm_best')} | {ms('identical_cold_best')} | "
            f"{ms('transfer_warm_best')} | {ms('transfer_cold_best')} | "
            f"{np.median(col['transfer_warm_jobs_to_cold_best']):.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="branin,hartmann6,xgb")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument(
        "--reach-budget",
        type=int,
        default=BUDGET,
        help="jobs the IdenticalDataAndAlgorithm children may take to reach the "
        "parent's best (default 20, the children's budget)",
    )
    ap.add_argument("--out", default="benchmarks/results/warm_start.json")
    args = ap.parse_args()
    start = time.time()
    results = run(args.problems.split(","), args.seeds, args.reach_budget)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    text = table(results)
    out.with_suffix(".md").write_text(text + "\n")
    print(text)
    print(
        f"({time.time() - start:.0f} s; a jobs count of {args.reach_budget + 1} means "
        f"'not within {args.reach_budget} jobs')"
    )


if __name__ == "__main__":
    main()
