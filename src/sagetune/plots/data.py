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

KINDS = (
    "scatter",
    "convergence",
    "time",
    "parallel",
    "curves",
    "importance",
    "contour",
    "ecdf",
    "timeline",
)
MAX_CURVES = 200  # learning curves drawn at most (see ``curves_data``)

# Marker groups, in legend order. A job "has no objective" when it failed, or was stopped
# before reporting; those are drawn on a band below the data so they stay visible.
GROUPS = ("Completed", "Stopped", "InProgress", "Failed (no objective)", "Stopped (no objective)")
# One colour per training job status, as the report's status badges.
STATUS_COLORS = {
    "Completed": "#2ca02c",
    "Stopped": "#7f7f7f",
    "Stopping": "#7f7f7f",
    "Failed": "#d62728",
    "InProgress": "#1f77b4",
}
# Objective values further than this many interquartile ranges beyond the quartiles are drawn
# off scale, so one diverged job does not flatten the rest (Tukey's "far out" fence).
OUTLIER_IQRS = 3.0
# Log objective axes when the values kept on scale span at least this ratio.
LOG_RATIO = 100.0


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
        of_jobs: how many training jobs the tuning job has when ``jobs`` is a sample of them
            (the dashboard's view of a big tuning job); None when ``jobs`` is every one.
        effects: :func:`sagetune.analytics.hyperparameter_effects` of ``jobs`` when already
            known; else computed by :meth:`hyperparameter_effects` the first time it is asked.
    """

    name: str
    status: str
    objective_metric_name: str
    maximize: bool
    space: SearchSpace
    jobs: list[TrainingJobRecord]
    points: list[MetricPoint] | None = None
    curve_jobs: int | None = None
    of_jobs: int | None = None
    effects: list[dict[str, Any]] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def load(
        cls,
        store: Store,
        name: str,
        curves: bool = True,
        jobs: Sequence[TrainingJobRecord] | None = None,
        max_curves: int | None = None,
        of_jobs: int | None = None,
        effects: list[dict[str, Any]] | None = None,
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
            of_jobs: the tuning job's number of training jobs when ``jobs`` is a sample.
            effects: ``hyperparameter_effects`` of ``jobs``, when already known.

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
                    # Of a sample, only its jobs are asked about, not the tuning job's all.
                    for job in store.jobs_with_metric_points(
                        name, metric, None if of_jobs is None else [j.name for j in jobs]
                    )
                    if metric_of.get(job) == metric
                }
                with_points = [j for j in jobs if j.name in having]
                best = best_training_job(jobs, spec.maximize)
                read = [j.name for j in choose_curves(with_points, best, max_curves)]
                curve_jobs = len(with_points)
            points = [
                p
                # Only the objective metrics: the others' points are not drawn.
                for p in load_metric_points(store, read, set(metric_of.values()))
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
            of_jobs=of_jobs,
            effects=effects,
        )

    def hyperparameter_effects(self) -> list[dict[str, Any]]:
        """Rank correlation and importance per tuned hyperparameter, of ``jobs``: fANOVA once
        per snapshot, whichever plots (importance, contour) and summaries ask."""
        if self.effects is None:
            # A memo of a pure function of the snapshot's own fields.
            object.__setattr__(self, "effects", hyperparameter_effects(self.space, self.jobs))
        assert self.effects is not None
        return self.effects

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


def _objectives(jobs: Sequence[TrainingJobRecord]) -> np.ndarray:
    return np.array([math.nan if j.objective is None else j.objective for j in jobs], dtype=float)


def sample_indices(n: int, limit: int, keep: Sequence[int] = ()) -> np.ndarray:
    """At most ``limit`` indices of ``range(n)``, evenly spread, always holding ``keep``."""
    if n <= limit:
        return np.arange(n)
    keep_set = sorted({k for k in keep if 0 <= k < n})
    room = max(limit - len(keep_set), 0)
    picked = set(np.linspace(0, n - 1, room).round().astype(int).tolist()) if room else set()
    return np.array(sorted(picked | set(keep_set)), dtype=int)


# objective axes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ValueAxis:
    """An objective axis that keeps a few far-off values from flattening the rest.

    Values within ``[low, high]`` (the range left after dropping far outliers, see
    :data:`OUTLIER_IQRS`) are drawn where they are; values beyond are drawn in a marked band
    past the margin, at ``lower_band``/``upper_band`` (None when nothing lies there), the
    bands lying between ``scale`` and ``band_edges``. ``floor`` is where jobs without an
    objective go, below everything; ``view`` is the axis's whole drawn range with the floor,
    ``scale`` the range without it. A ``log`` axis (values
    spanning :data:`LOG_RATIO` or more) has every position still a value, spaced in decades.
    """

    low: float
    high: float
    log: bool
    lower_band: float | None
    upper_band: float | None
    floor: float
    view: tuple[float, float]
    scale: tuple[float, float]
    band_edges: tuple[float, float]

    def place(self, values: np.ndarray | Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """Drawn positions of ``values`` and where each went: -1 below the scale, +1 above,
        0 on it (NaN stays NaN)."""
        v = np.asarray(values, dtype=float)
        clip = np.zeros(len(v), dtype=int)
        with np.errstate(invalid="ignore"):
            clip[v < self.low] = -1
            clip[v > self.high] = 1
        pos = v.copy()
        if self.lower_band is not None:
            pos[clip < 0] = self.lower_band
        if self.upper_band is not None:
            pos[clip > 0] = self.upper_band
        return pos, clip


def _inner(t: np.ndarray) -> tuple[float, float]:
    q1, q3 = (float(q) for q in np.percentile(t, [25, 75]))
    iqr = q3 - q1
    if not iqr > 0:  # half the values equal: nothing stands out reliably
        return float(t.min()), float(t.max())
    kept = t[(t >= q1 - OUTLIER_IQRS * iqr) & (t <= q3 + OUTLIER_IQRS * iqr)]
    return float(kept.min()), float(kept.max())


def value_axis(values: np.ndarray | Sequence[float], margin: float = 0.05) -> ValueAxis:
    """The robust axis of some objective values (see :class:`ValueAxis`).

    Args:
        values: the values (non-finite ones are ignored).
        margin: the room left past the on-scale values, as a share of their span.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return ValueAxis(
            0.0, 1.0, False, None, None, -0.1, (-0.15, 1.05), (-0.05, 1.05), (-0.05, 1.05)
        )
    lo, hi = _inner(v)
    log = bool(lo > 0 and hi / lo >= LOG_RATIO and (v > 0).all())
    t = np.log10(v) if log else v
    if log:
        lo, hi = _inner(t)
    span = hi - lo if hi > lo else max(abs(hi), 1.0) * 0.1
    pad, band = margin * span, 0.1 * span
    below, above = bool((t < lo).any()), bool((t > hi).any())
    view_lo = lo - pad - (band if below else 0.0)
    view_hi = hi + pad + (band if above else 0.0)
    floor = view_lo - 0.06 * span

    def back(x: float) -> float:
        return float(10.0**x) if log else float(x)

    return ValueAxis(
        low=back(lo),
        high=back(hi),
        log=log,
        lower_band=back(lo - pad - band / 2) if below else None,
        upper_band=back(hi + pad + band / 2) if above else None,
        floor=back(floor),
        view=(back(floor - 0.04 * span), back(view_hi)),
        scale=(back(view_lo), back(view_hi)),
        band_edges=(back(lo - pad), back(hi + pad)),
    )


def off_scale_note(axis: ValueAxis, clip: np.ndarray, what: str = "job") -> str | None:
    """The line under a plot that says how many values lie off scale (None when none do)."""
    n = int((np.asarray(clip) != 0).sum())
    if not n:
        return None
    return (
        f"{n} {what}{'s' if n > 1 else ''} off scale (outside {_fmt(axis.low)} to "
        f"{_fmt(axis.high)}) drawn as triangles in the shaded band"
    )


def panel_grid(n: int, max_columns: int = 3) -> tuple[int, int]:
    """Rows and columns of a grid of ``n`` panels with as few rows plus empty slots as can
    be (4 panels are 2 by 2, 3 one row of 3), ties to more columns."""
    n = max(n, 1)

    def cost(c: int) -> tuple[int, int]:
        rows = math.ceil(n / c)
        return rows + rows * c - n, -c

    cols = min(range(1, min(n, max_columns) + 1), key=cost)
    return math.ceil(n / cols), cols


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
    that panel (a category's index on category axes). ``y`` is where each job is drawn:
    its objective, or a band past the axis's margin when the value is far off scale
    (``clip`` -1 or +1, the value itself in ``value``), or ``floor``, below everything, when
    it has no objective (``value`` NaN).
    """

    objective: str
    maximize: bool
    axes: list[Axis]
    names: list[str]
    seq: np.ndarray
    status: list[str]
    group: list[str]
    y: np.ndarray
    value: np.ndarray
    clip: np.ndarray
    y_axis: ValueAxis
    x: dict[str, np.ndarray]
    best: int | None
    total: int
    max_seq: int

    @property
    def floor(self) -> float:
        return self.y_axis.floor

    @property
    def panels(self) -> int:
        return len(self.axes)


def place_objectives(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, ValueAxis]:
    """Drawn positions of objective values (NaN: no objective, at the floor), where each
    went (see :meth:`ValueAxis.place`) and the axis."""
    axis = value_axis(values)
    pos, clip = axis.place(values)
    return np.where(np.isfinite(pos), pos, axis.floor), clip, axis


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
    value = _objectives(drawn)
    y, clip, y_axis = place_objectives(value)
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
        y=y,
        value=value,
        clip=clip,
        y_axis=y_axis,
        x=x,
        best=best_index,
        total=len(jobs),
        max_seq=max([j.seq for j in data.jobs], default=1),
    )


# convergence -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConvergenceData:
    """Each job's objective in creation order, and the best so far.

    ``best_x``/``best_y`` are the steps of the best-so-far line: one point per improvement plus
    the last job, so the line stays small for any number of jobs; ``best_pos`` is where the
    line is drawn (off-scale values in their band). ``y``, ``value``, ``clip`` and ``y_axis``
    are as in :class:`ScatterData`. ``x`` is the job's creation order (``convergence``) or
    the seconds from the tuning job's first training job to the job's end (``time``).
    """

    objective: str
    maximize: bool
    names: list[str]
    seq: np.ndarray
    status: list[str]
    group: list[str]
    x: np.ndarray
    y: np.ndarray
    value: np.ndarray
    clip: np.ndarray
    y_axis: ValueAxis
    best: int | None
    best_x: np.ndarray
    best_y: np.ndarray
    best_pos: np.ndarray
    total: int

    @property
    def floor(self) -> float:
        return self.y_axis.floor


def best_so_far(
    xs: Sequence[float], values: Sequence[float | None], maximize: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The steps of the running best of ``values`` taken in order at ``xs``: one point per
    improvement, then the last x (so the line reaches the end)."""
    best_x: list[float] = []
    best_y: list[float] = []
    current: float | None = None
    for x, v in zip(xs, values):
        if v is None or not math.isfinite(v):
            continue
        if current is None or (v > current if maximize else v < current):
            current = v
            best_x.append(float(x))
            best_y.append(current)
    if current is not None and len(xs) and best_x[-1] != float(xs[-1]):
        best_x.append(float(xs[-1]))
        best_y.append(current)
    return np.array(best_x, dtype=float), np.array(best_y, dtype=float)


def _progress_data(
    data: TuningData, jobs: list[TrainingJobRecord], xs: list[float], max_points: int
) -> ConvergenceData:
    best_x, best_y = best_so_far(xs, [j.objective for j in jobs], data.maximize)
    best = data.best
    keep = [i for i, j in enumerate(jobs) if best is not None and j.name == best.name]
    idx = sample_indices(len(jobs), max_points, keep)
    drawn = [jobs[i] for i in idx]
    value = _objectives(drawn)
    y, clip, y_axis = place_objectives(value)
    return ConvergenceData(
        objective=data.objective_metric_name,
        maximize=data.maximize,
        names=[j.name for j in drawn],
        seq=np.array([j.seq for j in drawn], dtype=int),
        status=[j.status for j in drawn],
        group=[group_of(j) for j in drawn],
        x=np.array([xs[i] for i in idx], dtype=float),
        y=y,
        value=value,
        clip=clip,
        y_axis=y_axis,
        best=next(
            (i for i, j in enumerate(drawn) if best is not None and j.name == best.name), None
        ),
        best_x=best_x,
        best_y=best_y,
        best_pos=y_axis.place(best_y)[0],
        total=len(jobs),
    )


def convergence_data(data: TuningData, max_points: int = 4000) -> ConvergenceData:
    """Objective per job in creation order, with the running best.

    Args:
        data: the snapshot.
        max_points: at most this many job points (the line of the best is always complete).
    """
    jobs = [j for j in data.jobs if j.objective is not None or j.finished]
    return _progress_data(data, jobs, [float(j.seq) for j in jobs], max_points)


def time_data(data: TuningData, max_points: int = 4000) -> ConvergenceData:
    """Objective per finished job against when it ended (seconds since the tuning job's first
    training job was created), with the best so far at each moment.

    Args:
        data: the snapshot.
        max_points: at most this many job points (the line of the best is always complete).
    """
    ended = [j for j in data.jobs if j.ended_at is not None]
    jobs = sorted(ended, key=lambda j: (j.ended_at or 0.0, j.seq))
    start = min((j.created_at for j in data.jobs), default=0.0)
    return _progress_data(data, jobs, [(j.ended_at or start) - start for j in jobs], max_points)


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
    objective (the last axis); ``color`` is the objective, its scale spanning
    ``color_range`` (the on-scale values of :func:`value_axis`: a far-off job takes the end
    colour instead of squeezing the others into one). Off-scale jobs sit at the ends of the
    objective axis, past a gap, and ``clip`` says which (-1, 0, +1)."""

    objective: str
    maximize: bool
    axes: list[ParallelAxis]
    names: list[str]
    color: np.ndarray
    color_range: tuple[float, float]
    clip: np.ndarray
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


def parallel_axis(name: str, p: Parameter, values: Sequence[Any]) -> ParallelAxis:
    """A hyperparameter's axis on ``[0, 1]``: numeric ranges as they are searched (log,
    reverse log), categories evenly by their index."""
    a = axis_for(name, p)
    pos = a.position(values)
    if a.kind != "category":
        return _numeric_parallel_axis(a, p, pos)
    k = max(len(a.categories) - 1, 1)
    return ParallelAxis(
        name, name, pos / k, pos, [i / k for i in range(len(a.categories))], list(a.categories)
    )


# The share of the objective axis that holds its off-scale jobs, at each end that has some.
_OFF_SCALE_GAP = 0.08


def _objective_axis(name: str, y: np.ndarray) -> tuple[ParallelAxis, np.ndarray, ValueAxis]:
    va = value_axis(y)
    _, clip = va.place(y)
    lo, hi = va.low, va.high
    gap_lo = _OFF_SCALE_GAP if (clip < 0).any() else 0.0
    gap_hi = _OFF_SCALE_GAP if (clip > 0).any() else 0.0
    span = hi - lo if hi > lo else 1.0

    def at(v: np.ndarray | list[float]) -> np.ndarray:
        inner = (np.clip(np.asarray(v, dtype=float), lo, hi) - lo) / span
        return np.asarray(gap_lo + (1.0 - gap_lo - gap_hi) * inner, dtype=float)

    pos = at(y)
    pos[clip < 0] = 0.0
    pos[clip > 0] = 1.0
    ticks = sorted({lo, *nice_ticks(lo, hi), hi}) if hi > lo else ([lo] if len(y) else [])
    tick_pos = at(ticks).tolist()
    labels = [_fmt(t) for t in ticks]
    if gap_lo:
        tick_pos.insert(0, 0.0)
        labels.insert(0, f"< {_fmt(lo)} (off scale)")
    if gap_hi:
        tick_pos.append(1.0)
        labels.append(f"> {_fmt(hi)} (off scale)")
    return ParallelAxis(name, name, pos, y, tick_pos, labels), clip, va


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
    axes = [
        parallel_axis(name, p, [j.hyperparameters.get(name) for j in drawn])
        for name, p in data.space.ranges.items()
    ]
    objective_axis, clip, va = _objective_axis(data.objective_metric_name, y)
    axes.append(objective_axis)
    return ParallelData(
        objective=data.objective_metric_name,
        maximize=data.maximize,
        axes=axes,
        names=[j.name for j in drawn],
        color=y,
        color_range=(va.low, va.high),
        clip=clip,
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
    y_axis: ValueAxis = field(default_factory=lambda: value_axis([]))

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
        # Over every point drawn: a first epoch far below the rest stays off scale.
        y_axis=value_axis(np.concatenate([c.values for c in curves]) if curves else []),
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
    note: str  # what the plots say under their title: the method, or why there is none


def importance_data(data: TuningData) -> ImportanceData:
    """The importance bars (see :data:`sagetune.analytics.IMPORTANCE_METHOD`)."""
    from sagetune.analytics import IMPORTANCE_METHOD
    from sagetune.importance import SHORT_DESCRIPTION

    used = sum(1 for j in data.jobs if j.objective is not None)
    rows = sorted(
        data.hyperparameter_effects(),
        key=lambda r: -(r["importance"] if r["importance"] is not None else -1.0),
    )
    return ImportanceData(
        names=[r["hyperparameter"] for r in rows],
        importance=[r["importance"] for r in rows],
        rank_correlation=[r["rank_correlation"] for r in rows],
        method=IMPORTANCE_METHOD,
        jobs_used=used,
        # hyperparameter_effects gives no importance below 4 jobs with an objective.
        note=SHORT_DESCRIPTION if used >= 4 else "needs at least 4 jobs with an objective",
    )


# contour of the two most important hyperparameters -------------------------------------------
@dataclass(frozen=True)
class ContourData:
    """The objective over the two most important hyperparameters (by :func:`importance_data`):
    a linear interpolation of the jobs' values over a ``len(grid)`` square mesh of both axes
    (each on ``[0, 1]`` as in parallel coordinates, with their ticks), and the jobs
    themselves at ``x``/``y``. ``z`` is None when the jobs span no area (fewer than 3
    distinct points, or all on one line); ``axes`` is empty with fewer than two tuned
    hyperparameters. ``color_range`` is the robust range of the values (see
    :func:`value_axis`)."""

    objective: str
    maximize: bool
    axes: list[ParallelAxis]
    grid: np.ndarray
    z: np.ndarray | None
    names: list[str]
    x: np.ndarray
    y: np.ndarray
    value: np.ndarray
    color_range: tuple[float, float]
    best: int | None
    importance: list[float | None]


def _interpolate(pts: np.ndarray, value: np.ndarray, mesh: np.ndarray) -> np.ndarray | None:
    """The objective linearly interpolated on the ``mesh`` × ``mesh`` grid over the Delaunay
    triangles of the points (NaN outside their hull); None when they span no area.

    Jobs at the same point (integer and categorical ranges repeat values) are one point of
    their mean value. Matplotlib's triangle finder locates the grid in one pass: SciPy's
    ``griddata`` walked the long thin triangles of points on a few integer lines for over a
    minute at 4,000 jobs."""
    import matplotlib.tri as mtri

    if len(pts) == 0:
        return None
    unique, inverse = np.unique(pts, axis=0, return_inverse=True)
    if len(unique) < 3:
        return None
    inverse = inverse.ravel()
    mean = np.bincount(inverse, weights=value) / np.bincount(inverse)
    try:
        triangles = mtri.Triangulation(unique[:, 0], unique[:, 1])
        gx, gy = np.meshgrid(mesh, mesh)
        z = mtri.LinearTriInterpolator(triangles, mean)(gx, gy)
    except (ValueError, RuntimeError):  # every point on one line: no area to fill
        return None
    return np.ma.filled(z.astype(float), np.nan)


def contour_data(data: TuningData, grid: int = 40, max_points: int = 4000) -> ContourData:
    """The objective over the pair of hyperparameters that matter most.

    Args:
        data: the snapshot.
        grid: mesh points per axis.
        max_points: at most this many jobs drawn and interpolated (the best among them).
    """
    jobs = [j for j in data.jobs if j.objective is not None]
    best = data.best
    keep = [i for i, j in enumerate(jobs) if best is not None and j.name == best.name]
    drawn = [jobs[i] for i in sample_indices(len(jobs), max_points, keep)]
    value = _objectives(drawn)
    imp = importance_data(data)
    pair = imp.names[:2] if len(imp.names) >= 2 else []
    axes = [
        parallel_axis(n, data.space.ranges[n], [j.hyperparameters.get(n) for j in drawn])
        for n in pair
    ]
    mesh = np.linspace(0.0, 1.0, grid)
    z = None
    if axes:
        pts = np.column_stack([axes[0].position, axes[1].position])
        ok = np.all(np.isfinite(pts), axis=1) & np.isfinite(value)
        z = _interpolate(pts[ok], value[ok], mesh)
    va = value_axis(value)
    return ContourData(
        objective=data.objective_metric_name,
        maximize=data.maximize,
        axes=axes,
        grid=mesh,
        z=z,
        names=[j.name for j in drawn],
        x=axes[0].position if axes else np.zeros(0),
        y=axes[1].position if axes else np.zeros(0),
        value=value,
        color_range=(va.low, va.high),
        best=next(
            (i for i, j in enumerate(drawn) if best is not None and j.name == best.name), None
        ),
        importance=imp.importance[:2],
    )


# empirical distribution of the objective -----------------------------------------------------
@dataclass(frozen=True)
class EcdfData:
    """The empirical distribution of the objective: ``values`` sorted ascending and
    ``fraction[i]``, the share of jobs with an objective at most ``values[i]``. ``x`` is where
    each step is drawn on the robust ``x_axis`` (far-off values in its band, ``clip``)."""

    objective: str
    maximize: bool
    values: np.ndarray
    fraction: np.ndarray
    x: np.ndarray
    clip: np.ndarray
    x_axis: ValueAxis
    best_value: float | None


def ecdf_data(data: TuningData) -> EcdfData:
    """The empirical cumulative distribution of the jobs' objective values."""
    values = np.sort(_objectives([j for j in data.jobs if j.objective is not None]))
    fraction = np.arange(1, len(values) + 1, dtype=float) / max(len(values), 1)
    axis = value_axis(values)
    x, clip = axis.place(values)
    best = data.best
    return EcdfData(
        objective=data.objective_metric_name,
        maximize=data.maximize,
        values=values,
        fraction=fraction,
        x=x,
        clip=clip,
        x_axis=axis,
        best_value=None if best is None else best.objective,
    )


# timeline of training jobs -------------------------------------------------------------------
@dataclass(frozen=True)
class TimelineData:
    """When each training job ran: ``start``/``end`` in seconds since the tuning job's first
    training job was created (``origin``, epoch seconds; a running job ends at the latest
    time recorded), one bar per job that started."""

    names: list[str]
    seq: np.ndarray
    status: list[str]
    start: np.ndarray
    end: np.ndarray
    origin: float
    total: int


def timeline_data(data: TuningData, max_jobs: int = 1000) -> TimelineData:
    """The jobs that started, as bars from their start to their end.

    Args:
        data: the snapshot.
        max_jobs: at most this many bars (an even spread, the best kept).
    """
    jobs = [j for j in data.jobs if j.started_at is not None]
    origin = min((j.created_at for j in data.jobs), default=0.0)
    now = max(
        (t for j in data.jobs for t in (j.created_at, j.started_at, j.ended_at) if t is not None),
        default=origin,
    )
    best = data.best
    keep = [i for i, j in enumerate(jobs) if best is not None and j.name == best.name]
    drawn = [jobs[i] for i in sample_indices(len(jobs), max_jobs, keep)]
    return TimelineData(
        names=[j.name for j in drawn],
        seq=np.array([j.seq for j in drawn], dtype=int),
        status=[j.status for j in drawn],
        start=np.array([(j.started_at or origin) - origin for j in drawn], dtype=float),
        end=np.array([(now if j.ended_at is None else j.ended_at) - origin for j in drawn]),
        origin=origin,
        total=len(jobs),
    )


def compute(kind: str, data: TuningData) -> Any:
    """The plot data of ``kind`` (one of :data:`KINDS`)."""
    check_kind(kind)
    makers: dict[str, Callable[[TuningData], Any]] = {
        "scatter": scatter_data,
        "convergence": convergence_data,
        "time": time_data,
        "parallel": parallel_data,
        "curves": curves_data,
        "importance": importance_data,
        "contour": contour_data,
        "ecdf": ecdf_data,
        "timeline": timeline_data,
    }
    return makers[kind](data)


__all__ = [
    "GROUPS",
    "KINDS",
    "Axis",
    "ContourData",
    "ConvergenceData",
    "Curve",
    "CurvesData",
    "EcdfData",
    "ImportanceData",
    "ParallelAxis",
    "ParallelData",
    "STATUS_COLORS",
    "ScatterData",
    "TimelineData",
    "TuningData",
    "ValueAxis",
    "best_so_far",
    "check_kind",
    "compute",
    "contour_data",
    "convergence_data",
    "curves_data",
    "ecdf_data",
    "importance_data",
    "panel_grid",
    "off_scale_note",
    "parallel_axis",
    "parallel_data",
    "scatter_data",
    "time_data",
    "timeline_data",
    "value_axis",
]
