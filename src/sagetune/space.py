"""The search space: SageMaker's three kinds of ranges and their scalings.

Every numeric range maps to and from the unit interval under its scaling, so strategies work on
the unit cube and never see the user's units:

- ``Linear``: evenly over ``[min, max]``.
- ``Logarithmic``: evenly over ``[log min, log max]`` (each decade gets the same share); needs
  ``min > 0``.
- ``ReverseLogarithmic``: evenly over ``-log(1 - x)``, so values crowd towards 1 (momentum
  0.9 ... 0.999); needs ``0 <= min < max < 1`` and a continuous range.
- ``Auto``: the same for every strategy: ``Logarithmic`` when the range is positive and spans at
  least three decades (``max / min >= 1000``), otherwise ``Linear``.

Integer ranges map each integer ``k`` to the cell ``[k - 0.5, k + 0.5]`` of the scaled axis,
so both ends are reached and every value is a whole number.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
AUTO_LOG_RATIO = 1000.0


def resolve_scaling(scaling_type: str, min_value: float, max_value: float) -> str:
    """The concrete scaling ``Auto`` stands for on a range (see the module docstring)."""
    if scaling_type != "Auto":
        return scaling_type
    if min_value > 0 and max_value / min_value >= AUTO_LOG_RATIO:
        return "Logarithmic"
    return "Linear"


def _forward(x: float | np.ndarray, scaling: str) -> Any:
    if scaling == "Logarithmic":
        return np.log(x)
    if scaling == "ReverseLogarithmic":
        return -np.log1p(-np.asarray(x, dtype=float))
    return x


def _inverse(y: float | np.ndarray, scaling: str) -> Any:
    if scaling == "Logarithmic":
        return np.exp(y)
    if scaling == "ReverseLogarithmic":
        return -np.expm1(-np.asarray(y, dtype=float))
    return y


class Parameter:
    """Base of the three range kinds (the SDK's names)."""

    kind: ClassVar[str]

    def as_tuning_range(self, name: str) -> dict[str, Any]:
        """This range as an element of the request's ``<Kind>ParameterRanges`` list."""
        raise NotImplementedError


@dataclass(frozen=True)
class _NumericParameter(Parameter):
    min_value: float
    max_value: float
    scaling_type: str = "Auto"

    def as_tuning_range(self, name: str) -> dict[str, Any]:
        return {"Name": name, "MinValue": str(self.min_value), "MaxValue": str(self.max_value),
                "ScalingType": self.scaling_type}

    @property
    def scaling(self) -> str:
        """The concrete scaling in effect (``Auto`` resolved)."""
        return resolve_scaling(self.scaling_type, float(self.min_value), float(self.max_value))

    def _edges(self) -> tuple[float, float]:
        return float(self.min_value), float(self.max_value)

    @functools.cached_property
    def _axis(self) -> tuple[str, float, float]:
        """The resolved scaling and the ends of the range on the scaled axis (computed once:
        strategies convert every observation on every suggestion)."""
        lo, hi = self._edges()
        s = self.scaling
        return s, float(_forward(lo, s)), float(_forward(hi, s))

    def to_unit(self, value: float) -> float:
        """Position of ``value`` on the unit interval under the scaling."""
        s, a, b = self._axis
        if b == a:
            return 0.5
        return float((_forward(float(value), s) - a) / (b - a))

    def _from_unit_float(self, u: float) -> float:
        s, a, b = self._axis
        u = min(max(float(u), 0.0), 1.0)
        return float(_inverse(a + u * (b - a), s))


@dataclass(frozen=True)
class ContinuousParameter(_NumericParameter):
    """A real-valued range ``[min_value, max_value]``.

    Example:
        >>> ContinuousParameter(1e-4, 1e-1, "Logarithmic").from_unit(0.5)
        0.003162277660168382
    """

    kind: ClassVar[str] = "Continuous"

    def from_unit(self, u: float) -> float:
        """The value at position ``u`` of the unit interval, clipped into the range."""
        lo, hi = self._edges()
        return min(max(self._from_unit_float(u), lo), hi)

    def contains(self, value: Any) -> bool:
        return _is_number(value) and float(self.min_value) <= float(value) <= float(self.max_value)


@dataclass(frozen=True)
class IntegerParameter(_NumericParameter):
    """A whole-number range ``[min_value, max_value]``, both ends included.

    Example:
        >>> IntegerParameter(1, 10).from_unit(1.0)
        10
    """

    kind: ClassVar[str] = "Integer"

    def _edges(self) -> tuple[float, float]:
        return float(self.min_value) - 0.5, float(self.max_value) + 0.5

    @property
    def scaling(self) -> str:
        return resolve_scaling(self.scaling_type, float(self.min_value), float(self.max_value))

    def from_unit(self, u: float) -> int:
        """The integer whose cell holds position ``u``."""
        v = int(math.floor(self._from_unit_float(u) + 0.5))
        return min(max(v, int(self.min_value)), int(self.max_value))

    def contains(self, value: Any) -> bool:
        return (_is_number(value) and float(value) == int(value)
                and int(self.min_value) <= int(value) <= int(self.max_value))

    def values(self) -> list[int]:
        """Every integer of the range, in order (used by Grid)."""
        return list(range(int(self.min_value), int(self.max_value) + 1))


@dataclass(frozen=True)
class CategoricalParameter(Parameter):
    """A choice among ``values`` (strings, numbers or booleans; order is kept)."""

    values: tuple[Any, ...] = field(default=())
    kind: ClassVar[str] = "Categorical"

    def __init__(self, values: Iterable[Any]):
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            values = [values]
        object.__setattr__(self, "values", tuple(values))

    def as_tuning_range(self, name: str) -> dict[str, Any]:
        return {"Name": name, "Values": list(self.values)}

    def index(self, value: Any) -> int:
        """Position of ``value`` among the choices (string forms match too, as in requests)."""
        for i, v in enumerate(self.values):
            if v == value and type(v) is type(value):
                return i
        for i, v in enumerate(self.values):
            if v == value or str(v) == str(value):
                return i
        raise ValueError(f"{value!r} is not one of {list(self.values)}")

    def contains(self, value: Any) -> bool:
        try:
            self.index(value)
        except ValueError:
            return False
        return True


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            and math.isfinite(float(value)))


class SearchSpace:
    """An ordered, validated set of named ranges with a reversible unit-cube encoding.

    The encoding gives one column per numeric range (its unit position) and one column per
    categorical value (one-hot), in the order the ranges were given.
    """

    def __init__(self, ranges: Mapping[str, Parameter]):
        self.ranges: dict[str, Parameter] = dict(ranges)
        self.names: list[str] = list(self.ranges)
        self.slices: dict[str, slice] = {}
        col = 0
        for name, p in self.ranges.items():
            width = len(p.values) if isinstance(p, CategoricalParameter) else 1
            self.slices[name] = slice(col, col + width)
            col += width
        self.n_columns = col

    def __len__(self) -> int:
        return len(self.ranges)

    def __repr__(self) -> str:
        return f"SearchSpace({self.ranges!r})"

    @property
    def categorical_names(self) -> list[str]:
        return [n for n, p in self.ranges.items() if isinstance(p, CategoricalParameter)]

    @property
    def numeric_names(self) -> list[str]:
        return [n for n, p in self.ranges.items() if not isinstance(p, CategoricalParameter)]

    def encode(self, hyperparameters: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Rows of the unit-cube encoding, one per hyperparameter dict."""
        out = np.zeros((len(hyperparameters), self.n_columns))
        for i, hp in enumerate(hyperparameters):
            for name, p in self.ranges.items():
                sl = self.slices[name]
                if isinstance(p, CategoricalParameter):
                    out[i, sl.start + p.index(hp[name])] = 1.0
                else:
                    out[i, sl.start] = p.to_unit(hp[name])  # type: ignore[attr-defined]
        return out

    def decode(self, rows: np.ndarray) -> list[dict[str, Any]]:
        """Hyperparameter dicts from encoded rows (categoricals by their largest column)."""
        rows = np.atleast_2d(rows)
        result = []
        for row in rows:
            hp: dict[str, Any] = {}
            for name, p in self.ranges.items():
                sl = self.slices[name]
                if isinstance(p, CategoricalParameter):
                    hp[name] = p.values[int(np.argmax(row[sl]))]
                else:
                    hp[name] = p.from_unit(float(row[sl.start]))  # type: ignore[attr-defined]
            result.append(hp)
        return result

    def sample(self, rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
        """``n`` points drawn uniformly on the unit cube (so by each range's scaling)."""
        out = []
        for _ in range(n):
            hp: dict[str, Any] = {}
            for name, p in self.ranges.items():
                if isinstance(p, CategoricalParameter):
                    hp[name] = p.values[int(rng.integers(len(p.values)))]
                else:
                    hp[name] = p.from_unit(float(rng.random()))  # type: ignore[attr-defined]
            out.append(hp)
        return out

    def contains(self, hyperparameters: Mapping[str, Any]) -> bool:
        """Whether every tuned name is present and inside its range."""
        return all(name in hyperparameters and p.contains(hyperparameters[name])  # type: ignore
                   for name, p in self.ranges.items())

    def key(self, hyperparameters: Mapping[str, Any]) -> tuple:
        """A hashable identity of a configuration, for de-duplication."""
        parts = []
        for name, p in self.ranges.items():
            v = hyperparameters[name]
            parts.append(p.index(v) if isinstance(p, CategoricalParameter) else float(v))
        return tuple(parts)

    def grid_values(self, name: str) -> list[Any]:
        """The values Grid walks for one range (categorical values, or every integer)."""
        p = self.ranges[name]
        if isinstance(p, CategoricalParameter):
            return list(p.values)
        if isinstance(p, IntegerParameter):
            return p.values()
        raise ValueError(f"{name}: a continuous range has no grid")

    def grid_size(self) -> int:
        return math.prod(len(self.grid_values(n)) for n in self.names)

    def grid(self) -> Iterable[dict[str, Any]]:
        """Every combination, the last range varying fastest."""
        for combo in itertools.product(*(self.grid_values(n) for n in self.names)):
            yield dict(zip(self.names, combo))
