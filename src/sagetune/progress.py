"""A live terminal view of a running tuning job (rich)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from sagetune.formatting import format_value
from sagetune.spec import TuningJobSpec
from sagetune.store.records import TrainingJobRecord, TuningJobRecord

_STYLE = {"Completed": "green", "Failed": "red", "Stopped": "yellow", "InProgress": "cyan"}
# Lines of a frame besides the rows: the heading, the table's header and its rule, the note of
# the rows left out, and the line the cursor rests on (a frame as tall as the terminal scrolls).
_CHROME_LINES = 5
_MIN_ROWS = 3


class LiveProgress:
    """Shows the counters, the best job so far and the latest training jobs, live.

    In a terminal the table keeps to its height: the best job's row first, then as many of the
    latest training jobs as fit. Elsewhere (a log file, CI) every job is shown, 160 columns wide.

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

    def update(
        self,
        tuning_job: TuningJobRecord,
        jobs: list[TrainingJobRecord],
        latest: Mapping[str, float] | None = None,
    ) -> None:
        """Redraw with these records; ``latest`` is each running job's last objective value."""
        if self.live is not None:
            self.live.update(self.render(tuning_job, jobs, latest))

    def _max_rows(self) -> int | None:
        if not self.console.is_terminal:
            return None
        return max(self.console.height - _CHROME_LINES, _MIN_ROWS)

    def render(
        self,
        tuning_job: TuningJobRecord,
        jobs: list[TrainingJobRecord],
        latest: Mapping[str, float] | None = None,
    ) -> Group:
        """One frame: the heading and the table of training jobs.

        Args:
            tuning_job: the tuning job's record.
            jobs: its training jobs, in creation order.
            latest: the last reported objective value of running jobs, by name; shown where
                a finished job shows its objective.
        """
        latest = latest or {}
        metric = self.spec.objective.metric_name
        # Interrupted jobs were replaced on resume: they count toward no limit.
        counted = [j for j in jobs if not j.interrupted]
        counts = {s: sum(j.status == s for j in counted) for s in _STYLE}
        best = self.spec.best_training_job(jobs)
        head = Text.assemble(
            (f"{tuning_job.name} ", "bold"),
            (f"{tuning_job.status}  ", "bold cyan"),
            f"{len(counted)}/{self.spec.max_jobs} jobs  ",
            *[(f"{s} {n}  ", _STYLE[s]) for s, n in counts.items() if n],
            (
                f"best {metric} = {format_value(best.objective)} ({best.name})" if best else "",
                "bold",
            ),
            no_wrap=True,
            overflow="ellipsis",
        )
        shown, hidden = self._rows(jobs, best)
        names = list(dict.fromkeys(n for j in jobs for n in j.hyperparameters))
        table = Table(expand=False, show_edge=False, pad_edge=False)
        for col in ["job", "status", *names, metric]:
            table.add_column(col, no_wrap=True, overflow="ellipsis", min_width=min(len(col), 12))
        for j in shown:
            mark = " *" if best is not None and j.name == best.name else ""
            value = j.objective if j.objective is not None else latest.get(j.name)
            table.add_row(
                j.name.rsplit("-", 2)[-2],
                Text(j.status, _STYLE.get(j.status, "")),
                *[format_value(j.hyperparameters.get(n)) for n in names],
                format_value(value, missing="") + mark,
            )
        parts: list[Any] = [head, table]
        if hidden:
            parts.append(Text(f"({hidden} earlier training jobs not shown)", "dim"))
        return Group(*parts)

    def _rows(
        self, jobs: list[TrainingJobRecord], best: TrainingJobRecord | None
    ) -> tuple[list[TrainingJobRecord], int]:
        """The rows that fit (the best job pinned first, then the latest) and how many not."""
        limit = self._max_rows()
        if limit is None or len(jobs) <= limit + 1:  # the note would take the row it saves
            return list(jobs), 0
        if best is None:
            return list(jobs[-limit:]), len(jobs) - limit
        latest = [j for j in jobs if j.name != best.name][-(limit - 1) :]
        return [best, *latest], len(jobs) - limit
