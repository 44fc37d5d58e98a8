"""The live table: it fits the terminal with the best job in view, shows numbers to six
significant digits, and a running job's latest reported value."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from rich.console import Console

from sagetune import ContinuousParameter, HyperparameterTuner, IntegerParameter
from sagetune.formatting import format_value
from sagetune.progress import LiveProgress
from sagetune.spec import load_spec
from sagetune.store import open_store

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def test_numbers_are_shown_to_six_significant_digits() -> None:
    assert format_value(0.00010000000000000009) == "0.0001"
    assert format_value(0.98765432109) == "0.987654"
    assert format_value(12345678.9) == "1.23457e+07"
    assert format_value(7) == "7" and format_value("gbtree") == "gbtree"
    assert format_value(None) == "-" and format_value(None, missing="") == ""
    assert format_value(float("nan")) == "nan"


def _render(store_url: str, name: str, console: Console) -> list[str]:
    store = open_store(store_url)
    record = store.get_tuning_job(name)
    progress = LiveProgress(load_spec(record), console=console)
    console.print(progress.render(record, store.list_training_jobs(name)))
    assert isinstance(console.file, io.StringIO)
    return ANSI.sub("", console.file.getvalue()).splitlines()


def test_45_jobs_in_a_45_row_terminal_keep_the_best_row_in_view(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    # Grid over x = 1..45, minimised: the best job is the first, the one a tail would lose.
    tuner = HyperparameterTuner(
        "loss",
        {"x": IntegerParameter(1, 45)},
        objective_type="Minimize",
        strategy="Grid",
        max_parallel_jobs=4,
        store=url,
        show_progress=False,
    )
    # Thirds have more digits than a table should show.
    tuner.fit(lambda hp: hp["x"] + 1 / 3, job_name="tall")
    store = open_store(url)
    jobs = store.list_training_jobs("tall")
    best = min(jobs, key=lambda j: j.objective or 0.0)
    assert len(jobs) == 45 and best.seq == 1

    terminal = Console(file=io.StringIO(), width=120, height=45, force_terminal=True)
    lines = _render(url, "tall", terminal)
    assert len(lines) < 45  # the frame and the line the cursor rests on
    best_rows = [line for line in lines if line.rstrip().endswith(" *")]
    assert len(best_rows) == 1 and f"{best.seq:03d}" in best_rows[0]
    assert lines[3] == best_rows[0]  # pinned first, under the heading and the table's header
    assert any(line.lstrip().startswith("045") for line in lines)  # and the latest
    assert "earlier training jobs not shown" in lines[-1]
    assert "45/45 jobs" in lines[0]
    assert "best loss = 1.33333 (tall-001-" in lines[0]
    # Every number to six significant digits at most.
    numbers = re.findall(r"\d+\.\d+", "\n".join(lines[1:]))
    assert numbers and all(len(n.replace(".", "").lstrip("0")) <= 6 for n in numbers)

    # Not a terminal (a log, CI): every row.
    lines = _render(url, "tall", Console(file=io.StringIO(), width=160, height=25))
    assert sum(bool(re.match(r"\s*\d{3}\s", line)) for line in lines) == 45


RUNNING_TUNER = textwrap.dedent("""
    import os
    import sys
    import time

    from sagetune import ContinuousParameter, HyperparameterTuner

    GATE = sys.argv[2]


    def train(hp, report):
        report(epoch=1, **{"validation:accuracy": 0.123456789})
        while not os.path.exists(GATE):
            time.sleep(0.05)
        return {"validation:accuracy": 0.5}


    if __name__ == "__main__":
        HyperparameterTuner(
            "validation:accuracy",
            {"learning_rate_of_the_optimiser": ContinuousParameter(0.001, 0.002)},
            objective_type="Maximize", strategy="Random", max_jobs=1, random_seed=1,
            store=sys.argv[1], show_progress=True,
        ).fit(train, job_name="running")
""")


def test_a_running_job_shows_its_latest_value_in_a_wide_terminal(tmp_path: Path) -> None:
    script = tmp_path / "tuner.py"
    script.write_text(RUNNING_TUNER)
    gate = tmp_path / "gate"
    master, slave = os.openpty()
    env = {**os.environ, "COLUMNS": "150", "LINES": "30", "TERM": "xterm-256color"}
    proc = subprocess.Popen(
        [sys.executable, str(script), f"sqlite:///{tmp_path / 't.db'}", str(gate)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=tmp_path,
    )
    os.close(slave)
    seen = b""
    row: str | None = None
    try:
        deadline = time.monotonic() + 120
        while row is None and time.monotonic() < deadline and proc.poll() is None:
            if select.select([master], [], [], 0.5)[0]:
                seen += os.read(master, 65536)
            lines = ANSI.sub("", seen.decode(errors="replace")).splitlines()
            row = next((x for x in lines if "InProgress" in x and "0.123457" in x), None)
        gate.touch()
        while proc.poll() is None or select.select([master], [], [], 0.2)[0]:
            try:
                seen += os.read(master, 65536)
            except OSError:  # the tuner ended and closed the terminal
                break
        assert proc.wait(timeout=60) == 0, seen.decode(errors="replace")[-2000:]
    finally:
        gate.touch()
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert row is not None, ANSI.sub("", seen.decode(errors="replace"))[-2000:]
    text = ANSI.sub("", seen.decode(errors="replace"))
    # 150 columns: the long names and values are whole, not cut to 80 columns with an ellipsis.
    assert "learning_rate_of_the_optimiser" in text and "validation:accuracy" in text
    assert "…" not in text


def test_tables_round_while_describe_keeps_the_exact_values(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    tuner = HyperparameterTuner(
        "loss",
        {"alpha": ContinuousParameter(1e-4, 10.0, scaling_type="Logarithmic")},
        objective_type="Minimize",
        strategy="Random",
        max_jobs=3,
        random_seed=5,
        store=url,
        show_progress=False,
    )
    tuner.fit(lambda hp: hp["alpha"] / 3, job_name="exact")
    store = open_store(url)
    best = store.get_training_job(tuner.describe()["BestTrainingJob"]["TrainingJobName"])
    tuned = tuner.describe()["BestTrainingJob"]["TunedHyperParameters"]["alpha"]
    assert float(tuned) == best.hyperparameters["alpha"]  # every digit, as the job got it
    assert len(tuned.replace(".", "").lstrip("0")) > 6  # a value worth rounding
    console = Console(file=io.StringIO(), width=120, height=30, force_terminal=True)
    frame = "\n".join(_render(url, "exact", console))
    assert format_value(best.hyperparameters["alpha"]) in frame and tuned not in frame
