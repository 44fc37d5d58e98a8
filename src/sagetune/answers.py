"""DescribeHyperParameterTuningJob and ListTrainingJobsForHyperParameterTuningJob answers.

Field names and shapes are boto3's, so code written against SageMaker reads them unchanged.
Times are aware UTC datetimes, as boto3 returns them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sagetune.naming import to_datetime, training_job_arn, tuning_job_arn
from sagetune.spec import TuningJobSpec
from sagetune.status import TrainingJobStatus
from sagetune.store.records import TrainingJobRecord, TuningJobRecord

# A parent of a warm-started job: its spec and its training jobs.
Parent = tuple[TuningJobSpec, Sequence[TrainingJobRecord]]


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
        "TunedHyperParameters": {k: str(v) for k, v in job.hyperparameters.items()},
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
) -> dict[str, Any]:
    """The DescribeHyperParameterTuningJob answer for a stored tuning job.

    ``parents`` (warm start) adds ``OverallBestTrainingJob``: the best across the job and its
    parents.
    """
    statuses = Counter(j.status for j in jobs)
    counters = {
        "Completed": statuses[TrainingJobStatus.Completed],
        "InProgress": statuses[TrainingJobStatus.InProgress] + statuses[TrainingJobStatus.Stopping],
        "RetryableError": 0,
        "NonRetryableError": statuses[TrainingJobStatus.Failed],
        "Stopped": statuses[TrainingJobStatus.Stopped],
    }
    objective = [j.objective_status for j in jobs]
    end = record.ended_at
    runtime = sum(((j.ended_at or now) - j.started_at) for j in jobs if j.started_at is not None)
    request = spec.to_request()
    out: dict[str, Any] = {
        "HyperParameterTuningJobName": record.name,
        "HyperParameterTuningJobArn": tuning_job_arn(record.name),
        "HyperParameterTuningJobConfig": request.get("HyperParameterTuningJobConfig"),
        "TrainingJobDefinition": request.get("TrainingJobDefinition"),
        "TrainingJobDefinitions": request.get("TrainingJobDefinitions"),
        "HyperParameterTuningJobStatus": record.status,
        "CreationTime": to_datetime(record.created_at),
        "HyperParameterTuningEndTime": to_datetime(end),
        "LastModifiedTime": to_datetime(record.last_modified_at),
        "TrainingJobStatusCounters": counters,
        "ObjectiveStatusCounters": {
            "Succeeded": objective.count("Succeeded"),
            "Pending": objective.count("Pending"),
            "Failed": objective.count("Failed"),
        },
        "ConsumedResources": {"RuntimeInSeconds": int(round(runtime))},
    }
    best = spec.best_training_job(jobs)
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
    spec: TuningJobSpec, record: TuningJobRecord, jobs: Sequence[TrainingJobRecord]
) -> dict[str, Any]:
    """One element of ListHyperParameterTuningJobs' HyperParameterTuningJobSummaries."""
    full = describe_tuning_job(spec, record, jobs, record.last_modified_at)
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
    spec: TuningJobSpec, job: TrainingJobRecord, now: float, job_dir: str | None = None
) -> dict[str, Any]:
    """The DescribeTrainingJob answer for one of a tuning job's training jobs."""
    d = spec.definition(job.definition_name)
    definition = d.body
    static = d.static_hyperparameters
    hyperparameters = {
        k: (v if isinstance(v, str) else str(v))
        for k, v in {**static, **job.hyperparameters}.items()
    }
    secondary = {"InProgress": "Training", "Stopping": "Stopping"}.get(job.status, job.status)
    if (
        job.status == "Stopped"
        and job.failure_reason
        and "MaxRuntimeInSeconds" in (job.failure_reason)
    ):
        secondary = "MaxRuntimeExceeded"
    end = job.ended_at if job.ended_at is not None else now
    seconds = int(round(end - job.started_at)) if job.started_at is not None else 0
    out: dict[str, Any] = {
        "TrainingJobName": job.name,
        "TrainingJobArn": training_job_arn(job.name),
        "TuningJobArn": tuning_job_arn(spec.name),
        "HyperParameters": hyperparameters,
        "AlgorithmSpecification": definition.get("AlgorithmSpecification"),
        "RoleArn": definition.get("RoleArn"),
        "InputDataConfig": definition.get("InputDataConfig"),
        "OutputDataConfig": definition.get("OutputDataConfig"),
        "ResourceConfig": definition.get("ResourceConfig"),
        "StoppingCondition": definition.get("StoppingCondition"),
        "RetryStrategy": definition.get("RetryStrategy"),
        "TrainingJobStatus": job.status,
        "SecondaryStatus": secondary,
        "FailureReason": job.failure_reason[:1024] if job.failure_reason else None,
        "CreationTime": to_datetime(job.created_at),
        "TrainingStartTime": to_datetime(job.started_at),
        "TrainingEndTime": to_datetime(job.ended_at),
        "LastModifiedTime": to_datetime(job.ended_at or job.started_at or job.created_at),
        "TrainingTimeInSeconds": seconds,
        "BillableTimeInSeconds": seconds,
        "FinalMetricDataList": [
            {"MetricName": k, "Value": v, "Timestamp": to_datetime(end)}
            for k, v in job.final_metrics.items()
        ],
    }
    if job_dir is not None:
        out["ModelArtifacts"] = {"S3ModelArtifacts": f"file://{job_dir}/model"}
    return {k: v for k, v in out.items() if v is not None}
