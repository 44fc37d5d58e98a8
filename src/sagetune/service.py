"""Create and run tuning jobs: what the SDK and the CLI share.

``create_tuning_job`` validates and stores; ``run_tuning_job`` drives a stored job to its end
(a fresh one, or one whose tuner died: that is ``resume``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

from sagetune.answers import LOCAL_OUTPUT_PATH, Parent, describe_tuning_job
from sagetune.artifacts import fetch_model, model_uri
from sagetune.cost import cost_summary_of_totals, objective_metrics
from sagetune.errors import ResourceInUse, ValidationError
from sagetune.executors.base import Executor
from sagetune.executors.process import ProcessExecutor
from sagetune.executors.routing import RoutingExecutor
from sagetune.executors.subprocess import SubprocessExecutor
from sagetune.runner import EXECUTOR_LOST, SIGNALLED, STORE_LOST, TuningJobRunner
from sagetune.spec import TuningJobSpec, load_spec, parse_request
from sagetune.status import TuningJobStatus
from sagetune.store import Store
from sagetune.store.records import TuningJobRecord
from sagetune.strategies import make_strategy
from sagetune.warmstart import WarmStart, load_parents


def create_tuning_job(
    store: Store,
    request: Mapping[str, Any],
    base_dir: str | Path | None = None,
    train_payload: bytes | None = None,
) -> TuningJobSpec:
    """Validate a request and store it as an InProgress tuning job (nothing runs yet).

    Raises:
        ValidationError: the request breaks a rule (nothing is stored).
        ResourceInUse: the name is taken in this store (nothing is changed).
    """
    spec = parse_request(request, base_dir)
    if spec.warm_start is not None:
        warm = WarmStart(spec, load_parents(spec, store))
        spec = replace(spec, notices=spec.notices + tuple(warm.notices))
    if spec.definitions[0].script is None and train_payload is None:
        raise ValidationError(
            "TrainingJobDefinition: say how to start the training job: "
            "StaticHyperParameters.sagemaker_program (script mode) or "
            "LocalCommand"
        )
    try:
        store.get_tuning_job(spec.name)
    except LookupError:
        pass
    else:
        raise ResourceInUse(
            f"HyperParameterTuningJobName: a tuning job named {spec.name!r} "
            f"already exists in {store.url}"
        )
    seed = spec.random_seed if spec.random_seed is not None else secrets.randbelow(2**31)
    now = time.time()
    store.create_tuning_job(
        TuningJobRecord(
            name=spec.name,
            status=TuningJobStatus.InProgress,
            request=spec.to_request(),
            seed=seed,
            created_at=now,
            last_modified_at=now,
            train_payload=train_payload,
        )
    )
    return spec


def _executor(spec: TuningJobSpec, record: TuningJobRecord) -> Executor:
    if spec.executor is not None and spec.executor.type == "Ray":
        return _ray_executor(spec, record)
    if spec.named_definitions:  # every named definition has a script (validated)
        return RoutingExecutor(
            {
                str(d.name): SubprocessExecutor(d.script, d.objective_metric_name)
                for d in spec.definitions
                if d.script is not None
            }
        )
    script = spec.definitions[0].script
    if script is not None:
        return SubprocessExecutor(script, spec.objective.metric_name)
    if record.train_payload is None:
        raise ValidationError(f"tuning job {spec.name!r} has no training script or function")
    return ProcessExecutor(record.train_payload, spec.max_parallel_jobs)


def _ray_executor(spec: TuningJobSpec, record: TuningJobRecord) -> Executor:
    """The training jobs on a Ray cluster (``LocalExecutor.Type`` Ray); ray is imported here
    only."""
    from sagetune.executors.ray import RayExecutor

    choice = spec.executor
    assert choice is not None
    options: dict[str, Any] = {
        "address": choice.address,
        "resources": choice.instance_resources,
    }
    if spec.named_definitions:
        return RoutingExecutor(
            {
                str(d.name): RayExecutor(
                    d.script, objective_metric=d.objective_metric_name, **options
                )
                for d in spec.definitions
                if d.script is not None
            }
        )
    script = spec.definitions[0].script
    if script is not None:
        return RayExecutor(script, objective_metric=spec.objective.metric_name, **options)
    if record.train_payload is None:
        raise ValidationError(f"tuning job {spec.name!r} has no training script or function")
    resource = spec.definitions[0].body.get("ResourceConfig")
    instance_type = resource.get("InstanceType") if isinstance(resource, Mapping) else None
    return RayExecutor(train=record.train_payload, instance_type=instance_type, **options)


def run_tuning_job(store: Store, name: str, show_progress: bool = False) -> TuningJobRecord:
    """Drive a stored InProgress tuning job to its end; returns its final record.

    A tuning job its tuner stopped resumably (a signal, the store or the executor lost) is
    taken up again, once its executor could be built: when that fails (a Ray cluster still
    down) the record is left exactly as it was.

    Raises:
        ValidationError: the job has already ended, or its executor cannot be built (the
            record unchanged).
        ResourceInUse: a live tuner is already running it.
    """
    record = store.get_tuning_job(name)
    resumable = (STORE_LOST, SIGNALLED, EXECUTOR_LOST)
    stopped_resumably = record.status == TuningJobStatus.Stopped and any(
        record.details.get(k) for k in resumable
    )
    if not stopped_resumably and record.status not in ("InProgress", "Stopping"):
        raise ValidationError(
            f"HyperParameterTuningJobName: tuning job {name!r} is "
            f"{record.status}; only an InProgress tuning job can be run or "
            f"resumed"
        )
    # The training code must be where the request said: checked now, not when results are read.
    spec = load_spec(record, check_paths=True)
    try:
        executor = _executor(spec, record)
    except ValidationError as exc:
        if spec.executor is None or spec.executor.type != "Ray":
            raise
        raise ValidationError(
            f"{exc} (the tuning job {name!r} is stored {record.status}, unchanged: resume "
            "it once the cluster is up)"
        ) from None
    if stopped_resumably:
        # Its tuner stopped it on a signal, or when the store or the executor became
        # unreachable: take it up again.
        details = {
            k: v for k, v in record.details.items() if k not in (*resumable, "CompletionReason")
        }
        store.update_tuning_job(
            name, status="InProgress", ended_at=None, failure_reason=None, details=details
        )
        record = store.get_tuning_job(name)
    strategy = make_strategy(
        spec.strategy, spec.space, record.seed, spec.max_parallel_jobs, hyperband=spec.hyperband
    )
    if show_progress:
        from sagetune.progress import LiveProgress

        display: Any = LiveProgress(spec)
    else:
        display = nullcontext()
    warm = WarmStart(spec, load_parents(spec, store)) if spec.warm_start else None
    with display as progress:
        return TuningJobRunner(spec, store, executor, strategy, progress, warm_start=warm).run()


def output_path(name: str) -> str:
    """The ``S3OutputPath`` answers show for a tuning job whose request gave none.

    It is in S3's form because the SageMaker SDK refuses a ``file://`` output path outside its
    local mode (``HyperparameterTuner.attach`` would fail); ``sagetune-local`` stands for the
    store's job folders, where the artifacts are (``ModelArtifacts`` of DescribeTrainingJob).
    """
    return f"{LOCAL_OUTPUT_PATH}/{name}"


def best_model(store: Store, name: str, dest: str | Path | None = None) -> Path:
    """The best training job's model, unpacked: its ``model.tar.gz`` from the job's folder,
    else from ``{S3OutputPath}/{job}/output/`` (S3 or local).

    Args:
        dest: the folder to unpack into (default: ``best-model`` in the tuning job's folder).

    Raises:
        LookupError: no such tuning job, or no training job with an objective value yet.
        FileNotFoundError: the best job left no model archive (a failed job, or a job that
            ran before artifacts were packed).
    """
    record = store.get_tuning_job(name)
    spec = load_spec(record)
    best = spec.best_training_job(store.list_training_jobs(name))
    if best is None:
        raise LookupError(f"tuning job {name!r} has no training job with an objective value")
    script = spec.definition(best.definition_name).script
    given = script.output_path if script is not None else None
    uri = model_uri(given or output_path(name), best.name)
    target = Path(dest) if dest is not None else store.tuning_job_dir(name) / "best-model"
    return fetch_model(store.training_job_dir(name, best.name), uri, target)


def describe(store: Store, name: str) -> dict[str, Any]:
    """DescribeHyperParameterTuningJob, with OverallBestTrainingJob across the parents of a
    warm-started job (those with the same objective metric)."""
    record = store.get_tuning_job(name)
    spec = load_spec(record)
    now = time.time()
    # Sums and the best jobs from the store, so the answer costs the same at 10 or 10,000
    # training jobs; a warm start's parents are represented by their best job alone.
    stats = store.training_job_stats(name)
    planned = spec.planned_epochs(most_epochs=stats.most_epochs)
    totals = store.training_job_totals(name, now, planned, objective_metrics(spec))
    parent_jobs: list[Parent] = []
    for parent in spec.warm_start.parents if spec.warm_start is not None else ():
        try:
            parent_spec = load_spec(store.get_tuning_job(parent))
        except LookupError:
            continue
        if parent_spec.objective == spec.objective:
            best = store.training_job_stats(parent).best(parent_spec.maximize)
            parent_jobs.append((parent_spec, [best] if best is not None else []))
    out = describe_tuning_job(
        spec,
        record,
        (),
        now,
        parents=parent_jobs,
        output_path=output_path(name),
        stats=stats,
        runtime_seconds=sum(t.runtime_seconds for t in totals),
    )
    # Not in SageMaker's answer: billable time, cost and early-stopping savings (sagetune.cost).
    out["Cost"] = cost_summary_of_totals(spec, totals, planned)
    return out
