"""sagetune: SageMaker-style automatic model tuning that runs on a laptop.

Example:
    >>> from sagetune import HyperparameterTuner, ContinuousParameter, IntegerParameter
"""

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
