"""Warm start: a tuning job begins with what its parent tuning jobs learned.

- ``IdenticalDataAndAlgorithm``: same objective (metric and direction), same static
  hyperparameters and entry point. The parents' finished training jobs are observations as
  they are: the strategy starts where the parents stopped, and Random and Grid skip points a
  parent already ran.
- ``TransferLearning``: data, entry point and static hyperparameters may differ, and so may the
  objective metric (not its direction). A parent's values inform the model but are not trusted
  as equal: each parent gets its own offset and scale. Its values are standardised, then
  mapped onto the spread of the child's own values (mean and standard deviation) once the
  child has two or more, and onto the spread of all parents' values before that. The shape of
  the parent's landscape (where it is good) carries over; its level does not. Random and Grid
  ignore TransferLearning parents (their points are not the same experiment).

Parent points are mapped into the child's space: a hyperparameter tuned in both keeps its
value; one tuned only in the child takes the parent's static value when the parent had one,
else the middle of the child's range (the first value of a categorical range). A parent point
outside the child's ranges (a value below a narrowed range, a category the child dropped) is
left out rather than clipped into a wrong value; the count left out is reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sagetune.errors import ResourceNotFound, ValidationError
from sagetune.space import Parameter, SearchSpace
from sagetune.spec import TuningJobSpec, load_spec
from sagetune.store import Store
from sagetune.store.records import TrainingJobRecord
from sagetune.strategies import Observation

MAX_PARENT_TRAINING_JOBS = 500
_PATH = "WarmStartConfig.ParentHyperParameterTuningJobs"


@dataclass(frozen=True)
class Parent:
    name: str
    spec: TuningJobSpec
    jobs: tuple[TrainingJobRecord, ...]


def load_parents(spec: TuningJobSpec, store: Store) -> list[Parent]:
    """Load and check the parents against SageMaker's warm start rules.

    Raises:
        ValidationError: every broken rule, each with its field path.
    """
    ws = spec.warm_start
    if ws is None:
        return []
    errors: list[str] = []
    parents: list[Parent] = []
    if spec.named_definitions:
        errors.append("WarmStartConfig: warm start is not supported with TrainingJobDefinitions")
    for name in ws.parents:
        path = f"{_PATH}[{name}]"
        if name == spec.name:
            errors.append(f"{path}: a tuning job cannot be its own parent")
            continue
        try:
            record = store.get_tuning_job(name)
        except ResourceNotFound:
            errors.append(f"{path}: no tuning job named {name!r} in {store.url}")
            continue
        if record.status not in ("Completed", "Stopped"):
            errors.append(f"{path}: a parent must be Completed or Stopped, it is {record.status}")
            continue
        pspec = load_spec(record)
        if pspec.named_definitions:
            errors.append(f"{path}: a parent with TrainingJobDefinitions cannot be used")
            continue
        errors += _compatibility(spec, pspec, path)
        parents.append(Parent(name, pspec, tuple(store.list_training_jobs(name))))
    total = sum(len(p.jobs) for p in parents)
    if total > MAX_PARENT_TRAINING_JOBS:
        errors.append(
            f"{_PATH}: the parents have {total} training jobs in all; at most "
            f"{MAX_PARENT_TRAINING_JOBS} can be used"
        )
    if errors:
        raise ValidationError(errors)
    return parents


def _compatibility(child: TuningJobSpec, parent: TuningJobSpec, path: str) -> list[str]:
    errors = []
    for name, p in child.space.ranges.items():
        q = parent.space.ranges.get(name)
        if q is not None and q.kind != p.kind:
            errors.append(
                f"{path}: hyperparameter {name!r} is {q.kind} in the parent and "
                f"{p.kind} here; the type of a tuned hyperparameter cannot change"
            )
    if parent.objective_type != child.objective_type:
        errors.append(
            f"{path}: the parent's objective Type is {parent.objective_type}, this "
            f"job's is {child.objective_type}; they must match"
        )
    if child.warm_start and child.warm_start.warm_start_type == "IdenticalDataAndAlgorithm":
        mine_metric = child.objective.metric_name
        their_metric = parent.objective.metric_name
        if their_metric != mine_metric:
            errors.append(
                f"{path}: IdenticalDataAndAlgorithm needs the same objective metric; "
                f"the parent's is {their_metric!r}, this job's {mine_metric!r}"
            )
        tuned = set(child.space.ranges) | set(parent.space.ranges)
        mine = {
            k: str(v)
            for k, v in child.definitions[0].static_hyperparameters.items()
            if k not in tuned
        }
        theirs = {
            k: str(v)
            for k, v in parent.definitions[0].static_hyperparameters.items()
            if k not in tuned
        }
        if mine != theirs:
            diff = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
            errors.append(
                f"{path}: IdenticalDataAndAlgorithm needs the same static "
                f"hyperparameters; these differ: {', '.join(diff)} (use "
                f"TransferLearning)"
            )
        if _entry_point(child) != _entry_point(parent):
            errors.append(
                f"{path}: IdenticalDataAndAlgorithm needs the same entry point; "
                f"the parent ran {_entry_point(parent)}, this job "
                f"{_entry_point(child)} (use TransferLearning)"
            )
    return errors


def _entry_point(spec: TuningJobSpec) -> str:
    script = spec.definitions[0].script
    if script is None:
        return "a Python function"
    return " ".join(script.command) + f" in {script.source}"


def _value_in_child(p: Parameter, raw: Any) -> tuple[bool, Any]:
    """(usable, value) of a parent's value on a child's range."""
    try:
        return True, p.coerce(raw)
    except ValueError:
        return False, None


def map_point(
    child: SearchSpace, job_hps: Mapping[str, Any], parent_static: Mapping[str, Any]
) -> dict[str, Any] | None:
    """A parent job's point in the child's space, or None when it lies outside it."""
    out: dict[str, Any] = {}
    for name, p in child.ranges.items():
        if name in job_hps:
            ok, value = _value_in_child(p, job_hps[name])
        elif name in parent_static:
            ok, value = _value_in_child(p, parent_static[name])
        else:
            ok, value = True, p.neutral()
        if not ok:
            return None
        out[name] = value
    return out


class WarmStart:
    """The parents' observations, combined with the child's own for its strategy."""

    def __init__(self, spec: TuningJobSpec, parents: Sequence[Parent]):
        self.kind = spec.warm_start.warm_start_type if spec.warm_start else None
        self.use_for_strategy = (
            self.kind == "IdenticalDataAndAlgorithm" or spec.strategy == "Bayesian"
        )
        self.groups: list[list[Observation]] = []
        self.left_out: dict[str, int] = {}
        for parent in parents:
            group = []
            for job in parent.jobs:
                if job.objective is None or job.status not in ("Completed", "Stopped"):
                    continue
                point = map_point(
                    spec.space,
                    job.hyperparameters,
                    parent.spec.definitions[0].static_hyperparameters,
                )
                if point is None:
                    self.left_out[parent.name] = self.left_out.get(parent.name, 0) + 1
                    continue
                group.append(
                    Observation(
                        point,
                        job.status,  # type: ignore[arg-type]
                        spec.to_minimize(job.objective),
                    )
                )
            self.groups.append(group)

    @property
    def notices(self) -> list[str]:
        return [
            f"{_PATH}[{name}]: {n} training jobs lie outside this job's ranges and are not used"
            for name, n in self.left_out.items()
        ]

    def combine(self, own: Sequence[Observation]) -> list[Observation]:
        """What the strategy sees: the parents' observations first, then the child's."""
        if not self.use_for_strategy:
            return list(own)
        if self.kind == "IdenticalDataAndAlgorithm":
            return [o for g in self.groups for o in g] + list(own)
        mine = [o.value for o in own if o.value is not None and o.has_value]
        pooled = [o.value for g in self.groups for o in g if o.value is not None]
        target = mine if len(mine) >= 2 else pooled
        if len(target) < 1:
            return list(own)
        mu, sd = float(np.mean(target)), float(np.std(target)) or 1.0
        out: list[Observation] = []
        for group in self.groups:
            values = np.array([o.value for o in group], dtype=float)
            if len(values) == 0:
                continue
            g_mu, g_sd = float(values.mean()), float(values.std()) or 1.0
            for o in group:
                z = (o.value - g_mu) / g_sd  # type: ignore[operator]
                out.append(replace(o, value=mu + sd * z if math.isfinite(z) else mu))
        return out + list(own)
