"""The spec package: validating a request, and the one model every reader of a tuning job uses.

- :func:`parse_request` validates a ``CreateHyperParameterTuningJob`` request (every rule,
  every problem at once) into a :class:`TuningJobSpec`;
- :func:`load_spec` reads a stored tuning job back into the same model without touching the
  filesystem;
- :meth:`TuningJobSpec.to_request` is the normalised request the store keeps and describe
  echoes.
"""

from sagetune.spec.model import DefinitionSpec, Objective, TuningJobSpec, WarmStartSpec
from sagetune.spec.pricing import PRICING_FIELD, Pricing, validate_pricing
from sagetune.spec.validate import (
    LOCAL_BASE_DIRECTORY,
    MAX_CATEGORICAL_VALUES,
    MAX_RANGES,
    NAME_PATTERN,
    OBJECTIVE_TYPES,
    STRATEGIES,
    load_spec,
    parse_request,
    parse_space,
    ranges_request,
    unreadable,
)

__all__ = [
    "LOCAL_BASE_DIRECTORY",
    "MAX_CATEGORICAL_VALUES",
    "MAX_RANGES",
    "NAME_PATTERN",
    "OBJECTIVE_TYPES",
    "PRICING_FIELD",
    "STRATEGIES",
    "DefinitionSpec",
    "Objective",
    "Pricing",
    "TuningJobSpec",
    "WarmStartSpec",
    "load_spec",
    "parse_request",
    "parse_space",
    "ranges_request",
    "unreadable",
    "validate_pricing",
]
