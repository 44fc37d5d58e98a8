"""The SDK: ``HyperparameterTuner``, shaped like ``sagemaker.tuner.HyperparameterTuner``."""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from sagetune import api, service
from sagetune.analytics import TuningJobAnalytics
from sagetune.errors import ValidationError
from sagetune.executors.process import serialize_callable
from sagetune.naming import name_from_base
from sagetune.space import Parameter
from sagetune.spec import load_spec, parse_request
from sagetune.spec.executor import executor_member
from sagetune.store import Store, open_store
from sagetune.store.records import FINISHED
from sagetune.strategy_config import StrategyConfig


@dataclass(frozen=True)
class TuningJobCompletionCriteriaConfig:
    """SageMaker's completion criteria (see :mod:`sagetune.completion` for their meaning)."""

    max_number_training_jobs_not_improving: int | None = None
    complete_on_convergence: bool | None = None
    target_objective_metric_value: float | None = None

    def to_input_req(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.target_objective_metric_value is not None:
            out["TargetObjectiveMetricValue"] = self.target_objective_metric_value
        if self.max_number_training_jobs_not_improving is not None:
            out["BestObjectiveNotImproving"] = {
                "MaxNumberOfTrainingJobsNotImproving": self.max_number_training_jobs_not_improving
            }
        if self.complete_on_convergence is not None:
            out["ConvergenceDetected"] = {
                "CompleteOnConvergence": "Enabled" if self.complete_on_convergence else "Disabled"
            }
        return out


class WarmStartTypes(str, Enum):
    """SageMaker's warm start types (see :mod:`sagetune.warmstart`)."""

    IDENTICAL_DATA_AND_ALGORITHM = "IdenticalDataAndAlgorithm"
    TRANSFER_LEARNING = "TransferLearning"


class WarmStartConfig:
    """Start a tuning job from finished parent tuning jobs in the same store.

    Args:
        warm_start_type: a WarmStartTypes member or its string.
        parents: names of 1 to 5 parent tuning jobs (a set or a list).

    Example:
        >>> config = WarmStartConfig(WarmStartTypes.TRANSFER_LEARNING, parents={"first-job"})
        >>> request = config.to_input_req()
        >>> request["WarmStartType"], request["ParentHyperParameterTuningJobs"]
        ('TransferLearning', [{'HyperParameterTuningJobName': 'first-job'}])
    """

    def __init__(
        self,
        warm_start_type: WarmStartTypes | str = "IdenticalDataAndAlgorithm",
        parents: set[str] | list[str] | tuple[str, ...] | str = (),
    ):
        self.type = (
            WarmStartTypes(warm_start_type).value
            if isinstance(warm_start_type, WarmStartTypes)
            else warm_start_type
        )
        if isinstance(parents, str):
            parents = [parents]
        self.parents = sorted(parents) if isinstance(parents, (set, frozenset)) else list(parents)

    def to_input_req(self) -> dict[str, Any]:
        """The request's ``WarmStartConfig``."""
        return {
            "WarmStartType": self.type,
            "ParentHyperParameterTuningJobs": [
                {"HyperParameterTuningJobName": p} for p in self.parents
            ],
        }


TrainFunction = Callable[..., Any]


@dataclass(frozen=True)
class TrainedModel:
    """The best training job, as ``best_estimator()`` gives it: what SageMaker's attached
    estimator carries that means something locally.

    Attributes:
        training_job_name: the best training job.
        hyperparameters: its tuned and static hyperparameters, as the job received them.
        objective_value: its final objective metric value.
        model_data: ``ModelArtifacts.S3ModelArtifacts`` (where its ``model.tar.gz`` is).
    """

    training_job_name: str
    hyperparameters: dict[str, Any]
    objective_value: float | None
    model_data: str
    _tuner: Any = None

    def model_dir(self, path: str | Path | None = None) -> Path:
        """The model, unpacked (see :meth:`HyperparameterTuner.best_model`)."""
        return self._tuner.best_model(path)


class HyperparameterTuner:
    """Tunes a training function's hyperparameters, locally, the SageMaker way.

    Takes the SageMaker Python SDK's argument order, with the training function (or a
    script-mode training job definition) where the SDK has its estimator::

        HyperparameterTuner(train, "validation:auc", ranges, max_jobs=20).fit()

    or the metric first, the training function given to :meth:`fit`::

        HyperparameterTuner("validation:auc", ranges, max_jobs=20).fit(train)

    Args:
        estimator: the training function or definition (see :meth:`fit`), or, in the second
            form, the objective metric's name (or nothing, with ``objective_metric_name=``).
        objective_metric_name: the metric to optimise (a key of what ``train`` returns).
        hyperparameter_ranges: name -> ContinuousParameter / IntegerParameter /
            CategoricalParameter.
        metric_definitions: ``[{"Name": ..., "Regex": ...}]`` for a script-mode definition
            (added to its ``AlgorithmSpecification.MetricDefinitions``).
        objective_type: ``Maximize`` or ``Minimize``.
        strategy: ``Bayesian`` (default), ``Random``, ``Grid`` or ``Hyperband``.
        max_jobs: MaxNumberOfTrainingJobs (failed jobs count too). Defaults to 1, or to the
            number of combinations for Grid, as in SageMaker's SDK.
        max_parallel_jobs: how many training jobs run at once.
        early_stopping_type: ``Off`` (default) or ``Auto``: stop a job whose objective is
            worse than the median of earlier jobs' running averages at the same epoch (see
            :mod:`sagetune.stopping.median`). Needs intermediate values: a ``train`` that
            takes a reporter, or a script whose log matches the metric each epoch.
        random_seed: makes suggestions reproducible; drawn (and stored) when None.
        base_tuning_job_name: prefix of generated tuning job names (default ``sagetune``).
        completion_criteria: a TuningJobCompletionCriteriaConfig, or its request form (a dict
            with ``TargetObjectiveMetricValue``, ``BestObjectiveNotImproving``,
            ``ConvergenceDetected``).
        max_runtime_in_seconds: the tuning job's time budget.
        store: SQLAlchemy URL (``sqlite:///path.db``, ``postgresql://...``), a SQLite file path,
            or None for the default store (``$SAGETUNE_STORE``, else
            ``~/.sagetune/sagetune.db``).
        static_hyperparameters: fixed hyperparameters passed to every training job.
        show_progress: live table in the terminal; default when stderr is a terminal.
        warm_start_config: start from finished parent tuning jobs (WarmStartConfig).
        strategy_config: for Hyperband, ``StrategyConfig(HyperbandStrategyConfig(
            max_resource=..., min_resource=...))`` (epochs), or its request form.
        pricing: the request extension ``LocalPricing`` for cost figures, e.g.
            ``{"InstancePricesPerHour": {"ml.m5.xlarge": 0.23}}`` (see :mod:`sagetune.cost`);
            jobs of a Python callable take the instance type of ``instance_type``.
        instance_type: ``ResourceConfig.InstanceType`` recorded for the training jobs (on
            Ray, also the resources each asks for: :mod:`sagetune.executors.ray`).
        tags: ``[{"Key": ..., "Value": ...}]``, the tuning job's ``Tags`` (ListTags answers
            them for it and its training jobs).
        completion_criteria_config: the SageMaker SDK's name of ``completion_criteria``.
        executor: where training jobs run: ``"local"`` (default: worker processes on this
            machine) or ``"ray"`` (a Ray cluster); stored with the tuning job as the request
            extension ``LocalExecutor``.
        ray_address: the Ray cluster's address (``host:6379``, ``ray://host:10001``);
            default ``RAY_ADDRESS``, else a new local Ray. Implies ``executor="ray"``.
        ray_resources: Ray resources per instance type, over the built-in table, e.g.
            ``{"ml.m5.large": {"CPU": 1}}``.

    Raises:
        ValidationError: when the configuration breaks a rule (all problems listed).

    Example:
        >>> from sagetune import HyperparameterTuner, ContinuousParameter
        >>> def train(hp):
        ...     return {"loss": (hp["x"] - 2.0) ** 2}
        >>> tuner = HyperparameterTuner("loss", {"x": ContinuousParameter(-5, 5)},
        ...                             objective_type="Minimize", max_jobs=10,
        ...                             store="sqlite:///example.db")  # doctest: +SKIP
        >>> tuner.fit(train)  # doctest: +SKIP
    """

    def __init__(
        self,
        estimator: TrainFunction | Mapping[str, Any] | str | None = None,
        objective_metric_name: str | Mapping[str, Parameter] | None = None,
        hyperparameter_ranges: Mapping[str, Parameter] | None = None,
        metric_definitions: list[Mapping[str, str]] | None = None,
        strategy: str = "Bayesian",
        objective_type: str = "Maximize",
        max_jobs: int | None = None,
        max_parallel_jobs: int = 1,
        max_runtime_in_seconds: int | None = None,
        tags: list[Mapping[str, str]] | None = None,
        base_tuning_job_name: str | None = None,
        warm_start_config: WarmStartConfig | Mapping[str, Any] | None = None,
        strategy_config: StrategyConfig | Mapping[str, Any] | None = None,
        completion_criteria_config: TuningJobCompletionCriteriaConfig
        | Mapping[str, Any]
        | None = None,
        early_stopping_type: str = "Off",
        random_seed: int | None = None,
        *,
        completion_criteria: TuningJobCompletionCriteriaConfig | Mapping[str, Any] | None = None,
        store: Store | str | None = None,
        static_hyperparameters: Mapping[str, Any] | None = None,
        show_progress: bool | None = None,
        pricing: Mapping[str, Any] | None = None,
        instance_type: str | None = None,
        executor: str | None = None,
        ray_address: str | None = None,
        ray_resources: Mapping[str, Mapping[str, float]] | None = None,
    ):
        self.local_executor = executor_member(executor, ray_address, ray_resources)
        self.estimator: TrainFunction | Mapping[str, Any] | None = None
        if isinstance(estimator, str):  # the metric first; the function comes with fit()
            if hyperparameter_ranges is None and isinstance(objective_metric_name, Mapping):
                hyperparameter_ranges = objective_metric_name
            objective_metric_name = estimator
        elif estimator is not None:
            if not callable(estimator) and not isinstance(estimator, Mapping):
                raise ValidationError(
                    "estimator: must be a training function, a training job definition (a "
                    f"dict) or the objective metric's name, got {type(estimator).__name__}"
                )
            self.estimator = estimator
        if not isinstance(objective_metric_name, str) or not objective_metric_name:
            raise ValidationError(
                "objective_metric_name: is required (the metric to optimise, a string), got "
                f"{type(objective_metric_name).__name__}"
            )
        if hyperparameter_ranges is None:
            raise ValidationError(
                "hyperparameter_ranges: is required (a dict of name -> ContinuousParameter / "
                "IntegerParameter / CategoricalParameter)"
            )
        if completion_criteria is not None and completion_criteria_config is not None:
            raise ValidationError(
                "completion_criteria_config: give it or completion_criteria, not both"
            )
        self.metric_definitions = [dict(m) for m in metric_definitions or []]
        self.tags = [dict(t) for t in tags or []]
        self._configure(
            objective_metric_name,
            hyperparameter_ranges,
            objective_type,
            strategy,
            max_jobs,
            max_parallel_jobs,
            early_stopping_type,
            random_seed,
            base_tuning_job_name,
            completion_criteria if completion_criteria is not None else completion_criteria_config,
            max_runtime_in_seconds,
            store,
            static_hyperparameters,
            show_progress,
            warm_start_config,
            strategy_config,
            pricing,
            instance_type,
        )
        # Validate now, so a mistake shows before any training starts.
        parse_request(self.request("validation-only"))

    def _configure(
        self,
        objective_metric_name: str,
        hyperparameter_ranges: Mapping[str, Parameter],
        objective_type: str,
        strategy: str,
        max_jobs: int | None,
        max_parallel_jobs: int,
        early_stopping_type: str,
        random_seed: int | None,
        base_tuning_job_name: str | None,
        completion_criteria: TuningJobCompletionCriteriaConfig | Mapping[str, Any] | None,
        max_runtime_in_seconds: int | None,
        store: Store | str | None,
        static_hyperparameters: Mapping[str, Any] | None,
        show_progress: bool | None,
        warm_start_config: WarmStartConfig | Mapping[str, Any] | None,
        strategy_config: StrategyConfig | Mapping[str, Any] | None,
        pricing: Mapping[str, Any] | None,
        instance_type: str | None,
    ) -> None:
        if not isinstance(hyperparameter_ranges, Mapping):
            raise ValidationError(
                "hyperparameter_ranges: must be a dict of name -> "
                "ContinuousParameter / IntegerParameter / CategoricalParameter"
            )
        bad = [k for k, v in hyperparameter_ranges.items() if not isinstance(v, Parameter)]
        if bad:
            raise ValidationError(
                [
                    f"hyperparameter_ranges[{k}]: must be a ContinuousParameter, "
                    f"IntegerParameter or CategoricalParameter, got "
                    f"{type(hyperparameter_ranges[k]).__name__}"
                    for k in bad
                ]
            )
        self.objective_metric_name = objective_metric_name
        self.hyperparameter_ranges = dict(hyperparameter_ranges)
        self.objective_type = objective_type
        self.strategy = strategy
        if max_jobs is None and strategy != "Grid":
            max_jobs = 1
        self.max_jobs = max_jobs
        self.max_parallel_jobs = max_parallel_jobs
        self.early_stopping_type = early_stopping_type
        self.random_seed = random_seed
        self.base_tuning_job_name = base_tuning_job_name or "sagetune"
        if isinstance(completion_criteria, TuningJobCompletionCriteriaConfig):
            completion_criteria = completion_criteria.to_input_req()
        self.completion_criteria = dict(completion_criteria or {})
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.static_hyperparameters = dict(static_hyperparameters or {})
        self.show_progress = show_progress
        self.strategy_config = (
            strategy_config.to_input_req()
            if isinstance(strategy_config, StrategyConfig)
            else strategy_config
        )
        self.pricing = dict(pricing) if pricing else None
        self.instance_type = instance_type
        self.warm_start_config = (
            warm_start_config.to_input_req()
            if isinstance(warm_start_config, WarmStartConfig)
            else warm_start_config
        )
        self._store_arg = store
        self._store: Store | None = None
        self.latest_tuning_job: str | None = None

    @property
    def store(self) -> Store:
        """The store this tuner writes to (opened on first use)."""
        if self._store is None:
            self._store = open_store(self._store_arg)
        return self._store

    def request(self, job_name: str) -> dict[str, Any]:
        """The CreateHyperParameterTuningJob request this tuner sends for ``job_name``."""
        ranges: dict[str, list[dict[str, Any]]] = {
            "ContinuousParameterRanges": [],
            "IntegerParameterRanges": [],
            "CategoricalParameterRanges": [],
        }
        for name, p in self.hyperparameter_ranges.items():
            ranges[f"{p.kind}ParameterRanges"].append(p.as_tuning_range(name))
        limits: dict[str, Any] = {"MaxParallelTrainingJobs": self.max_parallel_jobs}
        if self.max_jobs is not None:
            limits["MaxNumberOfTrainingJobs"] = self.max_jobs
        if self.max_runtime_in_seconds is not None:
            limits["MaxRuntimeInSeconds"] = self.max_runtime_in_seconds
        config: dict[str, Any] = {
            "Strategy": self.strategy,
            "HyperParameterTuningJobObjective": {
                "Type": self.objective_type,
                "MetricName": self.objective_metric_name,
            },
            "ResourceLimits": limits,
            "ParameterRanges": ranges,
            "TrainingJobEarlyStoppingType": self.early_stopping_type,
        }
        if self.completion_criteria:
            config["TuningJobCompletionCriteria"] = self.completion_criteria
        if self.random_seed is not None:
            config["RandomSeed"] = self.random_seed
        request: dict[str, Any] = {
            "HyperParameterTuningJobName": job_name,
            "HyperParameterTuningJobConfig": config,
            "TrainingJobDefinition": {"StaticHyperParameters": self.static_hyperparameters},
        }
        if self.warm_start_config:
            request["WarmStartConfig"] = dict(self.warm_start_config)
        if self.strategy_config:
            config["StrategyConfig"] = dict(self.strategy_config)
        if self.pricing:
            request["LocalPricing"] = self.pricing
        if self.local_executor:
            request["LocalExecutor"] = dict(self.local_executor)
        if self.instance_type:
            request["TrainingJobDefinition"]["ResourceConfig"] = {
                "InstanceType": self.instance_type,
                "InstanceCount": 1,
            }
        if self.tags:
            request["Tags"] = [dict(t) for t in self.tags]
        return request

    def fit(
        self,
        train: TrainFunction | Mapping[str, Any] | None = None,
        job_name: str | None = None,
        wait: bool = True,
        *,
        inputs: Mapping[str, Any] | None = None,
    ) -> None:
        """Run a tuning job (to its end, unless ``wait=False``).

        Args:
            train: either a Python callable ``train(hyperparameters) -> float | dict[str,
                float]`` (it runs in worker processes, so it may be defined in a script or a
                notebook; a float is the objective metric, a dict must hold it; with a second
                parameter, ``train(hyperparameters, report)``, it gets a reporter and calls
                ``report(epoch=k, **metrics)`` after each epoch, see
                :mod:`sagetune.reporting`; with a ``model_dir`` parameter it gets the job's
                model folder), or a script-mode training job definition (the request's
                ``TrainingJobDefinition``: ``StaticHyperParameters.sagemaker_program``,
                ``LocalCommand`` or a ``TrainingImage``, and
                ``AlgorithmSpecification.MetricDefinitions``). Default: the tuner's
                ``estimator``. For a tuner made with a definition, a dict of channel name ->
                URI (the SageMaker SDK's ``fit(inputs)``) is taken as ``inputs``.
            job_name: the tuning job's name (default: generated from the base name).
            wait: False returns once the tuning job is stored, with a detached tuner process
                running it (as the CLI's ``create-hyper-parameter-tuning-job``); see
                :meth:`wait` and :meth:`stop_tuning_job`.
            inputs: channel name -> ``s3://`` URI, ``file://`` URL or path (or a full
                ``Channel`` dict), the definition's ``InputDataConfig``.

        Raises:
            ValidationError: on a bad configuration (nothing is stored).
            ResourceInUse: the name is already used in the store.
        """
        if (
            self.estimator is not None
            and isinstance(train, Mapping)
            and inputs is None
            and all(not k[:1].isupper() for k in train)  # channel names, not definition keys
        ):
            train, inputs = None, train
        train = train if train is not None else self.estimator
        if train is None:
            raise ValidationError(
                "train: give fit() the training function or definition (or the tuner an estimator)"
            )
        if not wait and self.store.url.rstrip("/") in ("sqlite:", "sqlite://"):
            raise ValidationError(
                "wait: fit(wait=False) runs the tuning job in another process, which cannot "
                "see an in-memory store; give store= a file or a database URL"
            )
        name = job_name or name_from_base(self.base_tuning_job_name)
        request = self.request(name)
        payload = None
        if isinstance(train, Mapping):
            definition = dict(train)
            static = {
                **self.static_hyperparameters,
                **(definition.get("StaticHyperParameters") or {}),
            }
            request["TrainingJobDefinition"] = {**definition, "StaticHyperParameters": static}
            self._add_metric_definitions(request["TrainingJobDefinition"])
            if inputs is not None:
                request["TrainingJobDefinition"]["InputDataConfig"] = _channels(inputs)
        else:
            for given, what in (
                (self.metric_definitions, "metric_definitions"),
                (inputs, "inputs"),
            ):
                if given:
                    raise ValidationError(
                        f"{what}: only for a script-mode training job definition; a training "
                        f"function returns or reports its metrics and reads its own data"
                    )
            payload = serialize_callable(train)
        service.create_tuning_job(self.store, request, train_payload=payload)
        self.latest_tuning_job = name
        if not wait:
            from sagetune.cli import background

            background.start(self.store, name, cwd=Path.cwd())
            return
        show = self.show_progress if self.show_progress is not None else sys.stderr.isatty()
        service.run_tuning_job(self.store, name, show_progress=show)

    def _add_metric_definitions(self, definition: dict[str, Any]) -> None:
        if not self.metric_definitions:
            return
        algo = dict(definition.get("AlgorithmSpecification") or {})
        have = {m.get("Name") for m in algo.get("MetricDefinitions") or []}
        algo["MetricDefinitions"] = [
            *(algo.get("MetricDefinitions") or []),
            *(m for m in self.metric_definitions if m.get("Name") not in have),
        ]
        definition["AlgorithmSpecification"] = algo

    def wait(self, poll: float = 1.0, timeout: float | None = None) -> str:
        """Wait for the latest tuning job to end; returns its status.

        Raises:
            TimeoutError: ``timeout`` seconds passed first.
        """
        name = self._require_job()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.store.get_tuning_job(name).status
            if status in FINISHED:
                return str(status)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"tuning job {name!r} is still {status}")
            time.sleep(poll)

    def stop_tuning_job(self) -> None:
        """StopHyperParameterTuningJob for the latest tuning job (its tuner stops its
        training jobs and marks it Stopped)."""
        from sagetune.control import stop_tuning_job

        stop_tuning_job(self.store, self._require_job())

    def identical_dataset_and_algorithm_tuner(
        self, additional_parents: set[str] | None = None
    ) -> HyperparameterTuner:
        """A new tuner like this one, warm-started (IdenticalDataAndAlgorithm) from the
        latest tuning job and ``additional_parents``."""
        return self._warm_tuner(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, additional_parents)

    def transfer_learning_tuner(
        self,
        additional_parents: set[str] | None = None,
        estimator: TrainFunction | Mapping[str, Any] | None = None,
    ) -> HyperparameterTuner:
        """A new tuner like this one, warm-started (TransferLearning) from the latest tuning
        job and ``additional_parents``; ``estimator`` replaces the training function."""
        return self._warm_tuner(WarmStartTypes.TRANSFER_LEARNING, additional_parents, estimator)

    def _warm_tuner(
        self,
        kind: WarmStartTypes,
        additional_parents: set[str] | None,
        estimator: TrainFunction | Mapping[str, Any] | None = None,
    ) -> HyperparameterTuner:
        parents = {self._require_job(), *(additional_parents or ())}
        tuner = copy.copy(self)
        tuner.warm_start_config = WarmStartConfig(kind, parents).to_input_req()
        tuner.latest_tuning_job = None
        if estimator is not None:
            tuner.estimator = estimator
        return tuner

    def best_estimator(self) -> TrainedModel:
        """The best training job of the latest tuning job: its hyperparameters, objective
        value and ``model_data`` (its ``model.tar.gz``); ``.model_dir()`` unpacks it."""
        name = self.best_training_job()
        described = api.call(
            api.Backend(self.store), "DescribeTrainingJob", {"TrainingJobName": name}
        )
        job = self.store.get_training_job(name)
        return TrainedModel(
            training_job_name=name,
            hyperparameters=dict(described.get("HyperParameters") or {}),
            objective_value=job.objective,
            model_data=described.get("ModelArtifacts", {}).get("S3ModelArtifacts", ""),
            _tuner=self,
        )

    def _require_job(self) -> str:
        if self.latest_tuning_job is None:
            raise RuntimeError("no tuning job yet: call fit() first (or attach())")
        return self.latest_tuning_job

    @classmethod
    def attach(cls, tuning_job_name: str, store: Store | str | None = None) -> HyperparameterTuner:
        """A tuner for an existing tuning job, to read its results.

        Works for every kind of tuning job, also after its training code has moved: the tuner
        is rebuilt from the stored spec, which is not validated against the disk again.
        """
        st = open_store(store)
        spec = load_spec(st.get_tuning_job(tuning_job_name))
        request = spec.to_request()
        config = request["HyperParameterTuningJobConfig"]
        definition = spec.definitions[0]
        resource = definition.body.get("ResourceConfig") or {}
        tuner = cls.__new__(cls)
        tuner.estimator = None  # the stored job keeps its code; fit() needs it given again
        tuner.metric_definitions = []
        tuner.tags = [dict(t) for t in request.get("Tags") or []]
        tuner._configure(
            spec.objective.metric_name,
            dict(spec.space.ranges),
            spec.objective_type,
            spec.strategy,
            spec.max_jobs,
            spec.max_parallel_jobs,
            spec.early_stopping_type,
            spec.random_seed,
            None,
            config.get("TuningJobCompletionCriteria"),
            config["ResourceLimits"].get("MaxRuntimeInSeconds"),
            st,
            definition.static_hyperparameters,
            None,
            request.get("WarmStartConfig"),
            config.get("StrategyConfig"),
            request.get("LocalPricing"),
            resource.get("InstanceType") if isinstance(resource, Mapping) else None,
        )
        tuner.local_executor = request.get("LocalExecutor")
        tuner.latest_tuning_job = tuning_job_name
        return tuner

    def describe(self) -> dict[str, Any]:
        """The DescribeHyperParameterTuningJob answer for the latest tuning job."""
        return service.describe(self.store, self._require_job())

    def best_training_job(self) -> str:
        """The name of the best training job of the latest tuning job.

        Raises:
            RuntimeError: when no training job has an objective value yet.
        """
        name = self._require_job()
        spec = load_spec(self.store.get_tuning_job(name))
        best = spec.best_training_job(self.store.list_training_jobs(name))
        if best is None:
            raise RuntimeError(f"tuning job {name!r} has no training job with an objective value")
        return best.name

    def best_model(self, path: str | Path | None = None) -> Path:
        """The best training job's model, unpacked into ``path`` (default: ``best-model`` in
        the tuning job's folder); returns the folder. For the built-in XGBoost algorithm it
        holds ``xgboost-model``; for a script or a callable that takes ``model_dir``, what
        it wrote there.

        Raises:
            LookupError: when no training job has an objective value yet.
            FileNotFoundError: when the best job left no ``model.tar.gz``.
        """
        return service.best_model(self.store, self._require_job(), path)

    def analytics(self) -> TuningJobAnalytics:
        """Analytics of the latest tuning job (``.dataframe()`` as in SageMaker's SDK)."""
        return TuningJobAnalytics(self._require_job(), store=self.store)


def _channels(inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``fit(inputs)`` as ``InputDataConfig``: a URI per channel, or a full Channel dict."""
    out = []
    for name, value in inputs.items():
        if isinstance(value, Mapping):
            out.append({"ChannelName": name, **value})
        else:
            out.append(
                {
                    "ChannelName": name,
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": value}},
                }
            )
    return out
