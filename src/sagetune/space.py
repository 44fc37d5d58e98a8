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

Each range carries its own encoding and the rest of what callers need (see :class:`Parameter`),
so the search space, the strategies, warm start, analytics and plots never ask which kind a
range is. The scaling transform lives here only (``_forward`` / ``_inverse``).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from abc import ABC, abstractmethod
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
    """The scaled axis of a numeric range (the one home of the scaling transform)."""
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


class Parameter(ABC):
    """One tuned range (the SDK's three kinds derive from it), carrying its own encoding.

    Callers (the search space, strategies, warm start, analytics, plots) use these members
    instead of asking which kind a range is:

    - ``width``: columns of the unit-cube encoding (1; one per value for a categorical
      range, one-hot). ``encode_into(rows, values)`` / ``decode(rows)`` fill and read them,
      ``snap(rows)`` moves encoded rows onto valid values; all three take this range's
      block of ``n`` rows at once (one call per range, not per value: strategies encode
      every observation on every suggestion).
    - ``from_unit(u)``: the value at position ``u`` of one unit coordinate (a numeric range
      through its scaling, a categorical range by equal shares); numeric ranges also have
      ``to_unit``.
    - ``sample(rng)``, ``grid_values()``, ``n_values``, ``contains(value)``, ``key(value)``
      (a hashable identity for de-duplication), ``neutral()`` (a fixed stand-in value).
    - ``scaled(values)``: values on the axis the range is searched on (for analytics and
      plots), ``coerce(raw)``: a value stored as text or another type, on this range.
    - ``is_categorical`` and ``scaling`` (None for a categorical range).
    """

    kind: ClassVar[str]
    is_categorical: ClassVar[bool] = False

    @abstractmethod
    def as_tuning_range(self, name: str) -> dict[str, Any]:
        """This range as an element of the request's ``<Kind>ParameterRanges`` list."""

    @property
    @abstractmethod
    def scaling(self) -> str | None:
        """The concrete scaling in effect (``Auto`` resolved); None for a categorical range."""

    @property
    @abstractmethod
    def width(self) -> int:
        """How many columns of the unit-cube encoding this range takes."""

    @property
    @abstractmethod
    def n_values(self) -> int | None:
        """How many distinct values the range holds; None for a continuous range."""

    @property
    def bounds(self) -> tuple[float, float] | None:
        """``(MinValue, MaxValue)`` of a numeric range; None for a categorical one."""
        return None

    @abstractmethod
    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one of the range's values."""

    @abstractmethod
    def key(self, value: Any) -> float | int:
        """A hashable identity of ``value`` (one of the range's), for de-duplication."""

    @abstractmethod
    def encode_into(self, rows: np.ndarray, values: Sequence[Any]) -> None:
        """Write ``values[i]`` into ``rows[i]``, ``rows`` being this range's block (shape
        ``(len(values), width)``) of the encoded rows.

        Raises:
            ValueError: a value is not a choice of a categorical range.
        """

    @abstractmethod
    def decode(self, rows: np.ndarray) -> list[Any]:
        """The value encoded in each row of ``rows`` (this range's block, shape
        ``(n, width)``; a categorical range takes a row's largest column)."""

    @abstractmethod
    def snap(self, rows: np.ndarray) -> None:
        """Move each encoded row of ``rows`` (shape ``(n, width)``, in ``[0, 1]``) in place to
        the encoding of a valid value: integer ranges to the centre of the value's cell,
        categorical ranges to one-hot; continuous positions are valid as they are."""

    @abstractmethod
    def from_unit(self, u: float) -> Any:
        """The value at position ``u`` of one unit coordinate (clipped into ``[0, 1]``)."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn uniformly on the unit interval (so by the range's scaling)."""

    @abstractmethod
    def grid_values(self) -> list[Any]:
        """The values Grid walks, in order.

        Raises:
            ValueError: for a continuous range, which has no grid.
        """

    @abstractmethod
    def neutral(self) -> Any:
        """A fixed stand-in value: the middle of a numeric range, the first choice."""

    @abstractmethod
    def scaled(self, values: Iterable[Any]) -> np.ndarray:
        """Values on the axis the range is searched on (NaN where a value is missing).

        Numeric values map through the scaling (so a log range is compared in decades);
        categorical values become their index among the choices.
        """

    @abstractmethod
    def coerce(self, raw: Any) -> Any:
        """``raw`` as a value of this range, ``raw`` being the value itself or its text
        (JSON) form, as parent tuning jobs store it.

        Raises:
            ValueError: ``raw`` is not (the text of) one of the range's values.
        """


@dataclass(frozen=True)
class _NumericParameter(Parameter):
    min_value: float
    max_value: float
    scaling_type: str = "Auto"

    def as_tuning_range(self, name: str) -> dict[str, Any]:
        return {
            "Name": name,
            "MinValue": str(self.min_value),
            "MaxValue": str(self.max_value),
            "ScalingType": self.scaling_type,
        }

    @property
    def scaling(self) -> str:
        """The concrete scaling in effect (``Auto`` resolved)."""
        return resolve_scaling(self.scaling_type, float(self.min_value), float(self.max_value))

    @property
    def width(self) -> int:
        return 1

    @property
    def bounds(self) -> tuple[float, float]:
        return float(self.min_value), float(self.max_value)

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

    def key(self, value: Any) -> float:
        return float(value)

    def encode_into(self, rows: np.ndarray, values: Sequence[Any]) -> None:
        rows[:, 0] = [self.to_unit(v) for v in values]

    def decode(self, rows: np.ndarray) -> list[Any]:
        return [self.from_unit(float(u)) for u in rows[:, 0]]

    def sample(self, rng: np.random.Generator) -> Any:
        return self.from_unit(float(rng.random()))

    def neutral(self) -> Any:
        return self.from_unit(0.5)

    def scaled(self, values: Iterable[Any]) -> np.ndarray:
        x = np.array([float(v) if v is not None else math.nan for v in values], dtype=float)
        # Values outside the scaling's domain (a non-positive value on a log range) become
        # NaN or infinite rather than warnings: analytics drops non-finite positions.
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(_forward(x, self.scaling), dtype=float)

    def _parse(self, raw: Any) -> float:
        try:
            value = float(json.loads(raw)) if isinstance(raw, str) else float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{raw!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{raw!r} is not a finite number")
        return value


@dataclass(frozen=True)
class ContinuousParameter(_NumericParameter):
    """A real-valued range ``[min_value, max_value]``.

    Example:
        >>> ContinuousParameter(1e-4, 1e-1, "Logarithmic").from_unit(0.5)
        0.003162277660168382
    """

    kind: ClassVar[str] = "Continuous"

    @property
    def n_values(self) -> None:
        return None

    def from_unit(self, u: float) -> float:
        """The value at position ``u`` of the unit interval, clipped into the range."""
        lo, hi = self._edges()
        return min(max(self._from_unit_float(u), lo), hi)

    def contains(self, value: Any) -> bool:
        return _is_number(value) and float(self.min_value) <= float(value) <= float(self.max_value)

    def snap(self, rows: np.ndarray) -> None:
        return None

    def grid_values(self) -> list[Any]:
        raise ValueError("a continuous range has no grid")

    def coerce(self, raw: Any) -> float:
        value = self._parse(raw)
        if not self.contains(value):
            raise ValueError(f"{value!r} is outside [{self.min_value}, {self.max_value}]")
        return value


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

    @property
    def n_values(self) -> int:
        return int(self.max_value) - int(self.min_value) + 1

    def from_unit(self, u: float) -> int:
        """The integer whose cell holds position ``u``."""
        v = int(math.floor(self._from_unit_float(u) + 0.5))
        return min(max(v, int(self.min_value)), int(self.max_value))

    def contains(self, value: Any) -> bool:
        return (
            _is_number(value)
            and float(value) == int(value)
            and int(self.min_value) <= int(value) <= int(self.max_value)
        )

    def values(self) -> list[int]:
        """Every integer of the range, in order (used by Grid)."""
        return list(range(int(self.min_value), int(self.max_value) + 1))

    def snap(self, rows: np.ndarray) -> None:
        rows[:, 0] = [self.to_unit(self.from_unit(u)) for u in rows[:, 0]]

    def grid_values(self) -> list[Any]:
        return self.values()

    def coerce(self, raw: Any) -> int:
        value = self._parse(raw)
        if value != int(value):
            raise ValueError(f"{raw!r} is not a whole number")
        if not self.contains(int(value)):
            raise ValueError(f"{int(value)} is outside [{self.min_value}, {self.max_value}]")
        return int(value)


@dataclass(frozen=True)
class CategoricalParameter(Parameter):
    """A choice among ``values`` (strings, numbers or booleans; order is kept)."""

    values: tuple[Any, ...] = field(default=())
    kind: ClassVar[str] = "Categorical"
    is_categorical: ClassVar[bool] = True

    def __init__(self, values: Iterable[Any]):
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            values = [values]
        object.__setattr__(self, "values", tuple(values))

    def as_tuning_range(self, name: str) -> dict[str, Any]:
        return {"Name": name, "Values": list(self.values)}

    @property
    def scaling(self) -> None:
        return None

    @property
    def width(self) -> int:
        return len(self.values)

    @property
    def n_values(self) -> int:
        return len(self.values)

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

    def key(self, value: Any) -> int:
        return self.index(value)

    def encode_into(self, rows: np.ndarray, values: Sequence[Any]) -> None:
        hot = np.array([self.index(v) for v in values], dtype=int)
        rows[:] = 0.0
        rows[np.arange(len(hot)), hot] = 1.0

    def decode(self, rows: np.ndarray) -> list[Any]:
        return [self.values[int(i)] for i in np.argmax(rows, axis=1)]

    def snap(self, rows: np.ndarray) -> None:
        rows[:] = np.eye(len(self.values))[np.argmax(rows, axis=1)]

    def from_unit(self, u: float) -> Any:
        """The choice whose equal share of the unit interval holds ``u``."""
        u = min(max(float(u), 0.0), 1.0)
        return self.values[min(int(u * len(self.values)), len(self.values) - 1)]

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]

    def grid_values(self) -> list[Any]:
        return list(self.values)

    def neutral(self) -> Any:
        return self.values[0]

    def scaled(self, values: Iterable[Any]) -> np.ndarray:
        out = []
        for v in values:
            try:
                out.append(float(self.index(v)))
            except ValueError:
                out.append(math.nan)
        return np.array(out, dtype=float)

    def coerce(self, raw: Any) -> Any:
        return self.values[self.index(raw)]


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


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
            self.slices[name] = slice(col, col + p.width)
            col += p.width
        self.n_columns = col

    def __len__(self) -> int:
        return len(self.ranges)

    def __repr__(self) -> str:
        return f"SearchSpace({self.ranges!r})"

    @property
    def categorical_names(self) -> list[str]:
        return [n for n, p in self.ranges.items() if p.is_categorical]

    @property
    def numeric_names(self) -> list[str]:
        return [n for n, p in self.ranges.items() if not p.is_categorical]

    def encode(self, hyperparameters: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Rows of the unit-cube encoding, one per hyperparameter dict."""
        out = np.zeros((len(hyperparameters), self.n_columns))
        for name, p in self.ranges.items():
            p.encode_into(out[:, self.slices[name]], [hp[name] for hp in hyperparameters])
        return out

    def decode(self, rows: np.ndarray) -> list[dict[str, Any]]:
        """Hyperparameter dicts from encoded rows (categoricals by their largest column)."""
        rows = np.atleast_2d(rows)
        columns = [p.decode(rows[:, self.slices[name]]) for name, p in self.ranges.items()]
        return [{name: col[i] for name, col in zip(self.names, columns)} for i in range(len(rows))]

    def sample(self, rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
        """``n`` points drawn uniformly on the unit cube (so by each range's scaling)."""
        # Range by range within a point, point by point: the order of the draws is part of
        # what a seed means (a changed order would move every seeded suggestion).
        return [{name: p.sample(rng) for name, p in self.ranges.items()} for _ in range(n)]

    def contains(self, hyperparameters: Mapping[str, Any]) -> bool:
        """Whether every tuned name is present and inside its range."""
        return all(
            name in hyperparameters and p.contains(hyperparameters[name])
            for name, p in self.ranges.items()
        )

    def key(self, hyperparameters: Mapping[str, Any]) -> tuple:
        """A hashable identity of a configuration, for de-duplication."""
        return tuple(p.key(hyperparameters[name]) for name, p in self.ranges.items())

    def grid_values(self, name: str) -> list[Any]:
        """The values Grid walks for one range (categorical values, or every integer)."""
        try:
            return self.ranges[name].grid_values()
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None

    def grid_size(self) -> int:
        """How many combinations Grid walks, counted without listing them."""
        sizes = [self.ranges[n].n_values for n in self.names]
        for name, size in zip(self.names, sizes):
            if size is None:
                self.grid_values(name)  # raises: a continuous range has no grid
        return math.prod(s for s in sizes if s is not None)

    def grid(self) -> Iterable[dict[str, Any]]:
        """Every combination, the last range varying fastest."""
        for combo in itertools.product(*(self.grid_values(n) for n in self.names)):
            yield dict(zip(self.names, combo))
