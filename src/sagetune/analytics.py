"""Analytics of a tuning job, as the SageMaker SDK's ``HyperparameterTuningJobAnalytics``.

Beyond the SDK's ``dataframe()``: intermediate metric curves in long form (``curves()``) and a
summary (``summary()``) with the best job, counts by status, time spent, per tuned
hyperparameter its rank correlation with the objective and an importance figure
(``importance()``, see :mod:`sagetune.importance` for the method), and the narrower ranges
the best jobs suggest for a next tuning job (:func:`suggested_ranges`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sagetune.cost import job_costs, objective_metrics, stored_cost_summary
from sagetune.importance import fanova
from sagetune.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    Parameter,
    SearchSpace,
)
from sagetune.spec import TuningJobSpec, load_spec
from sagetune.store import Store, open_store
from sagetune.store.records import TRAINING_JOB_STATUSES, MetricPoint, TrainingJobRecord

BASE_COLUMNS = [
    "TrainingJobName",
    "TrainingJobStatus",
    "FinalObjectiveValue",
    "TrainingStartTime",
    "TrainingEndTime",
    "TrainingElapsedTimeSeconds",
]
CURVE_COLUMNS = ["job", "metric", "epoch", "value", "time"]
COST_COLUMNS = [
    "BillableTimeInSeconds",
    "EpochsCompleted",
    "EarlyStopped",
    "EpochsNotRun",
    "EstimatedSavedSeconds",
    "Cost",
    "EstimatedSavedCost",
]
IMPORTANCE_METHOD = (
    "fANOVA on a random forest (64 trees, scikit-learn): each hyperparameter's share of the "
    "objective's variance over the search space (on the ranges' scaled axes), averaged over "
    "the trees and normalised to sum to 1 over the tuned hyperparameters; "
    "importance_std is its spread across the trees"
)
RANK_CORRELATION_METHOD = "Spearman rank correlation with the objective (numeric ranges only)"
TOP_SHARE = 0.2  # the share of jobs whose span is the suggested range
MIN_TOP = 3
RANGE_PAD = 0.1  # of the whole range, on its scaled axis, each side
SUGGESTED_RANGES_METHOD = (
    f"the span of the best {TOP_SHARE:.0%} of jobs with an objective (at least {MIN_TOP}), "
    f"padded by {RANGE_PAD:.0%} of the range on each side on its scaled axis, rounded outward "
    "to 2 significant digits and kept within the range; categorical ranges keep the values "
    "those jobs used"
)
COST_NOTE = (
    "time spent is the sum of training seconds; cost per job and the savings of early "
    "stopping are the cost columns of dataframe() and `sagetune cost`"
)
# SQLite allows a limited number of bound parameters per statement.
_NAMES_PER_QUERY = 500


class TuningJobAnalytics:
    """Read a tuning job's results from the store.

    Args:
        hyperparameter_tuning_job_name: the tuning job.
        store: a store, a SQLAlchemy URL, a SQLite file path, or None for the default store.

    Example:
        >>> df = TuningJobAnalytics("my-job").dataframe()  # doctest: +SKIP
        >>> df.sort_values("FinalObjectiveValue").tail(1)  # doctest: +SKIP
    """

    def __init__(self, hyperparameter_tuning_job_name: str, store: Store | str | None = None):
        self.name = hyperparameter_tuning_job_name
        self.store = open_store(store)
        self.record = self.store.get_tuning_job(self.name)  # fail early on an unknown name
        self.spec: TuningJobSpec = load_spec(self.record)
        self.space: SearchSpace = self.spec.space
        self.objective_metric_name: str = self.spec.objective.metric_name
        self.objective_type: str = self.spec.objective_type

    def dataframe(self, include_parents: bool = False) -> pd.DataFrame:
        """One row per training job, in creation order: a column per tuned hyperparameter,
        then ``TrainingJobName``, ``TrainingJobStatus``, ``FinalObjectiveValue``,
        ``TrainingStartTime``, ``TrainingEndTime`` (aware UTC timestamps) and
        ``TrainingElapsedTimeSeconds``.

        Args:
            include_parents: for a warm-started job, add the parents' training jobs first,
                with a ``TuningJobName`` column telling whose each row is.
        """
        if include_parents:
            parents = list(self.spec.warm_start.parents if self.spec.warm_start else ())
            frames = []
            for name in [*parents, self.name]:
                df = TuningJobAnalytics(name, store=self.store).dataframe()
                df.insert(len(df.columns), "TuningJobName", name)
                frames.append(df)
            return pd.concat(frames, ignore_index=True)
        definitions = self.spec.named_definitions
        names = self.spec.hyperparameter_names
        jobs = self.store.list_training_jobs(self.name)
        # Built a column at a time (one pass over the records per column, times converted as
        # arrays): a row at a time costs seconds at 10,000 jobs.
        columns: dict[str, Any] = {n: [j.hyperparameters.get(n) for j in jobs] for n in names}
        if definitions:  # as the SageMaker SDK does for several algorithms
            names.append("TrainingJobDefinitionName")
            columns["TrainingJobDefinitionName"] = [j.definition_name for j in jobs]
        started = [j.started_at or None for j in jobs]
        ended = [j.ended_at or None for j in jobs]
        columns.update(
            {
                "TrainingJobName": [j.name for j in jobs],
                "TrainingJobStatus": [j.status for j in jobs],
                "FinalObjectiveValue": np.array(
                    [np.nan if j.objective is None else j.objective for j in jobs], dtype=float
                ),
                "TrainingStartTime": _utc_times(started),
                "TrainingEndTime": _utc_times(ended),
                "TrainingElapsedTimeSeconds": np.array(
                    [e - s if e and s else np.nan for s, e in zip(started, ended)], dtype=float
                ),
            }
        )
        df = pd.DataFrame(columns, columns=names + BASE_COLUMNS)
        # Cost figures (see sagetune.cost), after the SDK's columns; early-stopped jobs' pace
        # from the store, which reads two points per job instead of every curve.
        per_epoch = self.store.stopped_epoch_seconds(self.name, objective_metrics(self.spec))
        costs = [c.as_dict() for c in job_costs(self.spec, jobs, per_epoch=per_epoch)]
        for column in COST_COLUMNS:
            df[column] = pd.Series(
                [c[column] for c in costs], dtype=(bool if column == "EarlyStopped" else float)
            )
        return df

    def training_jobs(self) -> list[TrainingJobRecord]:
        """The tuning job's training jobs as stored, in creation order."""
        return self.store.list_training_jobs(self.name)

    def curves(
        self, metric: str | None = None, jobs: Sequence[TrainingJobRecord] | None = None
    ) -> pd.DataFrame:
        """Intermediate metric values in long form, one row per recorded point.

        Args:
            metric: keep only this metric (default: every metric).
            jobs: the training jobs to read (default: all of the tuning job's).

        Returns:
            Columns ``job`` (training job name), ``metric``, ``epoch`` (the step reported),
            ``value`` and ``time`` (aware UTC timestamp), ordered by job creation then by
            recording order. A Python callable reports one point per metric (its final value).
        """
        jobs = self.training_jobs() if jobs is None else jobs
        names = [j.name for j in jobs]
        points = load_metric_points(self.store, names, None if metric is None else [metric])
        return curves_frame(points, names, metric)

    def importance(
        self,
        jobs: Sequence[TrainingJobRecord] | None = None,
        effects: Sequence[dict[str, Any]] | None = None,
    ) -> pd.DataFrame:
        """Per tuned hyperparameter: rank correlation with the objective and importance.

        Args:
            jobs: the training jobs to use (default: all; only those with an objective count).
            effects: :func:`hyperparameter_effects` of ``jobs`` when already computed.

        Returns:
            One row per tuned hyperparameter with columns ``hyperparameter``, ``kind``,
            ``scaling``, ``rank_correlation`` (Spearman, None for categorical ranges) and
            ``importance`` (see ``IMPORTANCE_METHOD``; None with fewer than 4 finished jobs),
            most important first.
        """
        if effects is None:
            jobs = self.training_jobs() if jobs is None else jobs
            effects = hyperparameter_effects(self.space, jobs)
        df = pd.DataFrame(
            list(effects),
            columns=[
                "hyperparameter",
                "kind",
                "scaling",
                "rank_correlation",
                "importance",
                "importance_std",
            ],
        )
        return df.sort_values(
            "importance", ascending=False, na_position="last", kind="stable"
        ).reset_index(drop=True)

    def summary(
        self,
        jobs: Sequence[TrainingJobRecord] | None = None,
        now: float | None = None,
        effects: Sequence[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """What a user wants to know first, as plain JSON-able data.

        Args:
            jobs: the tuning job's training jobs, if already read (default: read them from the
                store). ``Cost`` is the store's sums over all of them, whatever is given.
            now: the clock for running jobs (default: the current time).
            effects: :func:`hyperparameter_effects` of ``jobs`` when already computed.

        Returns:
            ``TuningJobName``, ``Status``, ``Objective`` (metric name and type),
            ``BestTrainingJob`` (name, objective, hyperparameters; None before any result),
            ``TrainingJobCounts`` (one count per status), ``TimeSpent`` (sum of training
            seconds and wall-clock seconds), ``Cost`` (the totals of
            :func:`sagetune.cost.cost_summary`),
            ``Hyperparameters`` (rank correlation and importance per tuned hyperparameter),
            ``SuggestedRanges`` (see :func:`suggested_ranges`) and the ``Methods`` behind
            those figures.
        """
        record = self.store.get_tuning_job(self.name)
        jobs = self.training_jobs() if jobs is None else list(jobs)
        now = time.time() if now is None else now
        counts = {s: 0 for s in TRAINING_JOB_STATUSES}
        for j in jobs:
            counts[j.status] = counts.get(j.status, 0) + 1
        best = self.spec.best_training_job(jobs)
        training_seconds = sum(
            ((j.ended_at or now) - j.started_at) for j in jobs if j.started_at is not None
        )
        importance = self.importance(jobs, effects)
        return {
            "TuningJobName": record.name,
            "Status": record.status,
            "Strategy": self.spec.strategy,
            "Objective": {"MetricName": self.objective_metric_name, "Type": self.objective_type},
            "BestTrainingJob": None
            if best is None
            else {
                "TrainingJobName": best.name,
                "Sequence": best.seq,
                "FinalObjectiveValue": best.objective,
                "Hyperparameters": dict(best.hyperparameters),
            },
            "TrainingJobCount": len(jobs),
            "TrainingJobCounts": counts,
            "TimeSpent": {
                "TrainingSeconds": round(training_seconds, 3),
                "WallClockSeconds": round((record.ended_at or now) - record.created_at, 3),
            },
            "Cost": stored_cost_summary(self.store, self.spec, now),
            "Hyperparameters": [
                {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                for row in importance.to_dict("records")
            ],
            "SuggestedRanges": suggested_ranges(
                self.space, jobs, self.spec.maximize, importance=importance
            ),
            "Methods": {
                "Importance": IMPORTANCE_METHOD,
                "RankCorrelation": RANK_CORRELATION_METHOD,
                "SuggestedRanges": SUGGESTED_RANGES_METHOD,
            },
            "Notes": [COST_NOTE],
            "CreationTime": record.created_at,
            "EndTime": record.ended_at,
            "LastModifiedTime": record.last_modified_at,
            "CompletionReason": (record.details or {}).get("CompletionReason"),
        }


def _utc_times(seconds: list[float | None]) -> Any:
    """Epoch seconds as aware UTC timestamps (NaT where None), as one array; all None stays a
    list of None, as a column of no times reads."""
    if all(s is None for s in seconds):
        return seconds
    values = np.array([np.nan if s is None else s for s in seconds], dtype=float)
    return pd.to_datetime(values, unit="s", utc=True)


def load_metric_points(
    store: Store, names: Iterable[str], metric_names: Iterable[str] | None = None
) -> list[MetricPoint]:
    """Every metric point of the named training jobs (of ``metric_names`` only, when
    given), a bounded number of names per query."""
    names = list(names)
    metrics = None if metric_names is None else list(metric_names)
    out: list[MetricPoint] = []
    for i in range(0, len(names), _NAMES_PER_QUERY):
        out.extend(store.metric_points(names[i : i + _NAMES_PER_QUERY], metrics))
    return out


def curves_frame(
    points: Sequence[MetricPoint], order: Sequence[str] | None = None, metric: str | None = None
) -> pd.DataFrame:
    """Metric points as the long-form frame of :meth:`TuningJobAnalytics.curves`."""
    rank = {n: i for i, n in enumerate(order or [])}
    kept = [p for p in points if metric is None or p.metric_name == metric]
    kept.sort(key=lambda p: rank.get(p.training_job_name, len(rank)))  # stable: keeps rec. order
    df = pd.DataFrame(
        {
            "job": [p.training_job_name for p in kept],
            "metric": [p.metric_name for p in kept],
            "epoch": np.array([p.step for p in kept], dtype=int),
            "value": np.array([p.value for p in kept], dtype=float),
            "time": pd.to_datetime(
                np.array([p.timestamp for p in kept], dtype=float), unit="s", utc=True
            ),
        },
        columns=CURVE_COLUMNS,
    )
    return df


def scaled_axis(space: SearchSpace, name: str, values: Sequence[Any]) -> np.ndarray:
    """Values of one hyperparameter on the axis its range is searched on.

    Numeric values map through the range's scaling (so a log range is compared in decades);
    categorical values become their index among the choices (see ``Parameter.scaled``).
    """
    return space.ranges[name].scaled(values)


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return None
    from scipy.stats import spearmanr

    rho = spearmanr(x[ok], y[ok]).statistic
    return None if not np.isfinite(rho) else float(rho)


def hyperparameter_effects(
    space: SearchSpace, jobs: Sequence[TrainingJobRecord]
) -> list[dict[str, Any]]:
    """Rank correlation and fANOVA importance per tuned hyperparameter.

    Only jobs with an objective value (and a value for every tuned hyperparameter) count.
    Importances (:func:`sagetune.importance.fanova`) sum to 1; all None with fewer than 4
    such jobs, all 0 when the objective is constant.
    """
    scored = [j for j in jobs if j.objective is not None]
    y = np.array([j.objective for j in scored], dtype=float)
    rows: list[dict[str, Any]] = []
    columns = []
    for name, p in space.ranges.items():
        x = scaled_axis(space, name, [j.hyperparameters.get(name) for j in scored])
        rows.append(
            {
                "hyperparameter": name,
                "kind": p.kind,
                "scaling": p.scaling,
                "rank_correlation": None if p.is_categorical else _spearman(x, y),
            }
        )
        columns.append(_unit(space, name, x))
    x_all = np.column_stack(columns) if columns else np.zeros((len(scored), 0))
    ok = np.isfinite(y) & np.all(np.isfinite(x_all), axis=1)
    result = fanova(x_all[ok], y[ok]) if ok.sum() >= 4 else None
    for i, row in enumerate(rows):
        row["importance"] = None if result is None else float(result.mean[i])
        row["importance_std"] = None if result is None else float(result.std[i])
    return rows


def _unit(space: SearchSpace, name: str, x: np.ndarray) -> np.ndarray:
    """A hyperparameter's scaled values mapped onto [0, 1] of its whole range (a categorical
    choice by its index), the cube fANOVA integrates over."""
    p = space.ranges[name]
    if p.is_categorical:
        ends = np.array([0.0, float(max((p.n_values or 1) - 1, 1))])
    else:
        bounds = p.bounds
        assert bounds is not None
        ends = np.asarray(p.scaled(list(bounds)), dtype=float)
    lo, hi = float(ends.min()), float(ends.max())
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(x)


def _round_out(value: float, up: bool, digits: int = 2) -> float:
    """``value`` rounded away from the inside of a range to ``digits`` significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    step = 10.0 ** (math.floor(math.log10(abs(value))) - (digits - 1))
    n = math.ceil(value / step - 1e-9) if up else math.floor(value / step + 1e-9)
    return float(f"{n * step:.12g}")


def suggested_ranges(
    space: SearchSpace,
    jobs: Sequence[TrainingJobRecord],
    maximize: bool,
    importance: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Which ranges to narrow next time: per tuned hyperparameter, the range the best jobs
    used (see :data:`SUGGESTED_RANGES_METHOD`), always holding the best job and within the
    original range.

    Args:
        space: the tuned ranges.
        jobs: the training jobs (only those with an objective count).
        maximize: whether larger objective values are better.
        importance: the rows of :meth:`TuningJobAnalytics.importance` when already computed.

    Returns:
        One dict per hyperparameter, in the space's order: ``hyperparameter``, ``kind``,
        ``scaling``, ``importance``, ``jobs_used`` (how many best jobs the span is of),
        ``range`` and ``suggested`` (each ``{"MinValue", "MaxValue"}`` or ``{"Values"}``),
        and ``parameter_range``: the suggestion as an element of the request's
        ``<Kind>ParameterRanges``, ready to paste. Empty before any job has an objective.
    """
    scored = [j for j in jobs if j.objective is not None and math.isfinite(j.objective)]
    if not scored:
        return []
    # Stable: among equal objectives the earlier job comes first, as for the best job.
    ranked = sorted(scored, key=lambda j: j.objective or 0.0, reverse=maximize)
    top = ranked[: min(len(ranked), max(MIN_TOP, math.ceil(TOP_SHARE * len(ranked))))]
    if importance is None:
        shares = {r["hyperparameter"]: r["importance"] for r in hyperparameter_effects(space, jobs)}
    else:
        shares = dict(zip(importance["hyperparameter"], importance["importance"]))
    rows: list[dict[str, Any]] = []
    for name, p in space.ranges.items():
        used = [j.hyperparameters.get(name) for j in top if name in j.hyperparameters]
        share = shares.get(name)
        row: dict[str, Any] = {
            "hyperparameter": name,
            "kind": p.kind,
            "scaling": p.scaling,
            "importance": None if share is None or share != share else float(share),
            "jobs_used": len(top),
        }
        narrowed: Parameter
        if isinstance(p, CategoricalParameter):
            choices = p.grid_values()
            kept = [v for v in choices if any(str(v) == str(u) for u in used)] or choices
            narrowed = CategoricalParameter(kept)
            row["range"] = {"Values": [str(v) for v in choices]}
            row["suggested"] = {"Values": [str(v) for v in kept]}
        elif isinstance(p, ContinuousParameter | IntegerParameter):
            lo_bound, hi_bound = p.bounds
            units = [p.to_unit(float(u)) for u in used if u is not None]
            lo = float(p.from_unit(max(min(units) - RANGE_PAD, 0.0)))
            hi = float(p.from_unit(min(max(units) + RANGE_PAD, 1.0)))
            lo = max(_round_out(lo, up=False), lo_bound)
            hi = min(_round_out(hi, up=True), hi_bound)
            if isinstance(p, IntegerParameter):
                narrowed = IntegerParameter(math.floor(lo), math.ceil(hi), p.scaling_type)
            else:
                narrowed = ContinuousParameter(lo, hi, p.scaling_type)
            row["range"] = {"MinValue": p.min_value, "MaxValue": p.max_value}
            row["suggested"] = {"MinValue": narrowed.min_value, "MaxValue": narrowed.max_value}
        else:  # pragma: no cover - the three kinds above are every kind there is
            continue
        row["parameter_range"] = narrowed.as_tuning_range(name)
        rows.append(row)
    return rows
