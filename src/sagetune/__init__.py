"""sagetune: SageMaker-style automatic model tuning that runs on a laptop.

Example:
    >>> from sagetune import HyperparameterTuner, ContinuousParameter, IntegerParameter
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagetune.analytics import TuningJobAnalytics
    from sagetune.errors import ResourceInUse, ResourceNotFound, ValidationError
    from sagetune.reporting import TrainingStopped
    from sagetune.space import CategoricalParameter, ContinuousParameter, IntegerParameter
    from sagetune.spec import TuningJobSpec, parse_request
    from sagetune.status import TrainingJobStatus, TuningJobStatus
    from sagetune.strategy_config import HyperbandStrategyConfig, StrategyConfig
    from sagetune.tuner import (
        HyperparameterTuner,
        TuningJobCompletionCriteriaConfig,
        WarmStartConfig,
        WarmStartTypes,
    )

__version__ = "0.1.0"

# The public names are imported when first used (PEP 562), so that a process that needs one
# submodule (a training job's worker, a Ray slot) does not pay for pandas, SQLAlchemy and boto3.
_HOMES = {
    "TuningJobAnalytics": "sagetune.analytics",
    "ResourceInUse": "sagetune.errors",
    "ResourceNotFound": "sagetune.errors",
    "ValidationError": "sagetune.errors",
    "TrainingStopped": "sagetune.reporting",
    "CategoricalParameter": "sagetune.space",
    "ContinuousParameter": "sagetune.space",
    "IntegerParameter": "sagetune.space",
    "TuningJobSpec": "sagetune.spec",
    "parse_request": "sagetune.spec",
    "TrainingJobStatus": "sagetune.status",
    "TuningJobStatus": "sagetune.status",
    "HyperbandStrategyConfig": "sagetune.strategy_config",
    "StrategyConfig": "sagetune.strategy_config",
    "HyperparameterTuner": "sagetune.tuner",
    "TuningJobCompletionCriteriaConfig": "sagetune.tuner",
    "WarmStartConfig": "sagetune.tuner",
    "WarmStartTypes": "sagetune.tuner",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'sagetune' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "CategoricalParameter",
    "ContinuousParameter",
    "HyperbandStrategyConfig",
    "HyperparameterTuner",
    "IntegerParameter",
    "ResourceInUse",
    "ResourceNotFound",
    "StrategyConfig",
    "TrainingJobStatus",
    "TrainingStopped",
    "TuningJobAnalytics",
    "TuningJobCompletionCriteriaConfig",
    "TuningJobSpec",
    "TuningJobStatus",
    "ValidationError",
    "WarmStartConfig",
    "WarmStartTypes",
    "__version__",
    "parse_request",
]
