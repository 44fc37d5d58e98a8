"""How numbers are shown to people: the CLI's tables, the live table, the report.

Stored and returned values stay exact (describe's ``TunedHyperParameters`` are the strings a
training job got); only what is displayed is rounded, so ``0.00010000000000000009`` (a log-scaled
draw) reads ``0.0001``. The dashboard's ``fmt`` in ``dashboard/pages.py`` applies the same rule
in the browser.
"""

from __future__ import annotations

import math
from typing import Any

SIGNIFICANT_DIGITS = 6


def format_value(value: Any, digits: int = SIGNIFICANT_DIGITS, missing: str = "-") -> str:
    """A value as a table shows it: floats to ``digits`` significant digits, the rest as is.

    Args:
        value: a number, a string (a categorical value), a bool or None.
        digits: significant digits of a float (trailing zeros dropped).
        missing: what None is shown as.

    Returns:
        The text to show, e.g. ``format_value(0.00010000000000000009) == "0.0001"``,
        ``format_value(0.987654321) == "0.987654"``, ``format_value(7) == "7"``.
    """
    if value is None:
        return missing
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.{digits}g}"
    return str(value)
