"""sagetune: SageMaker-style automatic model tuning that runs on a laptop.

Example:
    >>> from sagetune import HyperparameterTuner, ContinuousParameter, IntegerParameter
"""

from sagetune.analytics import TuningJobAnalytics
from sagetune.errors import ResourceInUse, ResourceNotFound, ValidationError
from sagetune.space import CategoricalParameter, ContinuousParameter, IntegerParameter
from sagetune.spec import TuningJobSpec, parse_request
from sagetune.tuner import (HyperparameterTuner, TuningJobCompletionCriteriaConfig,
                            WarmStartConfig, WarmStartTypes)

__version__ = "0.1.0"

__all__ = [
    "CategoricalParameter", "ContinuousParameter", "HyperparameterTuner", "IntegerParameter",
    "ResourceInUse", "ResourceNotFound", "TuningJobAnalytics", "TuningJobCompletionCriteriaConfig",
    "TuningJobSpec", "ValidationError", "WarmStartConfig", "WarmStartTypes", "parse_request",
    "__version__",
]
