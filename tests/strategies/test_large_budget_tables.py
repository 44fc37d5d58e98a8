"""The large-budget benchmark's tables and plot from results files: real seeded runs, scored
at several budgets, merged from two files with different budgets."""

from __future__ import annotations

import json

from benchmarks.large_budget import LARGE_PROBLEMS, main, scored
from benchmarks.quality import run_one


def _results(name: str, budgets: list[int]) -> dict:
    problem = LARGE_PROBLEMS[name]
    runs = [
        scored(run_one(problem, "sagetune-random", s, budgets[-1]), problem, budgets)
        for s in (0, 1)
    ]
    return {"budgets": budgets, "problems": {name: {"runs": {"sagetune-random": runs}}}}


def test_results_files_merge_into_one_table_and_plot(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_results("noisy_ackley10_off", [4, 8])))
    b.write_text(json.dumps(_results("noisy_hartmann6_in20", [3, 6, 9])))
    png = tmp_path / "regret.png"

    assert main(["--from", f"{a},{b}", "--plot", str(png)]) == 0

    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| noisy")]
    # One row per problem and budget, each problem at its own budgets.
    assert [r.split(" | ")[:2] for r in rows] == [
        ["| noisy_ackley10_off", "4"],
        ["| noisy_ackley10_off", "8"],
        ["| noisy_hartmann6_in20", "3"],
        ["| noisy_hartmann6_in20", "6"],
        ["| noisy_hartmann6_in20", "9"],
    ]
    # The mean regret in the table is the mean of the two seeds' regrets at that budget.
    runs = json.loads(b.read_text())["problems"]["noisy_hartmann6_in20"]["runs"]["sagetune-random"]
    mean = sum(r["budgets"]["9"]["regret"] for r in runs) / 2
    assert float(rows[-1].split(" | ")[4]) == float(f"{mean:.4g}")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
