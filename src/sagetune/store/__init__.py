"""The store: the single source of truth for tuning jobs, training jobs and metric points.

``SQLStore`` keeps them on SQLite or any SQLAlchemy database, migrating the schema in place
when it opens (``store/migrations``).
"""

from sagetune.store.migrations import StoreVersionError
from sagetune.store.records import MetricPoint, TrainingJobRecord, TuningJobRecord
from sagetune.store.sql import SQLStore, default_store_url, open_store

__all__ = ["MetricPoint", "SQLStore", "StoreVersionError", "TrainingJobRecord", "TuningJobRecord",
           "default_store_url", "open_store"]
