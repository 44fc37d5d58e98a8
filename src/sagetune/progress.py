"""A live terminal view of a running tuning job (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from sagetune.spec import TuningJobSpec
from sagetune.store.records import TrainingJobRecord, TuningJobRecord

_STYLE = {"Completed": "green", "Failed": "red", "Stopped": "yellow", "InProgress": "cyan"}
_ROWS = 12


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


class LiveProgress:
    """Shows the counters, the best job so far and the latest training jobs, live.

    Args:
        spec: the tuning job shown.
        console: where to draw (default: stderr).
    """

    def __init__(self, spec: TuningJobSpec, console: Console | None = None):
        self.spec = spec
        if console is None:
            console = Console(stderr=True)
            if not console.is_terminal:  # a log file or CI: no need to squeeze into 80 columns
                console = Console(stderr=True, width=160)
        self.console = console
        self.live: Live | None = None

    def __enter__(self) -> LiveProgress:
        self.live = Live(
            Text("starting..."), console=self.console, refresh_per_second=4, transient=False
        )
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def update(self, tuning_job: TuningJobRecord, jobs: list[TrainingJobRecord]) -> None:
        if self.live is not None:
            self.live.update(self.render(tuning_job, jobs))

    def render(self, tuning_job: TuningJobRecord, jobs: list[TrainingJobRecord]) -> Group:
        metric = self.spec.objective.metric_name
        total = self.spec.max_jobs
        counts = {s: sum(j.status == s for j in jobs) for s in _STYLE}
        best = self.spec.best_training_job(jobs)
        head = Text.assemble(
            (f"{tuning_job.name} ", "bold"),
            (f"{tuning_job.status}  ", "bold cyan"),
            f"{len(jobs)}/{total} jobs  ",
            *[(f"{s} {n}  ", _STYLE[s]) for s, n in counts.items() if n],
            (f"best {metric} = {_fmt(best.objective)} ({best.name})" if best else "", "bold"),
        )
        names = list(dict.fromkeys(n for j in jobs for n in j.hyperparameters))
        table = Table(expand=False, show_edge=False, pad_edge=False)
        for col in ["job", "status", *names, metric]:
            table.add_column(col, no_wrap=True, overflow="ellipsis", min_width=min(len(col), 12))
        for j in jobs[-_ROWS:]:
            mark = " *" if best is not None and j.name == best.name else ""
            table.add_row(
                j.name.rsplit("-", 2)[-2],
                Text(j.status, _STYLE.get(j.status, "")),
                *[_fmt(j.hyperparameters.get(n)) for n in names],
                ("" if j.objective is None else _fmt(j.objective)) + mark,
            )
        return Group(head, table)
