"""What a Python callable may return, normalised into final metrics."""

from __future__ import annotations

import math
from typing import Any

import pytest

from sagetune.executors.process import metrics_from_result


@pytest.mark.parametrize(
    "result, metrics",
    [
        (0.5, {"loss": 0.5}),
        (3, {"loss": 3.0}),
        ({"loss": 1, "acc": "0.75"}, {"loss": 1.0, "acc": 0.75}),
    ],
)
def test_numbers_and_mappings_of_numbers_are_metrics(
    result: Any, metrics: dict[str, float]
) -> None:
    assert metrics_from_result(result, "loss") == (metrics, None)


@pytest.mark.parametrize(
    "result, reason",
    [
        (None, "train returned None; return a float or a dict of floats"),
        (True, "train returned True; return a float or a dict of floats"),
        ("0.5x", "train returned str; return a float or a dict of floats"),
        ({"loss": [1]}, "train returned a non-numeric value for metric 'loss': [1]"),
        ({"acc": 0.9}, "objective metric 'loss' not found in what train returned"),
        (math.nan, "objective metric 'loss' is nan"),
        ({"loss": math.inf}, "objective metric 'loss' is inf"),
    ],
)
def test_anything_else_is_a_failure_with_its_reason(result: Any, reason: str) -> None:
    _, failure = metrics_from_result(result, "loss")
    assert failure is not None and failure.startswith(reason)
