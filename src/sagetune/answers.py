"""DescribeHyperParameterTuningJob and ListTrainingJobsForHyperParameterTuningJob answers.

Field names and shapes are boto3's, so code written against SageMaker reads them unchanged.
Times are aware UTC datetimes, as boto3 returns them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sagetune.naming import to_datetime, training_job_arn, tuning_job_arn
from sagetune.store.records import TrainingJobRecord, TuningJobRecord


def _objective(record: TuningJobRecord, definition: str | None = None) -> tuple[str, str]:
    """(metric name, Type) of the tuning job, or of one of its training job definitions."""
    default = record.request["HyperParameterTuningJobConfig"].get(
        "HyperParameterTuningJobObjective")
    for d in record.request.get("TrainingJobDefinitions") or []:
        if definition is None or d.get("DefinitionName") == definition:
            obj = d.get("TuningObjective") or default
            return obj["MetricName"], obj["Type"]
    return default["MetricName"], default["Type"]


def best_training_job(record: TuningJobRecord,
                      jobs: Sequence[TrainingJobRecord]) -> TrainingJobRecord | None:
    """The job with the best final objective (ties go to the earlier job)."""
    _, kind = _objective(record)
    scored = [j for j in jobs if j.objective is not None]
    if not scored:
        return None
    sign = -1.0 if kind == "Maximize" else 1.0
    return min(scored, key=lambda j: (sign * j.objective, j.seq))  # type: ignore[operator]


def training_job_summary(record: TuningJobRecord, job: TrainingJobRecord) -> dict[str, Any]:
    """One element of ListTrainingJobsForHyperParameterTuningJob's TrainingJobSummaries."""
    metric, kind = _objective(record, job.definition_name)
    out: dict[str, Any] = {
        "TrainingJobDefinitionName": job.definition_name,
        "TrainingJobName": job.name,
        "TrainingJobArn": training_job_arn(job.name),
        "TuningJobName": record.name,
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
            "Type": kind, "MetricName": metric, "Value": job.objective}
    return {k: v for k, v in out.items() if v is not None}


def describe_tuning_job(record: TuningJobRecord, jobs: Sequence[TrainingJobRecord],
                        now: float,
                        parents: Sequence[tuple[TuningJobRecord, Sequence[TrainingJobRecord]]]
                        = ()) -> dict[str, Any]:
    """The DescribeHyperParameterTuningJob answer for a stored tuning job.

    ``parents`` (warm start) adds ``OverallBestTrainingJob``: the best across the job and its
    parents.
    """
    statuses = [j.status for j in jobs]
    counters = {
        "Completed": statuses.count("Completed"),
        "InProgress": statuses.count("InProgress") + statuses.count("Stopping"),
        "RetryableError": 0,
        "NonRetryableError": statuses.count("Failed"),
        "Stopped": statuses.count("Stopped"),
    }
    objective = [j.objective_status for j in jobs]
    end = record.ended_at
    runtime = sum(((j.ended_at or now) - j.started_at) for j in jobs if j.started_at is not None)
    out: dict[str, Any] = {
        "HyperParameterTuningJobName": record.name,
        "HyperParameterTuningJobArn": tuning_job_arn(record.name),
        "HyperParameterTuningJobConfig": record.request.get("HyperParameterTuningJobConfig"),
        "TrainingJobDefinition": record.request.get("TrainingJobDefinition"),
        "TrainingJobDefinitions": record.request.get("TrainingJobDefinitions"),
        "HyperParameterTuningJobStatus": record.status,
        "CreationTime": to_datetime(record.created_at),
        "HyperParameterTuningEndTime": to_datetime(end),
        "LastModifiedTime": to_datetime(record.last_modified_at),
        "TrainingJobStatusCounters": counters,
        "ObjectiveStatusCounters": {"Succeeded": objective.count("Succeeded"),
                                    "Pending": objective.count("Pending"),
                                    "Failed": objective.count("Failed")},
        "ConsumedResources": {"RuntimeInSeconds": int(round(runtime))},
    }
    best = best_training_job(record, jobs)
    if best is not None:
        out["BestTrainingJob"] = training_job_summary(record, best)
    if record.request.get("WarmStartConfig"):
        out["WarmStartConfig"] = record.request["WarmStartConfig"]
        candidates = [(record, best)] if best is not None else []
        for parent_record, parent_jobs in parents:
            pbest = best_training_job(parent_record, parent_jobs)
            if pbest is not None:
                candidates.append((parent_record, pbest))
        if candidates:
            sign = -1.0 if _objective(record)[1] == "Maximize" else 1.0
            owner, overall = min(candidates, key=lambda c: sign * c[1].objective)  # type: ignore
            out["OverallBestTrainingJob"] = training_job_summary(owner, overall)
    if record.failure_reason:
        out["FailureReason"] = record.failure_reason
    details = record.details or {}
    if ("NumberOfTrainingJobsObjectiveNotImproving" in details
            or "ConvergenceDetectedTime" in details):
        out["TuningJobCompletionDetails"] = {
            k: (to_datetime(v) if k == "ConvergenceDetectedTime" else v)
            for k, v in details.items()
            if k in ("NumberOfTrainingJobsObjectiveNotImproving", "ConvergenceDetectedTime")}
    if details.get("CompletionReason"):
        # Not in SageMaker's answer: why the job ended, for people reading it locally.
        out["CompletionReason"] = details["CompletionReason"]
    return {k: v for k, v in out.items() if v is not None}


def tuning_job_summary(record: TuningJobRecord, jobs: Sequence[TrainingJobRecord]
                       ) -> dict[str, Any]:
    """One element of ListHyperParameterTuningJobs' HyperParameterTuningJobSummaries."""
    full = describe_tuning_job(record, jobs, record.last_modified_at)
    config = record.request.get("HyperParameterTuningJobConfig", {})
    out = {k: full.get(k) for k in (
        "HyperParameterTuningJobName", "HyperParameterTuningJobArn",
        "HyperParameterTuningJobStatus", "CreationTime", "HyperParameterTuningEndTime",
        "LastModifiedTime", "TrainingJobStatusCounters", "ObjectiveStatusCounters")}
    out["Strategy"] = config.get("Strategy", "Bayesian")
    out["ResourceLimits"] = config.get("ResourceLimits")
    return {k: v for k, v in out.items() if v is not None}


def describe_training_job(record: TuningJobRecord, job: TrainingJobRecord, now: float,
                          job_dir: str | None = None) -> dict[str, Any]:
    """The DescribeTrainingJob answer for one of a tuning job's training jobs."""
    definition = record.request.get("TrainingJobDefinition") or next(
        (d for d in record.request.get("TrainingJobDefinitions") or []
         if d.get("DefinitionName") == job.definition_name), {})
    static = definition.get("StaticHyperParameters") or {}
    hyperparameters = {k: (v if isinstance(v, str) else str(v))
                       for k, v in {**static, **job.hyperparameters}.items()}
    secondary = {"InProgress": "Training", "Stopping": "Stopping"}.get(job.status, job.status)
    if job.status == "Stopped" and job.failure_reason and "MaxRuntimeInSeconds" in (
            job.failure_reason):
        secondary = "MaxRuntimeExceeded"
    end = job.ended_at if job.ended_at is not None else now
    seconds = int(round(end - job.started_at)) if job.started_at is not None else 0
    out: dict[str, Any] = {
        "TrainingJobName": job.name,
        "TrainingJobArn": training_job_arn(job.name),
        "TuningJobArn": tuning_job_arn(record.name),
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
        "FinalMetricDataList": [{"MetricName": k, "Value": v, "Timestamp": to_datetime(end)}
                                for k, v in job.final_metrics.items()],
    }
    if job_dir is not None:
        out["ModelArtifacts"] = {"S3ModelArtifacts": f"file://{job_dir}/model"}
    return {k: v for k, v in out.items() if v is not None}
