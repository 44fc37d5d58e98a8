"""DescribeHyperParameterTuningJob and ListTrainingJobsForHyperParameterTuningJob answers.

Field names and shapes are boto3's, so code written against SageMaker reads them unchanged.
Times are aware UTC datetimes, as boto3 returns them.

The answers are in the form the service returns: strings where the API has strings
(hyperparameter values), every member its model requires present for every kind of job. A
callable's or a ``LocalCommand``'s definition names no image, role, output path or instance, so
the documented local defaults below stand in for what the request left out (the SageMaker
SDK's ``HyperparameterTuner.attach`` reads all of them). A definition's
``StaticHyperParameters`` carry ``_tuning_objective_metric``, as SageMaker's do.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sagetune.artifacts import model_uri
from sagetune.images import LOCAL_IMAGE as LOCAL_TRAINING_IMAGE
from sagetune.naming import ACCOUNT, to_datetime, training_job_arn, tuning_job_arn
from sagetune.spec import TuningJobSpec
from sagetune.spec.model import DefinitionSpec
from sagetune.status import TrainingJobStatus
from sagetune.store.records import TrainingJobRecord, TrainingJobStats, TuningJobRecord

# A parent of a warm-started job: its spec and its training jobs.
Parent = tuple[TuningJobSpec, Sequence[TrainingJobRecord]]

# What an answer shows where the request gave nothing (a callable's or LocalCommand's job).
LOCAL_TRAINING_INPUT_MODE = "File"
LOCAL_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/sagetune-local"
LOCAL_INSTANCE_TYPE = "ml.m5.large"
LOCAL_INSTANCE_COUNT = 1
LOCAL_VOLUME_SIZE_IN_GB = 30  # the SageMaker SDK's default
LOCAL_MAX_RUNTIME_IN_SECONDS = 86400  # SageMaker's default: one day
LOCAL_OUTPUT_PATH = "s3://sagetune-local"  # a placeholder in S3's form: see service.output_path
TUNING_OBJECTIVE_KEY = "_tuning_objective_metric"


def api_string(value: Any) -> str:
    """A hyperparameter value as the API carries it: a string as given, a number as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def _filled(given: Any, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` (a mapping, or nothing) with each missing or empty member defaulted."""
    out = dict(given) if isinstance(given, Mapping) else {}
    for key, value in defaults.items():
        if out.get(key) in (None, ""):
            out[key] = value
    return out


def _algorithm(body: Mapping[str, Any]) -> dict[str, Any]:
    algo = _filled(
        body.get("AlgorithmSpecification"),
        {"TrainingInputMode": LOCAL_TRAINING_INPUT_MODE, "MetricDefinitions": []},
    )
    if not algo.get("TrainingImage") and not algo.get("AlgorithmName"):
        algo["TrainingImage"] = LOCAL_TRAINING_IMAGE
    return algo


def _resources(body: Mapping[str, Any]) -> dict[str, Any]:
    given = body.get("ResourceConfig")
    defaults: dict[str, Any] = {"VolumeSizeInGB": LOCAL_VOLUME_SIZE_IN_GB}
    if not (isinstance(given, Mapping) and given.get("InstanceGroups")):
        defaults |= {"InstanceType": LOCAL_INSTANCE_TYPE, "InstanceCount": LOCAL_INSTANCE_COUNT}
    return _filled(given, defaults)


def _job_settings(body: Mapping[str, Any], output_path: str) -> dict[str, Any]:
    """The members a training job definition and DescribeTrainingJob share, defaults filled."""
    return {
        "AlgorithmSpecification": _algorithm(body),
        "RoleArn": body.get("RoleArn") or LOCAL_ROLE_ARN,
        # KmsKeyId "" as the service answers without a key (the SDK's attach reads it).
        "OutputDataConfig": {
            "KmsKeyId": "",
            **_filled(body.get("OutputDataConfig"), {"S3OutputPath": output_path}),
        },
        "ResourceConfig": _resources(body),
        "StoppingCondition": _filled(
            body.get("StoppingCondition"), {"MaxRuntimeInSeconds": LOCAL_MAX_RUNTIME_IN_SECONDS}
        ),
    }


def static_hyperparameters(definition: DefinitionSpec) -> dict[str, str]:
    """A definition's static hyperparameters as describe shows them: strings, and the
    ``_tuning_objective_metric`` the service adds (the plain metric name, as its answers
    carry it; the SageMaker SDK JSON-encodes only its own ``sagemaker_*`` values)."""
    out = {k: api_string(v) for k, v in definition.static_hyperparameters.items()}
    out.setdefault(TUNING_OBJECTIVE_KEY, definition.objective_metric_name)
    return out


def training_job_definition(
    definition: DefinitionSpec, body: Mapping[str, Any], output_path: str = LOCAL_OUTPUT_PATH
) -> dict[str, Any]:
    """A ``TrainingJobDefinition(s)`` entry as describe returns it (see the module's notes)."""
    out = copy.deepcopy(dict(body))
    out.update(_job_settings(body, output_path))
    out["StaticHyperParameters"] = static_hyperparameters(definition)
    return out


def training_job_summary(spec: TuningJobSpec, job: TrainingJobRecord) -> dict[str, Any]:
    """One element of ListTrainingJobsForHyperParameterTuningJob's TrainingJobSummaries."""
    objective = spec.objective_of(job.definition_name)
    out: dict[str, Any] = {
        "TrainingJobDefinitionName": job.definition_name,
        "TrainingJobName": job.name,
        "TrainingJobArn": training_job_arn(job.name),
        "TuningJobName": spec.name,
        "CreationTime": to_datetime(job.created_at),
        "TrainingStartTime": to_datetime(job.started_at),
        "TrainingEndTime": to_datetime(job.ended_at),
        "TrainingJobStatus": job.status,
        "TunedHyperParameters": {k: api_string(v) for k, v in job.hyperparameters.items()},
        "ObjectiveStatus": job.objective_status,
    }
    if job.failure_reason:
        out["FailureReason"] = job.failure_reason[:1024]
    if job.objective is not None:
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective.type,
            "MetricName": objective.metric_name,
            "Value": job.objective,
        }
    return {k: v for k, v in out.items() if v is not None}


def describe_tuning_job(
    spec: TuningJobSpec,
    record: TuningJobRecord,
    jobs: Sequence[TrainingJobRecord],
    now: float,
    parents: Sequence[Parent] = (),
    output_path: str = LOCAL_OUTPUT_PATH,
    stats: TrainingJobStats | None = None,
    runtime_seconds: float = 0.0,
) -> dict[str, Any]:
    """The DescribeHyperParameterTuningJob answer for a stored tuning job.

    ``parents`` (warm start) adds ``OverallBestTrainingJob``: the best across the job and its
    parents (a parent's jobs may be just its best one). ``output_path`` is the ``S3OutputPath``
    shown where the request gave none. With ``stats`` (the store's counts and best jobs) and
    ``runtime_seconds`` (the sum of the jobs' run times), ``jobs`` is not read: a tuning job
    of any size is described without reading its training jobs.
    """
    if stats is None:
        statuses: Mapping[str, int] = Counter(j.status for j in jobs)
        objective = [j.objective_status for j in jobs]
        objective_counts = {k: objective.count(k) for k in ("Succeeded", "Pending", "Failed")}
        runtime = sum(
            ((j.ended_at or now) - j.started_at) for j in jobs if j.started_at is not None
        )
        best = spec.best_training_job(jobs)
    else:
        statuses = stats.by_status
        failed = stats.finished_without_objective
        objective_counts = {
            "Succeeded": stats.with_objective,
            "Pending": stats.total - stats.with_objective - failed,
            "Failed": failed,
        }
        runtime = runtime_seconds
        best = stats.best(spec.maximize)
    counters = {
        "Completed": statuses.get(TrainingJobStatus.Completed, 0),
        "InProgress": statuses.get(TrainingJobStatus.InProgress, 0)
        + statuses.get(TrainingJobStatus.Stopping, 0),
        "RetryableError": 0,
        "NonRetryableError": statuses.get(TrainingJobStatus.Failed, 0),
        "Stopped": statuses.get(TrainingJobStatus.Stopped, 0),
    }
    end = record.ended_at
    request = spec.to_request()
    if spec.named_definitions:
        definitions: Any = [
            training_job_definition(spec.definition(item["DefinitionName"]), item, output_path)
            for item in request["TrainingJobDefinitions"]
        ]
        definition = None
    else:
        definitions = None
        definition = training_job_definition(
            spec.definitions[0], request["TrainingJobDefinition"], output_path
        )
    out: dict[str, Any] = {
        "HyperParameterTuningJobName": record.name,
        "HyperParameterTuningJobArn": tuning_job_arn(record.name),
        "HyperParameterTuningJobConfig": request.get("HyperParameterTuningJobConfig"),
        "TrainingJobDefinition": definition,
        "TrainingJobDefinitions": definitions,
        "HyperParameterTuningJobStatus": record.status,
        "CreationTime": to_datetime(record.created_at),
        "HyperParameterTuningEndTime": to_datetime(end),
        "LastModifiedTime": to_datetime(record.last_modified_at),
        "TrainingJobStatusCounters": counters,
        "ObjectiveStatusCounters": objective_counts,
        "ConsumedResources": {"RuntimeInSeconds": int(round(runtime))},
    }
    if best is not None:
        out["BestTrainingJob"] = training_job_summary(spec, best)
    if spec.warm_start is not None:
        out["WarmStartConfig"] = request.get("WarmStartConfig")
        candidates = [(spec, best)] if best is not None else []
        for parent_spec, parent_jobs in parents:
            pbest = parent_spec.best_training_job(parent_jobs)
            if pbest is not None:
                candidates.append((parent_spec, pbest))
        if candidates:
            sign = -1.0 if spec.maximize else 1.0
            owner, overall = min(candidates, key=lambda c: sign * (c[1].objective or 0.0))
            out["OverallBestTrainingJob"] = training_job_summary(owner, overall)
    if record.failure_reason:
        out["FailureReason"] = record.failure_reason
    details = record.details or {}
    if (
        "NumberOfTrainingJobsObjectiveNotImproving" in details
        or "ConvergenceDetectedTime" in details
    ):
        out["TuningJobCompletionDetails"] = {
            k: (to_datetime(v) if k == "ConvergenceDetectedTime" else v)
            for k, v in details.items()
            if k in ("NumberOfTrainingJobsObjectiveNotImproving", "ConvergenceDetectedTime")
        }
    if details.get("CompletionReason"):
        # Not in SageMaker's answer: why the job ended, for people reading it locally.
        out["CompletionReason"] = details["CompletionReason"]
    return {k: v for k, v in out.items() if v is not None}


def tuning_job_summary(
    spec: TuningJobSpec, record: TuningJobRecord, counts: TrainingJobStats
) -> dict[str, Any]:
    """One element of ListHyperParameterTuningJobs' HyperParameterTuningJobSummaries, from
    the store's counts of its training jobs (``Store.training_job_counts``)."""
    full = describe_tuning_job(spec, record, (), record.last_modified_at, stats=counts)
    config = spec.to_request()["HyperParameterTuningJobConfig"]
    out = {
        k: full.get(k)
        for k in (
            "HyperParameterTuningJobName",
            "HyperParameterTuningJobArn",
            "HyperParameterTuningJobStatus",
            "CreationTime",
            "HyperParameterTuningEndTime",
            "LastModifiedTime",
            "TrainingJobStatusCounters",
            "ObjectiveStatusCounters",
        )
    }
    out["Strategy"] = spec.strategy
    out["ResourceLimits"] = config.get("ResourceLimits")
    return {k: v for k, v in out.items() if v is not None}


def describe_training_job(
    spec: TuningJobSpec,
    job: TrainingJobRecord,
    now: float,
    output_path: str = LOCAL_OUTPUT_PATH,
) -> dict[str, Any]:
    """The DescribeTrainingJob answer for one of a tuning job's training jobs.

    Times in seconds are whole and at least 1 once the job has started (the API's minimum).
    ``TrainingTimeInSeconds`` is the wall time from the job's first start; a finished managed
    spot job's ``BillableTimeInSeconds`` is the time its process ran (its waits for spot
    capacity after interruptions not counted), so SageMaker's saving formula,
    ``1 - BillableTimeInSeconds / TrainingTimeInSeconds``, holds.
    """
    d = spec.definition(job.definition_name)
    definition = d.body
    hyperparameters = {
        **static_hyperparameters(d),
        **{k: api_string(v) for k, v in job.hyperparameters.items()},
    }
    secondary = {"InProgress": "Training", "Stopping": "Stopping"}.get(job.status, job.status)
    if (
        job.status == "Stopped"
        and job.failure_reason
        and "MaxRuntimeInSeconds" in (job.failure_reason)
    ):
        secondary = "MaxRuntimeExceeded"
    if (
        job.status == "Stopped"
        and job.failure_reason
        and job.failure_reason.startswith("MaxWaitTimeInSeconds")
    ):
        secondary = "MaxWaitTimeExceeded"
    end = job.ended_at if job.ended_at is not None else now
    seconds = max(1, int(round(end - job.started_at))) if job.started_at is not None else None
    billable = seconds
    if seconds is not None and job.billable_seconds is not None and job.ended_at is not None:
        # A managed spot job bills the time it ran, not the time it waited for capacity.
        billable = max(1, int(round(job.billable_seconds)))
    configured = definition.get("OutputDataConfig")
    given = configured.get("S3OutputPath") if isinstance(configured, Mapping) else None
    artifacts = model_uri(given if isinstance(given, str) and given else output_path, job.name)
    out: dict[str, Any] = {
        "TrainingJobName": job.name,
        "TrainingJobArn": training_job_arn(job.name),
        "TuningJobArn": tuning_job_arn(spec.name),
        # Packed once the job has trained (sagetune.artifacts), as the service answers.
        "ModelArtifacts": (
            {"S3ModelArtifacts": artifacts} if job.status in ("Completed", "Stopped") else None
        ),
        "HyperParameters": hyperparameters,
        "InputDataConfig": definition.get("InputDataConfig"),
        "RetryStrategy": definition.get("RetryStrategy"),
        "TrainingJobStatus": job.status,
        "SecondaryStatus": secondary,
        "FailureReason": job.failure_reason[:1024] if job.failure_reason else None,
        "CreationTime": to_datetime(job.created_at),
        "TrainingStartTime": to_datetime(job.started_at),
        "TrainingEndTime": to_datetime(job.ended_at),
        "LastModifiedTime": to_datetime(job.ended_at or job.started_at or job.created_at),
        "TrainingTimeInSeconds": seconds,
        "BillableTimeInSeconds": billable,
        "EnableManagedSpotTraining": definition.get("EnableManagedSpotTraining"),
        "CheckpointConfig": definition.get("CheckpointConfig"),
        "FinalMetricDataList": [
            {"MetricName": k, "Value": v, "Timestamp": to_datetime(end)}
            for k, v in job.final_metrics.items()
        ],
    }
    out.update(_job_settings(definition, output_path))
    return {k: v for k, v in out.items() if v is not None}
