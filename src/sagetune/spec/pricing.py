"""The request extension ``LocalPricing``: prices per instance-hour and the spot discount.

See :mod:`sagetune.cost` for how a training job's cost is computed from them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PRICING_FIELD = "LocalPricing"


@dataclass(frozen=True)
class Pricing:
    """Prices per instance-hour by instance type, and the spot discount (0 to 1)."""

    prices: Mapping[str, float] = field(default_factory=dict)
    spot_discount: float = 0.0

    def merged(self, other: Pricing | None) -> Pricing:
        """These prices overridden by ``other``'s (a ``--prices`` file wins over the request)."""
        if other is None:
            return self
        discount = other.spot_discount if other.spot_discount else self.spot_discount
        return Pricing({**self.prices, **other.prices}, discount)


def validate_pricing(raw: Any, errors: list[str], path: str = PRICING_FIELD) -> Pricing | None:
    """Check a pricing object (errors appended); returns it, or None when absent or bad."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        errors.append(f"{path}: must be an object with InstancePricesPerHour and SpotDiscount")
        return None
    n_before = len(errors)
    for key in raw:
        if key not in ("InstancePricesPerHour", "SpotDiscount"):
            errors.append(
                f"{path}.{key}: unknown field (expected InstancePricesPerHour, SpotDiscount)"
            )
    prices_raw = raw.get("InstancePricesPerHour") or {}
    prices: dict[str, float] = {}
    if not isinstance(prices_raw, Mapping):
        errors.append(f"{path}.InstancePricesPerHour: must map instance types to prices")
    else:
        for kind, price in prices_raw.items():
            value = _non_negative(price)
            if value is None:
                errors.append(
                    f"{path}.InstancePricesPerHour[{kind}]: must be a number >= 0, got {price!r}"
                )
            else:
                prices[str(kind)] = value
    discount = raw.get("SpotDiscount", 0.0)
    value = _non_negative(discount)
    if value is None or value >= 1:
        errors.append(
            f"{path}.SpotDiscount: must be a number from 0 to below 1 (the fraction "
            f"of the price saved), got {discount!r}"
        )
        value = 0.0
    return Pricing(prices, value) if len(errors) == n_before else None


def _non_negative(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) and value >= 0 else None
