"""The store: the single source of truth for tuning jobs, training jobs and metric points."""

from sagetune.store.records import MetricPoint, TrainingJobRecord, TuningJobRecord
from sagetune.store.sql import SQLStore, default_store_url, open_store

__all__ = ["MetricPoint", "SQLStore", "TrainingJobRecord", "TuningJobRecord", "default_store_url",
           "open_store"]
