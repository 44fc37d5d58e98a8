"""The spec: the one model of a tuning job that every part of sagetune reads.

A :class:`TuningJobSpec` is built once from a validated request
(:func:`sagetune.spec.parse_request`) and loaded again from the store without touching the
filesystem (:func:`sagetune.spec.load_spec`). Its stored form is the normalised request
(:meth:`TuningJobSpec.to_request`): what DescribeHyperParameterTuningJob returns, every default
filled in, plus sagetune's local settings. Readers ask the spec their questions (the objective
of a definition, its static hyperparameters, the planned epochs, the best training job); they
never read the request dict themselves.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sagetune.definitions import JointSearchSpace
from sagetune.space import SearchSpace
from sagetune.spec.executor import ExecutorChoice
from sagetune.spec.pricing import Pricing
from sagetune.store.records import TrainingJobRecord
from sagetune.strategies.hyperband import EPOCH_KEYS, HyperbandConfig
from sagetune.training import ScriptDefinition

ObjectiveType = Literal["Maximize", "Minimize"]


@dataclass(frozen=True)
class Objective:
    """A tuning objective: the metric and whether larger is better."""

    metric_name: str
    type: ObjectiveType

    @property
    def maximize(self) -> bool:
        return self.type == "Maximize"


@dataclass(frozen=True)
class DefinitionSpec:
    """One validated training job definition.

    A tuning job with ``TrainingJobDefinition`` has one definition whose ``name`` is None; one
    with ``TrainingJobDefinitions`` has one per entry, each named.

    Attributes:
        name: ``DefinitionName``, or None for a lone definition.
        space: this definition's tuned ranges.
        static_hyperparameters: ``StaticHyperParameters`` as given.
        script: how a script-mode job starts (None for a Python callable).
        objective: the definition's objective.
        body: the normalised definition as the request holds it (for answers that echo it:
            AlgorithmSpecification, ResourceConfig, StoppingCondition, ...).
    """

    name: str | None
    space: SearchSpace
    static_hyperparameters: Mapping[str, Any]
    script: ScriptDefinition | None
    objective: Objective
    body: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def objective_metric_name(self) -> str:
        return self.objective.metric_name

    @property
    def instance_type(self) -> str | None:
        """``ResourceConfig.InstanceType`` (None when not given)."""
        resource = self.body.get("ResourceConfig")
        return resource.get("InstanceType") if isinstance(resource, Mapping) else None

    @property
    def instance_count(self) -> int:
        """``ResourceConfig.InstanceCount`` (1 when not given)."""
        resource = self.body.get("ResourceConfig")
        count = resource.get("InstanceCount") if isinstance(resource, Mapping) else None
        return int(count or 1)

    @property
    def managed_spot(self) -> bool:
        """Whether ``EnableManagedSpotTraining`` is set."""
        return bool(self.body.get("EnableManagedSpotTraining"))

    def static_epochs(self) -> int | None:
        """The epochs named by a static hyperparameter (``epochs``, ``num_epochs``, ...)."""
        for key in EPOCH_KEYS:
            value = _positive_int(self.static_hyperparameters.get(key))
            if value is not None:
                return value
        return None


@dataclass(frozen=True)
class WarmStartSpec:
    """Which finished tuning jobs a new one starts from, and how much to trust them."""

    warm_start_type: str
    parents: tuple[str, ...]


@dataclass(frozen=True)
class TuningJobSpec:
    """A validated tuning job.

    Attributes:
        name: HyperParameterTuningJobName.
        strategy: Bayesian, Random, Grid or Hyperband.
        objective_type: Maximize or Minimize (shared by every definition).
        space: what the strategy searches: the lone definition's ranges, or a
            :class:`~sagetune.definitions.JointSearchSpace` over several definitions.
        definitions: one or more training job definitions.
        max_jobs: MaxNumberOfTrainingJobs (filled in for Grid).
        max_parallel_jobs: MaxParallelTrainingJobs.
        max_runtime_in_seconds: the tuning job's time budget, if any.
        early_stopping_type: Off or Auto.
        target_objective_value: TargetObjectiveMetricValue, if any.
        max_jobs_not_improving: MaxNumberOfTrainingJobsNotImproving, if any.
        complete_on_convergence: CompleteOnConvergence Enabled.
        random_seed: RandomSeed as requested (the seed in use is the tuning job record's).
        warm_start: the parents, if any.
        hyperband: Hyperband's resources, for the Hyperband strategy.
        pricing: the request extension ``LocalPricing``, if any.
        executor: the request extension ``LocalExecutor`` (where training jobs run), if any.
        notices: remarks for the user made while validating (nothing is wrong).
    """

    name: str
    strategy: str
    objective_type: ObjectiveType
    space: SearchSpace
    definitions: tuple[DefinitionSpec, ...]
    max_jobs: int
    max_parallel_jobs: int
    max_runtime_in_seconds: float | None
    early_stopping_type: str
    target_objective_value: float | None
    max_jobs_not_improving: int | None
    complete_on_convergence: bool
    random_seed: int | None
    warm_start: WarmStartSpec | None = None
    hyperband: HyperbandConfig | None = None
    pricing: Pricing | None = None
    executor: ExecutorChoice | None = None
    notices: tuple[str, ...] = ()
    normalised: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def to_request(self) -> dict[str, Any]:
        """The normalised request: the stored form, and what describe echoes."""
        return copy.deepcopy(dict(self.normalised))

    # definitions ------------------------------------------------------------------------------
    @property
    def named_definitions(self) -> bool:
        """Whether the request used ``TrainingJobDefinitions`` (training jobs carry the name of
        their definition)."""
        return self.definitions[0].name is not None

    def definition(self, name: str | None) -> DefinitionSpec:
        """The definition a training job belongs to (None for a lone definition).

        Raises:
            KeyError: no definition of that name.
        """
        for d in self.definitions:
            if d.name == name:
                return d
        raise KeyError(name)

    def objective_of(self, definition: str | None = None) -> Objective:
        """The objective of a definition (default: the first)."""
        return (
            self.definition(definition) if definition is not None else self.definitions[0]
        ).objective

    @property
    def objective(self) -> Objective:
        """The objective of the first (for a lone definition, the only) definition."""
        return self.definitions[0].objective

    @property
    def maximize(self) -> bool:
        return self.objective_type == "Maximize"

    def to_minimize(self, value: float) -> float:
        """The objective as strategies see it (always minimised)."""
        return -value if self.maximize else value

    @property
    def hyperparameter_names(self) -> list[str]:
        """Every tuned name, in the order given, across definitions."""
        return list(dict.fromkeys(n for d in self.definitions for n in d.space.names))

    # routing between definitions and the strategy's space --------------------------------------
    def to_strategy_point(
        self, definition: str | None, hyperparameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A training job's tuned values as the strategy sees them."""
        if isinstance(self.space, JointSearchSpace):
            return self.space.join(definition, hyperparameters)  # type: ignore[arg-type]
        return dict(hyperparameters)

    def from_strategy_point(self, point: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
        """(definition name, tuned values) of a strategy's suggestion."""
        if isinstance(self.space, JointSearchSpace):
            return self.space.split(point)
        return None, dict(point)

    # questions readers ask --------------------------------------------------------------------
    def best_training_job(self, jobs: Sequence[TrainingJobRecord]) -> TrainingJobRecord | None:
        """The job with the best final objective (ties go to the earlier job)."""
        return best_training_job(jobs, self.maximize)

    def planned_epochs(
        self, jobs: Sequence[TrainingJobRecord] = (), most_epochs: int | None = None
    ) -> int | None:
        """The epochs a training job runs when nothing stops it.

        Hyperband's MaxResource, else a static hyperparameter ``epochs`` (or ``numepochs``,
        ``n-epochs``, ``n_epochs``, ``num_epochs``) of the lone definition, else the most
        epochs a completed, not early-stopped job of ``jobs`` reported (or ``most_epochs``,
        that figure as the store counted it: ``TrainingJobStats.most_epochs``).
        """
        if self.hyperband is not None:
            return self.hyperband.max_resource
        if not self.named_definitions:
            epochs = self.definitions[0].static_epochs()
            if epochs is not None:
                return epochs
        done = [
            j.epochs_completed
            for j in jobs
            if j.epochs_completed and not j.early_stopped and j.status == "Completed"
        ]
        if most_epochs:
            done.append(most_epochs)
        return max(done) if done else None


def best_training_job(
    jobs: Sequence[TrainingJobRecord], maximize: bool
) -> TrainingJobRecord | None:
    """The job with the best final objective (ties go to the earlier job); None before any."""
    scored = [j for j in jobs if j.objective is not None]
    if not scored:
        return None
    sign = -1.0 if maximize else 1.0
    return min(scored, key=lambda j: (sign * (j.objective or 0.0), j.seq))


def _positive_int(raw: Any) -> int | None:
    """Static hyperparameters are strings in the API: ``"27"`` means 27."""
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        return None
    return value if value >= 1 else None
