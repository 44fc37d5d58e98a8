"""A training job stopped without its tuner (its tuner gone, or the tuner's resume) keeps the
metrics it reported."""

from __future__ import annotations

from pathlib import Path

from sagetune import control, service
from sagetune.store import MetricPoint, TrainingJobRecord, open_store

REQUEST = {
    "HyperParameterTuningJobName": "orphaned",
    "HyperParameterTuningJobConfig": {
        "Strategy": "Random",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "auc"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
        "ParameterRanges": {
            "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]
        },
    },
    "TrainingJobDefinition": {
        "LocalCommand": "python -c pass",
        "AlgorithmSpecification": {
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "auc", "Regex": "auc=([0-9.]+)"}],
        },
    },
}


def _orphan(store, name: str) -> None:
    store.create_training_job(
        TrainingJobRecord(name, "orphaned", 1, "InProgress", {"x": 0.5}, 1.0, started_at=1.0)
    )
    store.add_metric_points(
        [
            MetricPoint(name, "auc", 0.6, 1, 2.0),
            MetricPoint(name, "auc", 0.7, 2, 3.0),
            MetricPoint(name, "loss", 0.4, 1, 2.0),
        ]
    )


def test_stopping_a_job_whose_tuner_is_gone_keeps_its_last_values(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    service.create_tuning_job(store, REQUEST, base_dir=tmp_path)
    _orphan(store, "orphaned-001")
    control.stop_training_job(store, "orphaned-001")
    job = store.get_training_job("orphaned-001")
    assert job.status == "Stopped"
    assert job.final_metrics == {"auc": 0.7, "loss": 0.4} and job.objective == 0.7


def test_a_stopped_tuning_jobs_orphans_keep_their_values(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    service.create_tuning_job(store, REQUEST, base_dir=tmp_path)
    _orphan(store, "orphaned-001")
    control.stop_tuning_job(store, "orphaned")
    assert store.get_training_job("orphaned-001").final_metrics == {"auc": 0.7, "loss": 0.4}
