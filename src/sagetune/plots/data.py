"""What each plot shows, computed without any drawing library.

Every function here is pure: it takes a :class:`TuningData` snapshot and returns plain arrays.
Large tuning jobs stay drawable because each function caps what it returns (``max_points``,
``max_lines``, ``max_curves``): a deterministic, evenly spread sample that always keeps the
best job, and the count of jobs left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sagetune.analytics import hyperparameter_effects, load_metric_points
from sagetune.errors import ValidationError
from sagetune.space import Parameter, SearchSpace
from sagetune.spec import load_spec
from sagetune.spec.model import best_training_job
from sagetune.store import Store
from sagetune.store.records import MetricPoint, TrainingJobRecord

KINDS = ("scatter", "convergence", "parallel", "curves", "importance")
MAX_CURVES = 200  # learning curves drawn at most (see ``curves_data``)

# Marker groups, in legend order. A job "has no objective" when it failed, or was stopped
# before reporting; those are drawn on a band below the data so they stay visible.
GROUPS = ("Completed", "Stopped", "InProgress", "Failed (no objective)", "Stopped (no objective)")


@dataclass(frozen=True)
class TuningData:
    """A snapshot of one tuning job: everything the plots read.

    Attributes:
        name: the tuning job.
        status: its status.
        objective_metric_name: the objective metric.
        maximize: whether larger objective values are better.
        space: the tuned ranges.
        jobs: its training jobs, in creation order.
        points: the objective metric's points (None when not loaded).
        curve_jobs: how many jobs have points when ``points`` holds only the jobs the curves
            plot draws (``load(max_curves=...)``); None when it holds every job's.
    """

    name: str
    status: str
    objective_metric_name: str
    maximize: bool
    space: SearchSpace
    jobs: list[TrainingJobRecord]
    points: list[MetricPoint] | None = None
    curve_jobs: int | None = None

    @classmethod
    def load(
        cls,
        store: Store,
        name: str,
        curves: bool = True,
        jobs: Sequence[TrainingJobRecord] | None = None,
        max_curves: int | None = None,
    ) -> TuningData:
        """Read a snapshot from the store.

        Args:
            store: the store.
            name: the tuning job.
            curves: also read the objective metric's points (for ``curves``).
            jobs: training jobs already read (saves a query).
            max_curves: read the points of only the jobs ``curves_data`` draws with this
                ``max_curves`` (or a larger one), not every job's: what a job of thousands of
                training jobs needs to stay quick. None reads them all.

        Raises:
            ResourceNotFound: when there is no such tuning job.
        """
        record = store.get_tuning_job(name)
        spec = load_spec(record)
        jobs = list(store.list_training_jobs(name) if jobs is None else jobs)
        points = None
        curve_jobs = None
        if curves:
            # Each job's own objective: definitions of one tuning job may name it differently.
            metric_of = {j.name: spec.objective_of(j.definition_name).metric_name for j in jobs}
            read = [j.name for j in jobs]
            if max_curves is not None:
                having = {
                    job
                    for metric in sorted(set(metric_of.values()))
                    for job in store.jobs_with_metric_points(name, metric)
                    if metric_of.get(job) == metric
                }
                with_points = [j for j in jobs if j.name in having]
                best = best_training_job(jobs, spec.maximize)
                read = [j.name for j in choose_curves(with_points, best, max_curves)]
                curve_jobs = len(with_points)
            points = [
                p
                for p in load_metric_points(store, read)
                if p.metric_name == metric_of.get(p.training_job_name)
            ]
        return cls(
            name=name,
            status=record.status,
            objective_metric_name=spec.objective.metric_name,
            maximize=spec.maximize,
            space=spec.space,
            jobs=jobs,
            points=points,
            curve_jobs=curve_jobs,
        )

    @property
    def best(self) -> TrainingJobRecord | None:
        """The best job so far (ties to the earlier job)."""
        return best_training_job(self.jobs, self.maximize)


def check_kind(kind: str) -> str:
    """``kind`` if it is one of :data:`KINDS`, else a ValidationError naming the choices."""
    if kind not in KINDS:
        raise ValidationError(
            f"--kind: unknown plot kind {kind!r}; choose one of {', '.join(KINDS)}"
        )
    return kind


def group_of(job: TrainingJobRecord) -> str:
    """The marker group a job is drawn with (see :data:`GROUPS`)."""
    if job.objective is not None:
        return (
            "Stopped"
            if job.status in ("Stopped", "Stopping")
            else ("InProgress" if job.status == "InProgress" else "Completed")
        )
    if job.status == "Failed":
        return "Failed (no objective)"
    if job.status in ("Stopped", "Stopping"):
        return "Stopped (no objective)"
    return "InProgress"


def sample_indices(n: int, limit: int, keep: Sequence[int] = ()) -> np.ndarray:
    """At most ``limit`` indices of ``range(n)``, evenly spread, always holding ``keep``."""
    if n <= limit:
        return np.arange(n)
    keep_set = sorted({k for k in keep if 0 <= k < n})
    room = max(limit - len(keep_set), 0)
    picked = set(np.linspace(0, n - 1, room).round().astype(int).tolist()) if room else set()
    return np.array(sorted(picked | set(keep_set)), dtype=int)


# axes ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Axis:
    """How one hyperparameter's axis is drawn.

    Attributes:
        name: the hyperparameter.
        kind: ``linear``, ``log``, ``reverse_log`` (dense near 1) or ``category``.
        low: the range's lower end (numeric axes).
        high: the range's upper end (numeric axes).
        categories: the choices, as text (category axes).
        integer: whether only whole numbers occur.
    """

    name: str
    kind: str
    low: float = math.nan
    high: float = math.nan
    categories: tuple[str, ...] = ()
    integer: bool = False

    @property
    def label(self) -> str:
        """The name, with the scaling when it is not linear."""
        extra = {"log": " (log)", "reverse_log": " (reverse log)"}.get(self.kind, "")
        return f"{self.name}{extra}"

    def position(self, values: Sequence[Any]) -> np.ndarray:
        """Numeric positions: values as floats, or a choice's index on category axes."""
        if self.kind == "category":
            index = {c: i for i, c in enumerate(self.categories)}
            return np.array([index.get(str(v), math.nan) for v in values], dtype=float)
        return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


_AXIS_KINDS: dict[str | None, str] = {"Logarithmic": "log", "ReverseLogarithmic": "reverse_log"}


def axis_for(name: str, p: Parameter) -> Axis:
    """The axis of a tuned range: log axes for log-scaled ranges, categories for categorical."""
    if p.is_categorical:
        return Axis(name, "category", categories=tuple(str(v) for v in p.grid_values()))
    kind = _AXIS_KINDS.get(p.scaling or "", "linear")
    low, high = p.bounds or (math.nan, math.nan)
    # A numeric range with finitely many values is an integer range.
    return Axis(name, kind, low, high, integer=p.n_values is not None)


def reverse_log(x: np.ndarray | float) -> Any:
    """The reverse-log axis transform ``-log10(1 - x)`` (0.9 -> 1, 0.99 -> 2)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.log10(1.0 - np.asarray(x, dtype=float))


def reverse_log_inverse(t: np.ndarray | float) -> Any:
    return 1.0 - 10.0 ** (-np.asarray(t, dtype=float))


def reverse_log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Tick values and labels (0, 0.9, 0.99, ...) of a reverse-log axis over [low, high]."""
    values = [v for v in (0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999) if low <= v <= high]
    values = sorted({low, *values, high})
    return values, [f"{v:g}" for v in values]


def jitter(seqs: np.ndarray, width: float = 0.3) -> np.ndarray:
    """A deterministic spread in ``[-width/2, width/2]`` so points on one category separate."""
    return ((np.asarray(seqs, dtype=float) * 0.6180339887) % 1.0 - 0.5) * width


# scatter ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScatterData:
    """The objective against each tuned hyperparameter, one panel per hyperparameter.

    Arrays are per drawn job (all panels share them); ``x[name]`` holds each job's position on
    that panel (a category's index on category axes). Jobs without an objective are placed at
    ``floor``, below every objective value.
    """

    objective: str
    maximize: bool
    axes: list[Axis]
    names: list[str]
    seq: np.ndarray
    status: list[str]
    group: list[str]
    y: np.ndarray
    x: dict[str, np.ndarray]
    best: int | None
    floor: float
    total: int
    max_seq: int

    @property
    def panels(self) -> int:
        return len(self.axes)


def _floor(y: np.ndarray) -> float:
    finite = y[np.isfinite(y)]
    if not len(finite):
        return 0.0
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0) * 0.1
    return lo - 0.12 * span


def scatter_data(data: TuningData, max_points: int = 4000) -> ScatterData:
    """Per hyperparameter, each job's value against its objective.

    Args:
        data: the snapshot.
        max_points: at most this many jobs are drawn (the best always among them).
    """
    jobs = [j for j in data.jobs if j.objective is not None or j.finished]
    best = data.best
    keep = [i for i, j in enumerate(jobs) if best is not None and j.name == best.name]
    idx = sample_indices(len(jobs), max_points, keep)
    drawn = [jobs[i] for i in idx]
    y = np.array([math.nan if j.objective is None else j.objective for j in drawn], dtype=float)
    floor = _floor(y)
    axes = [axis_for(n, p) for n, p in data.space.ranges.items()]
    x = {a.name: a.position([j.hyperparameters.get(a.name) for j in drawn]) for a in axes}
    best_index = next(
        (i for i, j in enumerate(drawn) if best is not None and j.name == best.name), None
    )
    return ScatterData(
        objective=data.objective_metric_name,
        maximize=data.maximize,
        axes=axes,
        names=[j.name for j in drawn],
        seq=np.array([j.seq for j in drawn], dtype=int),
        status=[j.status for j in drawn],
        group=[group_of(j) for j in drawn],
        y=np.where(np.isfinite(y), y, floor),
        x=x,
        best=best_index,
        floor=floor,
        total=len(jobs),
        max_seq=max([j.seq for j in data.jobs], default=1),
    )


# convergence -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConvergenceData:
    """Each job's objective in creation order, and the best so far.

    ``best_x``/``best_y`` are the steps of the best-so-far line: one point per improvement plus
    the last job, so the line stays small for any number of jobs.
    """

    objective: str
    maximize: bool
    names: list[str]
    seq: np.ndarray
    status: list[str]
    group: list[str]
    y: np.ndarray
    best: int | None
    best_x: np.ndarray
    best_y: np.ndarray
    floor: float
    total: int


def convergence_data(data: TuningData, max_points: int = 4000) -> ConvergenceData:
    """Objective per job in creation order, with the running best.

    Args:
        data: the snapshot.
        max_points: at most this many job points (the line of the best is always complete).
    """
    jobs = [j for j in data.jobs if j.objective is not None or j.finished]
    best_x: list[float] = []
    best_y: list[float] = []
    current: float | None = None
    for j in jobs:
        if j.objective is None:
            continue
        if current is None or (j.objective > current if data.maximize else j.objective < current):
            current = j.objective
            best_x.append(j.seq)
            best_y.append(current)
    if current is not None and jobs and best_x[-1] != jobs[-1].seq:
        best_x.append(jobs[-1].seq)
        best_y.append(current)
    best = data.best
    keep = [i for i, j in enumerate(jobs) if best is not None and j.name == best.name]
    drawn = [jobs[i] for i in sample_indices(len(jobs), max_points, keep)]
    y = np.array([math.nan if j.objective is None else j.objective for j in drawn], dtype=float)
    floor = _floor(y)
    return ConvergenceData(
        objective=data.objective_metric_name,
        maximize=data.maximize,
        names=[j.name for j in drawn],
        seq=np.array([j.seq for j in drawn], dtype=int),
        status=[j.status for j in drawn],
        group=[group_of(j) for j in drawn],
        y=np.where(np.isfinite(y), y, floor),
        best=next(
            (i for i, j in enumerate(drawn) if best is not None and j.name == best.name), None
        ),
        best_x=np.array(best_x, dtype=float),
        best_y=np.array(best_y, dtype=float),
        floor=floor,
        total=len(jobs),
    )


# parallel coordinates ------------------------------------------------------------------------
@dataclass(frozen=True)
class ParallelAxis:
    """One vertical axis: positions in ``[0, 1]`` (scaled as the range is) and its ticks."""

    name: str
    label: str
    position: np.ndarray
    raw: np.ndarray
    tick_positions: list[float]
    tick_labels: list[str]


@dataclass(frozen=True)
class ParallelData:
    """Parallel coordinates: one line per job with an objective, over every tuned axis and the
    objective (the last axis); ``color`` is the objective."""

    objective: str
    maximize: bool
    axes: list[ParallelAxis]
    names: list[str]
    color: np.ndarray
    best: int | None
    total: int


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def nice_ticks(lo: float, hi: float, target: int = 4) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) inside [lo, hi]."""
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / target
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]
    # Drop ticks crowding the range's ends (the ends are labelled anyway).
    return [t for t in ticks if min(t - lo, hi - t) > 0.3 * step or t in (lo, hi)]


def _numeric_parallel_axis(a: Axis, p: Parameter, values: np.ndarray) -> ParallelAxis:
    lo, hi = a.low, a.high
    # Positions on the axis the range is searched on, rescaled to [0, 1].
    flo, fhi = (float(t) for t in p.scaled([lo, hi]))
    span = fhi - flo if fhi > flo else 1.0
    pos = (p.scaled(values) - flo) / span
    if a.kind == "reverse_log":
        ticks = reverse_log_ticks(lo, hi)[0]
    elif a.kind == "log":
        ticks = [
            10.0**e
            for e in range(math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9) + 1)
        ]
        ticks = sorted({lo, *ticks, hi})
    elif a.integer and hi - lo <= 10:
        ticks = [float(v) for v in range(int(lo), int(hi) + 1)]
    else:
        ticks = sorted({lo, *nice_ticks(lo, hi), hi})
    tick_pos = [float((t - flo) / span) for t in p.scaled(ticks)]
    return ParallelAxis(
        a.name, a.label, np.asarray(pos, dtype=float), values, tick_pos, [_fmt(t) for t in ticks]
    )


def parallel_data(data: TuningData, max_lines: int = 1000) -> ParallelData:
    """Parallel coordinates of the jobs with an objective.

    Args:
        data: the snapshot.
        max_lines: at most this many jobs (the best always among them).
    """
    jobs = [j for j in data.jobs if j.objective is not None]
    best = data.best
    keep = [i for i, j in enumerate(jobs) if best is not None and j.name == best.name]
    drawn = [jobs[i] for i in sample_indices(len(jobs), max_lines, keep)]
    y = np.array([j.objective for j in drawn], dtype=float)
    axes: list[ParallelAxis] = []
    for name, p in data.space.ranges.items():
        a = axis_for(name, p)
        values = a.position([j.hyperparameters.get(name) for j in drawn])
        if a.kind == "category":
            k = max(len(a.categories) - 1, 1)
            axes.append(
                ParallelAxis(
                    name,
                    name,
                    values / k,
                    values,
                    [i / k for i in range(len(a.categories))],
                    list(a.categories),
                )
            )
        else:
            axes.append(_numeric_parallel_axis(a, p, values))
    if len(y):
        lo, hi = float(y.min()), float(y.max())
        span = hi - lo if hi > lo else 1.0
        ticks = sorted({lo, *nice_ticks(lo, hi), hi}) if hi > lo else [lo]
        axes.append(
            ParallelAxis(
                data.objective_metric_name,
                data.objective_metric_name,
                (y - lo) / span,
                y,
                [(t - lo) / span for t in ticks],
                [_fmt(t) for t in ticks],
            )
        )
    else:
        axes.append(
            ParallelAxis(data.objective_metric_name, data.objective_metric_name, y, y, [], [])
        )
    return ParallelData(
        objective=data.objective_metric_name,
        maximize=data.maximize,
        axes=axes,
        names=[j.name for j in drawn],
        color=y,
        best=next(
            (i for i, j in enumerate(drawn) if best is not None and j.name == best.name), None
        ),
        total=len(jobs),
    )


# learning curves -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Curve:
    """One training job's objective metric over epochs.

    Attributes:
        early_stopped: the job was stopped before it finished (its curve ends early).
    """

    name: str
    seq: int
    status: str
    epochs: np.ndarray
    values: np.ndarray
    best: bool = False
    early_stopped: bool = False


@dataclass(frozen=True)
class CurvesData:
    """Learning curves of the objective metric (``total`` jobs have points; some may be left
    out above ``max_curves``). ``single_point`` is True when no job reported more than one
    epoch (Python callables report their final value only)."""

    objective: str
    maximize: bool
    curves: list[Curve]
    total: int
    max_seq: int
    single_point: bool = field(default=False)

    @property
    def notes(self) -> list[str]:
        """What a reader of the plot should know about what it leaves out."""
        notes = []
        if not self.curves:
            notes.append("no metric points recorded yet")
        elif self.single_point:
            notes.append("each job reported its final value only (one point per job)")
        if len(self.curves) < self.total:
            notes.append(f"showing {len(self.curves):,} of {self.total:,} jobs")
        return notes


def choose_curves(
    with_points: Sequence[TrainingJobRecord], best: TrainingJobRecord | None, max_curves: int
) -> list[TrainingJobRecord]:
    """The jobs whose curves are drawn: the best job, every early-stopped job up to half the
    budget, then an even spread of the rest (in the order given)."""
    priority = [i for i, j in enumerate(with_points) if best is not None and j.name == best.name]
    stopped = [i for i, j in enumerate(with_points) if j.status in ("Stopped", "Stopping")]
    priority += stopped[: max(max_curves // 2, 1)]
    return [with_points[i] for i in sample_indices(len(with_points), max_curves, priority)]


def curves_data(
    data: TuningData, max_curves: int = MAX_CURVES, max_points_per_curve: int = 500
) -> CurvesData:
    """Per job, the objective metric against the epoch.

    Args:
        data: the snapshot; its ``points`` must have been loaded.
        max_curves: at most this many curves: the best job, every early-stopped job up to
            half the budget, then an even spread of the rest.
        max_points_per_curve: longer curves are thinned to this many points (ends kept).
    """
    by_job: dict[str, list[MetricPoint]] = {}
    for p in data.points or []:
        by_job.setdefault(p.training_job_name, []).append(p)
    best = data.best
    with_points = [j for j in data.jobs if j.name in by_job]
    chosen = choose_curves(with_points, best, max_curves)
    curves = []
    for j in chosen:
        pts = sorted(by_job[j.name], key=lambda p: (p.step, p.timestamp))
        epochs = np.array([p.step for p in pts], dtype=float)
        values = np.array([p.value for p in pts], dtype=float)
        if len(pts) > max_points_per_curve:
            keep = sample_indices(len(pts), max_points_per_curve, [0, len(pts) - 1])
            epochs, values = epochs[keep], values[keep]
        curves.append(
            Curve(
                j.name,
                j.seq,
                j.status,
                epochs,
                values,
                best=best is not None and j.name == best.name,
                early_stopped=j.status in ("Stopped", "Stopping"),
            )
        )
    return CurvesData(
        objective=data.objective_metric_name,
        maximize=data.maximize,
        curves=curves,
        total=len(with_points) if data.curve_jobs is None else data.curve_jobs,
        max_seq=max([j.seq for j in data.jobs], default=1),
        single_point=all(len(c.epochs) <= 1 for c in curves),
    )


# importance ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportanceData:
    """Importance and rank correlation per hyperparameter, most important first."""

    names: list[str]
    importance: list[float | None]
    rank_correlation: list[float | None]
    method: str
    jobs_used: int


def importance_data(data: TuningData) -> ImportanceData:
    """The importance bars (see :data:`sagetune.analytics.IMPORTANCE_METHOD`)."""
    from sagetune.analytics import IMPORTANCE_METHOD

    rows = hyperparameter_effects(data.space, data.jobs)
    rows.sort(key=lambda r: -(r["importance"] if r["importance"] is not None else -1.0))
    return ImportanceData(
        names=[r["hyperparameter"] for r in rows],
        importance=[r["importance"] for r in rows],
        rank_correlation=[r["rank_correlation"] for r in rows],
        method=IMPORTANCE_METHOD,
        jobs_used=sum(1 for j in data.jobs if j.objective is not None),
    )


def compute(kind: str, data: TuningData) -> Any:
    """The plot data of ``kind`` (one of :data:`KINDS`)."""
    check_kind(kind)
    makers: dict[str, Callable[[TuningData], Any]] = {
        "scatter": scatter_data,
        "convergence": convergence_data,
        "parallel": parallel_data,
        "curves": curves_data,
        "importance": importance_data,
    }
    return makers[kind](data)


__all__ = [
    "GROUPS",
    "KINDS",
    "Axis",
    "ConvergenceData",
    "Curve",
    "CurvesData",
    "ImportanceData",
    "ParallelAxis",
    "ParallelData",
    "ScatterData",
    "TuningData",
    "check_kind",
    "compute",
    "convergence_data",
    "curves_data",
    "importance_data",
    "parallel_data",
    "scatter_data",
]
