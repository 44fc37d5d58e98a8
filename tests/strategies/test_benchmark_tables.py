"""The quality benchmark's side-by-side table at equal parallelism: real seeded runs of
sagetune's strategies with jobs running, then the ranks and differences the table reports."""

from __future__ import annotations

import numpy as np

from benchmarks.problems import PROBLEMS
from benchmarks.quality import run_one, same_parallelism, same_parallelism_markdown


def _problems(methods: list[str], seeds: int = 3, budget: int = 12) -> dict:
    problem = PROBLEMS["branin"]
    runs = {m: [run_one(problem, m, s, budget) for s in range(seeds)] for m in methods}
    return {"branin": {"runs": runs}}


def test_methods_at_the_same_parallelism_are_ranked_against_each_other():
    methods = ["sagetune-bayesian", "sagetune-bayesian@4", "sagetune-random@4"]
    problems = _problems(methods)
    table = same_parallelism(problems, methods)
    # Only q = 4 has two methods; the one-at-a-time run is not part of any group.
    assert list(table) == [4]
    group = table[4]
    assert group["methods"] == ["sagetune-bayesian@4", "sagetune-random@4"]
    row = group["problems"]["branin"]
    ours = np.array(
        [r["best_so_far"][-1] for r in problems["branin"]["runs"]["sagetune-bayesian@4"]]
    )
    peer = np.array([r["best_so_far"][-1] for r in problems["branin"]["runs"]["sagetune-random@4"]])
    assert row["cells"]["sagetune-bayesian@4"]["worst"] == ours.max()
    assert row["best_peer"] == "sagetune-random@4"
    assert row["minus_best_peer"] == float((ours - peer).mean())
    # Ranks per seed among two methods: each 1 or 2 (1.5 on a tie), summing to 3.
    ranks = group["mean_rank"]
    assert ranks["sagetune-bayesian@4"] + ranks["sagetune-random@4"] == 3.0
    expected = np.mean(np.where(ours < peer, 1.0, np.where(ours > peer, 2.0, 1.5)))
    assert ranks["sagetune-bayesian@4"] == expected

    md = same_parallelism_markdown(problems, methods)
    assert md.startswith("**4 jobs running")
    assert "| branin | " in md and "sagetune-random@4 |" in md
    assert f"| **mean rank** | {ranks['sagetune-bayesian@4']:.2f} |" in md


def test_a_parallelism_with_one_method_makes_no_table():
    methods = ["sagetune-bayesian@4", "sagetune-random@8"]
    problems = _problems(methods, seeds=2, budget=10)
    assert same_parallelism(problems, methods) == {}
    assert same_parallelism_markdown(problems, methods) == ""
