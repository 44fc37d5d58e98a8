"""Summary statistics shared by the benchmark reports."""

from __future__ import annotations

import math

import numpy as np


def standard_error(x: np.ndarray) -> float:
    """Standard error of the mean of ``x`` (NaN with fewer than two values)."""
    x = np.asarray(x, dtype=float)
    return float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
