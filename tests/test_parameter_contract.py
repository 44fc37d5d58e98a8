"""The contract every range kind keeps (one suite, parametrised over kinds and scalings).

The search space, strategies, warm start, analytics and plots rely on these members only, so a
range that passes here works everywhere without its kind being asked.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest

from sagetune import CategoricalParameter, ContinuousParameter, IntegerParameter
from sagetune.space import Parameter

CONTINUOUS = [
    ContinuousParameter(-5.0, 15.0, "Linear"),
    ContinuousParameter(1e-4, 1e-1, "Logarithmic"),
    ContinuousParameter(0.9, 0.999, "ReverseLogarithmic"),
    ContinuousParameter(0.0, 0.99, "ReverseLogarithmic"),
    ContinuousParameter(1e-6, 1.0, "Auto"),  # Logarithmic
    ContinuousParameter(0.0, 10.0, "Auto"),  # Linear
]
INTEGER = [
    IntegerParameter(1, 12, "Linear"),
    IntegerParameter(-3, 3, "Linear"),
    IntegerParameter(1, 1024, "Logarithmic"),
    IntegerParameter(2, 9, "Logarithmic"),
    IntegerParameter(1, 3000, "Auto"),  # Logarithmic
    IntegerParameter(0, 5, "Auto"),  # Linear
    IntegerParameter(7, 7, "Linear"),  # a single value
]
CATEGORICAL = [
    CategoricalParameter(["sgd", "adam", "rmsprop"]),
    CategoricalParameter([1, 2.5, 10]),
    CategoricalParameter([True, False]),
    CategoricalParameter([1, "x", 2.5, True]),
    CategoricalParameter(["only"]),
]
ALL = CONTINUOUS + INTEGER + CATEGORICAL
NUMERIC = CONTINUOUS + INTEGER


def _id(p: Parameter) -> str:
    if p.is_categorical:
        return f"{p.kind}{list(p.grid_values())}"
    return f"{p.kind}[{p.min_value},{p.max_value}]-{p.scaling_type}"  # type: ignore[attr-defined]


all_kinds = pytest.mark.parametrize("p", ALL, ids=_id)
numeric = pytest.mark.parametrize("p", NUMERIC, ids=_id)


def _samples(p: Parameter, n: int = 200, seed: int = 0) -> list[Any]:
    rng = np.random.default_rng(seed)
    return [p.sample(rng) for _ in range(n)]


def _same(p: Parameter, a: Any, b: Any) -> bool:
    """Equal values of the same type (a continuous value up to the encoding's rounding)."""
    if type(a) is not type(b):
        return False
    if p.n_values is None:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def _right_type(p: Parameter, value: Any) -> bool:
    if p.is_categorical:
        return any(_same(p, value, c) for c in p.grid_values())
    return type(value) is (float if p.n_values is None else int)


@all_kinds
def test_samples_are_inside_the_range_with_the_right_type(p: Parameter) -> None:
    values = _samples(p)
    assert all(p.contains(v) for v in values)
    assert all(_right_type(p, v) for v in values)
    assert values == _samples(p), "a seeded generator gives the same values"


@all_kinds
def test_encode_decode_round_trip(p: Parameter) -> None:
    values = _samples(p, 50) + ([p.neutral()] if p.n_values is None else p.grid_values())
    rows = np.full((len(values), p.width), 0.7)  # stale content is overwritten
    p.encode_into(rows, values)
    assert ((rows >= 0) & (rows <= 1)).all()
    if p.is_categorical:
        assert (rows.sum(axis=1) == 1.0).all() and set(rows.ravel().tolist()) <= {0.0, 1.0}
    decoded = p.decode(rows)
    assert len(decoded) == len(values)
    assert all(_same(p, d, v) for d, v in zip(decoded, values)), (values, decoded)
    # A block of no rows is fine too (a strategy with no observations yet).
    empty = np.zeros((0, p.width))
    p.encode_into(empty, [])
    assert p.decode(empty) == []


@all_kinds
def test_width_is_one_column_or_one_per_choice(p: Parameter) -> None:
    assert p.width == (p.n_values if p.is_categorical else 1)


@all_kinds
def test_snap_moves_encoded_rows_onto_valid_values(p: Parameter) -> None:
    rows = np.random.default_rng(1).random((64, p.width))
    snapped = rows.copy()
    p.snap(snapped)
    values = p.decode(snapped)
    assert all(p.contains(v) for v in values)
    assert all(_same(p, a, b) for a, b in zip(values, p.decode(rows)))
    if p.n_values is None:
        assert np.array_equal(snapped, rows), "continuous positions are valid as they are"
    else:
        again = np.zeros_like(rows)
        p.encode_into(again, values)
        assert np.allclose(snapped, again), "discrete rows sit on a value's encoding"


@all_kinds
def test_from_unit_stays_inside_even_outside_the_unit_interval(p: Parameter) -> None:
    for u in [-0.5, 0.0, 1e-12, 0.25, 0.5, 0.999999, 1.0, 1.5]:
        v = p.from_unit(u)
        assert p.contains(v) and _right_type(p, v), (u, v)


@all_kinds
def test_contains_rejects_what_is_not_a_value(p: Parameter) -> None:
    outside: list[Any] = [None, "surely-not-a-choice", [1]]
    if not p.is_categorical:
        lo, hi = p.min_value, p.max_value  # type: ignore[attr-defined]
        outside += [lo - 1, hi + 1, math.nan, math.inf, True]
    if p.n_values is not None and not p.is_categorical:
        outside.append(p.min_value + 0.5)  # type: ignore[attr-defined]
    for v in outside:
        assert not p.contains(v), v


@all_kinds
def test_grid_values_are_every_value_once(p: Parameter) -> None:
    if p.n_values is None:
        with pytest.raises(ValueError, match="no grid"):
            p.grid_values()
        return
    grid = p.grid_values()
    assert len(grid) == p.n_values
    assert all(p.contains(v) and _right_type(p, v) for v in grid)
    assert len({p.key(v) for v in grid}) == len(grid)
    if p.is_categorical:
        assert grid == list(p.values)  # type: ignore[attr-defined]
    else:
        assert grid == list(range(p.min_value, p.max_value + 1))  # type: ignore[attr-defined]


@all_kinds
def test_key_identifies_a_value(p: Parameter) -> None:
    values = _samples(p, 50)
    for v in values:
        hash(p.key(v))
        assert p.key(v) == p.key(p.coerce(v))
    distinct = {p.key(v) for v in values}
    assert len(distinct) == len({repr(v) for v in values})


@all_kinds
def test_neutral_is_inside_and_fixed(p: Parameter) -> None:
    v = p.neutral()
    assert p.contains(v) and _right_type(p, v) and v == p.neutral()
    if p.is_categorical:
        assert v == p.grid_values()[0]
    else:
        assert v == p.from_unit(0.5)


@all_kinds
def test_scaled_is_monotone_and_missing_values_are_nan(p: Parameter) -> None:
    if p.is_categorical:
        grid = p.grid_values()
        assert np.array_equal(p.scaled(grid), np.arange(len(grid), dtype=float))
    else:
        lo, hi = p.min_value, p.max_value  # type: ignore[attr-defined]
        ordered = (
            p.grid_values()
            if p.n_values is not None
            else [p.from_unit(u) for u in np.linspace(0, 1, 101)]
        )
        axis = p.scaled(ordered)
        assert np.isfinite(axis).all()
        assert (np.diff(axis) > 0).all()
        ends = p.scaled([lo, hi])
        assert ends[0] <= axis.min() and axis.max() <= ends[1]
        # Evenly spread on the unit interval is evenly spread on the scaled axis.
        if p.n_values is None:
            assert np.allclose(np.diff(axis), (ends[1] - ends[0]) / 100)
    missing = p.scaled([None])
    assert missing.shape == (1,) and math.isnan(missing[0])


@numeric
def test_unit_position_round_trips(p: Parameter) -> None:
    for v in _samples(p, 50):
        u = p.to_unit(v)  # type: ignore[attr-defined]
        assert 0.0 <= u <= 1.0
        assert _same(p, p.from_unit(u), v)


@pytest.mark.parametrize("p", INTEGER, ids=_id)
def test_integer_ranges_reach_both_ends(p: IntegerParameter) -> None:
    assert p.from_unit(0.0) == p.min_value and p.from_unit(1.0) == p.max_value
    # Every value owns a cell of the unit interval, the ends included.
    assert all(p.from_unit(p.to_unit(k)) == k for k in range(p.min_value, p.max_value + 1))
    if p.n_values <= 20:
        values = {p.from_unit(u) for u in np.linspace(0, 1, 2001)}
        assert values == set(range(p.min_value, p.max_value + 1))
        # Uniform draws land on both ends too (the smallest cell here is 6% of the interval).
        assert {p.min_value, p.max_value} <= set(_samples(p, 4000))


@pytest.mark.parametrize("p", CONTINUOUS, ids=_id)
def test_continuous_ranges_reach_both_ends(p: ContinuousParameter) -> None:
    assert p.from_unit(0.0) == pytest.approx(p.min_value, abs=1e-12)
    assert p.from_unit(1.0) == pytest.approx(p.max_value, abs=1e-12)


@all_kinds
def test_coerce_reads_values_and_their_text(p: Parameter) -> None:
    for v in _samples(p, 20):
        assert _same(p, p.coerce(v), v)
        assert _same(p, p.coerce(str(v) if p.is_categorical else repr(v)), v)
    bad: list[Any] = ["surely-not-a-choice", None]
    if not p.is_categorical:
        lo, hi = p.min_value, p.max_value  # type: ignore[attr-defined]
        bad += [str(hi + 1), lo - 1, "NaN", "Infinity", "[1]"]
    for raw in bad:
        with pytest.raises(ValueError):
            p.coerce(raw)


@pytest.mark.parametrize("p", INTEGER, ids=_id)
def test_integer_coerce_takes_whole_numbers_only(p: IntegerParameter) -> None:
    assert p.coerce(f"{p.min_value}.0") == p.min_value
    assert type(p.coerce(float(p.max_value))) is int
    with pytest.raises(ValueError):
        p.coerce(str(p.min_value + 0.5))


def test_categorical_coerce_matches_string_forms_and_keeps_the_choice() -> None:
    p = CategoricalParameter([1, 2.5, "x", True])
    assert p.coerce("2.5") == 2.5 and type(p.coerce("2.5")) is float
    assert p.coerce(True) is True and p.coerce("1") == 1 and type(p.coerce("1")) is int


@all_kinds
def test_kind_flags_and_scaling(p: Parameter) -> None:
    assert p.is_categorical == (p.kind == "Categorical")
    if p.is_categorical:
        assert p.scaling is None
    else:
        assert p.scaling in ("Linear", "Logarithmic", "ReverseLogarithmic")
    assert (p.n_values is None) == (p.kind == "Continuous")


@all_kinds
def test_equality_and_pickling_survive_use(p: Parameter) -> None:
    _samples(p, 3)  # fills the cached scaled axis of numeric ranges
    q = pickle.loads(pickle.dumps(p))
    assert q == p and hash(q) == hash(p)
    assert _samples(q, 20) == _samples(p, 20)
