"""What a tuning job cost, and what early stopping or Hyperband saved.

Every training job records its billable seconds (start to end of its process) and the epochs
of its objective it reported. With a price per instance-hour for the job's
``ResourceConfig.InstanceType`` the cost of a job is::

    billable seconds / 3600 * price * InstanceCount * (1 - SpotDiscount if spot)

where spot means ``EnableManagedSpotTraining: true`` in its training job definition. Prices
come from a ``--prices`` file or from the request extension ``LocalPricing``::

    "LocalPricing": {"InstancePricesPerHour": {"ml.m5.xlarge": 0.23}, "SpotDiscount": 0.7}

(a prices file may also be a plain mapping of instance type to price). ``SpotDiscount`` is
the fraction of the on-demand price saved by spot training; it defaults to 0, so spot changes
nothing until a discount is given. A spot job's billable seconds are the time its process ran
(the waits for capacity after simulated interruptions are not billed), and its spot saving is
what those seconds would have cost on demand less what they cost on spot.

The saving of a job stopped by early stopping or Hyperband is the epochs it did not run times
its seconds per epoch, measured between its first and last reported epochs (so the time to
start the process and load data is not counted per epoch; with a single epoch reported,
billable seconds / epochs). The epochs it would have run are Hyperband's ``MaxResource``,
else the static hyperparameter ``epochs`` (or ``numepochs``, ``n-epochs``, ``n_epochs``,
``num_epochs``), else the most epochs any job of the tuning job completed. A saving is never
more than a full run would have added: when jobs ran all the planned epochs, a stopped job's
billable seconds plus its saving are at most the longest of those full runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagetune.errors import ValidationError
from sagetune.spec import TuningJobSpec
from sagetune.spec.pricing import Pricing, validate_pricing
from sagetune.store.base import Store
from sagetune.store.records import MetricPoint, TrainingJobRecord, TrainingJobTotals


def load_prices(path: str | Path) -> Pricing:
    """A prices file (JSON or YAML): ``LocalPricing``'s shape, or instance type -> price.

    Raises:
        ValidationError: unreadable, not JSON/YAML, or a bad price.
    """
    import yaml

    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ValidationError(f"--prices: cannot read {str(p)!r}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text) if p.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValidationError(f"--prices: {str(p)!r} is not valid JSON or YAML: {exc}") from None
    if isinstance(data, Mapping) and not ({"InstancePricesPerHour", "SpotDiscount"} & data.keys()):
        data = {"InstancePricesPerHour": data}
    errors: list[str] = []
    pricing = validate_pricing(data, errors, path="--prices")
    if errors or pricing is None:
        raise ValidationError(errors or ["--prices: must be an object"])
    return pricing


def billable_seconds(job: TrainingJobRecord, now: float | None = None) -> float:
    """Seconds from the job's start to its end (to ``now`` while it runs)."""
    if job.billable_seconds is not None:
        return float(job.billable_seconds)
    if job.started_at is None:
        return 0.0
    end = job.ended_at if job.ended_at is not None else (now or job.started_at)
    return max(0.0, end - job.started_at)


@dataclass(frozen=True)
class JobCost:
    """The cost figures of one training job (money is None without a price)."""

    name: str
    status: str
    instance_type: str | None
    instance_count: int
    spot: bool
    billable_seconds: float
    epochs: int
    early_stopped: bool
    epochs_not_run: int
    saved_seconds: float
    cost: float | None
    saved_cost: float | None
    spot_saved_cost: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """SageMaker-style field names."""
        return {
            "TrainingJobName": self.name,
            "TrainingJobStatus": self.status,
            "InstanceType": self.instance_type,
            "InstanceCount": self.instance_count,
            "ManagedSpotTraining": self.spot,
            "BillableTimeInSeconds": round(self.billable_seconds, 3),
            "EpochsCompleted": self.epochs,
            "EarlyStopped": self.early_stopped,
            "EpochsNotRun": self.epochs_not_run,
            "EstimatedSavedSeconds": round(self.saved_seconds, 3),
            "Cost": _round(self.cost),
            "EstimatedSavedCost": _round(self.saved_cost),
            "SpotSavedCost": _round(self.spot_saved_cost),
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def epoch_seconds(points: Iterable[MetricPoint], metric: str) -> float | None:
    """Seconds per epoch of one job, from the times of its first and last reported epochs
    of ``metric`` (None with fewer than two epochs)."""
    series = sorted((p.step, p.timestamp) for p in points if p.metric_name == metric)
    if len(series) < 2 or series[-1][0] <= series[0][0]:
        return None
    (first, t0), (last, t1) = series[0], series[-1]
    return max(0.0, t1 - t0) / (last - first)


def job_costs(
    spec: TuningJobSpec,
    jobs: Sequence[TrainingJobRecord],
    pricing: Pricing | None = None,
    now: float | None = None,
    per_epoch: Mapping[str, float] | None = None,
) -> list[JobCost]:
    """Each training job's cost figures; prices from ``pricing`` over the request's.

    Args:
        per_epoch: measured seconds per epoch of the early-stopped jobs
            (:func:`epoch_seconds`); billable seconds / epochs where missing.
    """
    prices = (spec.pricing or Pricing()).merged(pricing)
    planned = spec.planned_epochs(jobs)
    full_runs = [
        billable_seconds(j, now)
        for j in jobs
        if planned
        and j.status == "Completed"
        and not j.early_stopped
        and (j.epochs_completed or 0) >= planned
    ]
    longest_full = max(full_runs) if full_runs else None
    out = []
    for job in jobs:
        definition = _definition_of(spec, job)
        kind = definition.instance_type if definition is not None else None
        count = definition.instance_count if definition is not None else 1
        spot = definition.managed_spot if definition is not None else False
        seconds = billable_seconds(job, now)
        epochs = int(job.epochs_completed or 0)
        not_run = max(0, planned - epochs) if job.early_stopped and planned and epochs else 0
        rate_per_epoch = (per_epoch or {}).get(job.name)
        if rate_per_epoch is None:
            rate_per_epoch = seconds / epochs if epochs else 0.0
        saved = not_run * rate_per_epoch
        if longest_full is not None:
            saved = min(saved, max(0.0, longest_full - seconds))
        price = prices.prices.get(kind) if kind is not None else None
        rate = spot_saved = None
        if price is not None:
            discount = prices.spot_discount if spot else 0.0
            rate = price * count * (1 - discount) / 3600
            spot_saved = seconds * price * count * discount / 3600
        out.append(
            JobCost(
                job.name,
                job.status,
                kind,
                count,
                spot,
                seconds,
                epochs,
                job.early_stopped,
                not_run,
                saved,
                None if rate is None else seconds * rate,
                None if rate is None else saved * rate,
                spot_saved,
            )
        )
    return out


def stopped_epoch_seconds(
    spec: TuningJobSpec, jobs: Sequence[TrainingJobRecord], points_of: Any
) -> dict[str, float]:
    """Measured seconds per epoch of the early-stopped jobs; ``points_of(names)`` reads their
    metric points (one query for all of them)."""
    stopped = [j for j in jobs if j.early_stopped]
    if not stopped:
        return {}
    by_job: dict[str, list[MetricPoint]] = {}
    for p in points_of([j.name for j in stopped]):
        by_job.setdefault(p.training_job_name, []).append(p)
    out = {}
    for j in stopped:
        metric = spec.objective_of(j.definition_name).metric_name
        seconds = epoch_seconds(by_job.get(j.name, []), metric)
        if seconds is not None:
            out[j.name] = seconds
    return out


def objective_metrics(spec: TuningJobSpec) -> dict[str | None, str]:
    """Each definition's objective metric name, by definition name: the series whose epochs
    measure an early-stopped job's pace (``Store.training_job_totals``)."""
    return {d.name: d.objective_metric_name for d in spec.definitions}


def _definition_of(spec: TuningJobSpec, job: TrainingJobRecord) -> Any:
    try:
        return spec.definition(job.definition_name)
    except KeyError:  # a job of a definition name the spec does not know: no price
        return None


def cost_summary(
    spec: TuningJobSpec,
    jobs: Sequence[TrainingJobRecord],
    pricing: Pricing | None = None,
    now: float | None = None,
    per_epoch: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Totals for a tuning job (the ``Cost`` part of describe, and ``sagetune cost``).

    ``TotalCost`` and ``CostPerTrainingJob`` are None unless every job with billable time has
    a price for its instance type.
    """
    rows = job_costs(spec, jobs, pricing, now, per_epoch)
    prices = (spec.pricing or Pricing()).merged(pricing)
    priced = [r for r in rows if r.billable_seconds > 0]
    costs = [r.cost for r in priced if r.cost is not None]
    total = sum(costs) if priced and len(costs) == len(priced) else None
    saved_cost = sum(r.saved_cost or 0.0 for r in rows) if total is not None else None
    spot_saved = sum(r.spot_saved_cost or 0.0 for r in rows) if total is not None else None
    missing = sorted({str(r.instance_type) for r in priced if r.cost is None})
    return {
        "NumberOfTrainingJobs": len(rows),
        "BillableTimeInSeconds": round(sum(r.billable_seconds for r in rows), 3),
        "TotalCost": _round(total),
        "CostPerTrainingJob": _round(total / len(rows) if total is not None and rows else None),
        "EpochsCompleted": sum(r.epochs for r in rows),
        "EarlyStoppedTrainingJobs": sum(r.early_stopped for r in rows),
        "PlannedEpochsPerTrainingJob": spec.planned_epochs(jobs),
        "EpochsNotRun": sum(r.epochs_not_run for r in rows),
        "EstimatedSavedSeconds": round(sum(r.saved_seconds for r in rows), 3),
        "EstimatedSavedCost": _round(saved_cost),
        "ManagedSpotTrainingJobs": sum(r.spot for r in rows),
        "SpotBillableTimeInSeconds": round(sum(r.billable_seconds for r in rows if r.spot), 3),
        "SpotDiscount": prices.spot_discount,
        "SpotSavedCost": _round(spot_saved),
        "InstanceTypesWithoutPrice": missing,
    }


def cost_summary_of_totals(
    spec: TuningJobSpec,
    totals: Sequence[TrainingJobTotals],
    planned_epochs: int | None,
    pricing: Pricing | None = None,
) -> dict[str, Any]:
    """``cost_summary`` from the store's per-definition sums (``Store.training_job_totals``)
    instead of every training job: the same figures, for a tuning job of any size.

    Args:
        planned_epochs: ``spec.planned_epochs`` of the jobs, the one ``totals`` was made with.
    """
    prices = (spec.pricing or Pricing()).merged(pricing)
    billed = sum(t.billed_jobs for t in totals)
    costs: list[float] = []
    saved_costs: list[float] = []
    spot_saved: list[float] = []
    missing: set[str] = set()
    unpriced = 0
    for t in totals:
        definition = _definition_named(spec, t.definition_name)
        kind = definition.instance_type if definition is not None else None
        count = definition.instance_count if definition is not None else 1
        spot = definition.managed_spot if definition is not None else False
        price = prices.prices.get(kind) if kind is not None else None
        if price is None:
            unpriced += t.billed_jobs
            if t.billed_jobs:
                missing.add(str(kind))
            continue
        discount = prices.spot_discount if spot else 0.0
        rate = price * count * (1 - discount) / 3600
        costs.append(t.billable_seconds * rate)
        saved_costs.append(t.saved_seconds * rate)
        spot_saved.append(t.billable_seconds * price * count * discount / 3600)
    jobs = sum(t.jobs for t in totals)
    total = sum(costs) if billed and not unpriced else None
    spot_totals = [t for t in totals if _spot(spec, t.definition_name)]
    return {
        "NumberOfTrainingJobs": jobs,
        "BillableTimeInSeconds": round(sum(t.billable_seconds for t in totals), 3),
        "TotalCost": _round(total),
        "CostPerTrainingJob": _round(total / jobs if total is not None and jobs else None),
        "EpochsCompleted": sum(t.epochs for t in totals),
        "EarlyStoppedTrainingJobs": sum(t.early_stopped for t in totals),
        "PlannedEpochsPerTrainingJob": planned_epochs,
        "EpochsNotRun": sum(t.epochs_not_run for t in totals),
        "EstimatedSavedSeconds": round(sum(t.saved_seconds for t in totals), 3),
        "EstimatedSavedCost": _round(sum(saved_costs) if total is not None else None),
        "ManagedSpotTrainingJobs": sum(t.jobs for t in spot_totals),
        "SpotBillableTimeInSeconds": round(sum(t.billable_seconds for t in spot_totals), 3),
        "SpotDiscount": prices.spot_discount,
        "SpotSavedCost": _round(sum(spot_saved) if total is not None else None),
        "InstanceTypesWithoutPrice": sorted(missing),
    }


def stored_cost_summary(
    store: Store, spec: TuningJobSpec, now: float, pricing: Pricing | None = None
) -> dict[str, Any]:
    """``cost_summary`` of every training job of ``spec``'s tuning job from the store's sums
    (``Store.training_job_stats`` and ``training_job_totals``), without reading the jobs or
    the metric points of the early-stopped ones."""
    stats = store.training_job_stats(spec.name)
    planned = spec.planned_epochs(most_epochs=stats.most_epochs)
    totals = store.training_job_totals(spec.name, now, planned, objective_metrics(spec))
    return cost_summary_of_totals(spec, totals, planned, pricing)


def _definition_named(spec: TuningJobSpec, name: str | None) -> Any:
    try:
        return spec.definition(name)
    except KeyError:  # a definition name the spec does not know: no price
        return None


def _spot(spec: TuningJobSpec, name: str | None) -> bool:
    definition = _definition_named(spec, name)
    return bool(definition.managed_spot) if definition is not None else False
