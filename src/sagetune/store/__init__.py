"""The store: the single source of truth for tuning jobs, training jobs and metric points.

``Store`` is the interface (``store/base.py``); ``SQLStore`` implements it on SQLite or any
SQLAlchemy database, migrating the schema in place when it opens (``store/migrations``).
"""

from sagetune.store.base import UNCHANGED, Store, TrainingJobSort
from sagetune.store.migrations import StoreVersionError
from sagetune.store.records import (
    MetricPoint,
    TrainingJobRecord,
    TrainingJobStats,
    TrainingJobTotals,
    TuningJobRecord,
)
from sagetune.store.sql import SQLStore, default_store_url, open_store

__all__ = [
    "UNCHANGED",
    "MetricPoint",
    "SQLStore",
    "Store",
    "StoreVersionError",
    "TrainingJobRecord",
    "TrainingJobSort",
    "TrainingJobStats",
    "TrainingJobTotals",
    "TuningJobRecord",
    "default_store_url",
    "open_store",
]
