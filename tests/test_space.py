"""Ranges, scalings and the unit-cube encoding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sagetune import CategoricalParameter, ContinuousParameter, IntegerParameter
from sagetune.space import SearchSpace, resolve_scaling

SCALINGS = ["Linear", "Logarithmic", "Auto"]


@pytest.mark.parametrize("scaling", SCALINGS)
def test_integer_ranges_stay_integers_and_reach_both_ends(scaling: str) -> None:
    p = IntegerParameter(1, 12, scaling)
    values = {p.from_unit(u) for u in np.linspace(0, 1, 2001)}
    assert values == set(range(1, 13))
    assert all(isinstance(v, int) for v in values)
    assert all(p.from_unit(p.to_unit(k)) == k for k in range(1, 13))


def test_logarithmic_gives_each_decade_the_same_share() -> None:
    p = ContinuousParameter(1e-4, 1.0, "Logarithmic")
    draws = np.array([p.from_unit(u) for u in np.random.default_rng(0).random(20000)])
    shares = [np.mean((draws >= 10.0**k) & (draws < 10.0 ** (k + 1))) for k in range(-4, 0)]
    assert np.allclose(shares, 0.25, atol=0.02)
    assert p.from_unit(0.0) == pytest.approx(1e-4) and p.from_unit(1.0) == pytest.approx(1.0)


def test_reverse_logarithmic_crowds_values_towards_one() -> None:
    p = ContinuousParameter(0.9, 0.999, "ReverseLogarithmic")
    draws = np.array([p.from_unit(u) for u in np.random.default_rng(0).random(20000)])
    # Equal shares for 1 - x in each decade: [0.9, 0.99) and [0.99, 0.999].
    assert np.mean(draws < 0.99) == pytest.approx(0.5, abs=0.02)
    assert draws.min() >= 0.9 and draws.max() <= 0.999
    assert p.from_unit(p.to_unit(0.95)) == pytest.approx(0.95)


def test_linear_is_uniform() -> None:
    p = ContinuousParameter(-5.0, 15.0, "Linear")
    assert p.from_unit(0.25) == pytest.approx(0.0)
    assert p.to_unit(15.0) == pytest.approx(1.0)


def test_auto_means_log_only_for_wide_positive_ranges() -> None:
    assert resolve_scaling("Auto", 1e-5, 1e-1) == "Logarithmic"
    assert resolve_scaling("Auto", 0.0, 1e3) == "Linear"
    assert resolve_scaling("Auto", 1.0, 10.0) == "Linear"
    assert ContinuousParameter(1e-6, 1.0).scaling == "Logarithmic"


def test_encoding_round_trips_with_one_hot_categoricals() -> None:
    space = SearchSpace(
        {
            "lr": ContinuousParameter(1e-4, 1e-1, "Logarithmic"),
            "depth": IntegerParameter(2, 9),
            "opt": CategoricalParameter(["sgd", "adam", "rmsprop"]),
            "mom": ContinuousParameter(0.8, 0.99, "ReverseLogarithmic"),
        }
    )
    assert space.n_columns == 6
    points = space.sample(np.random.default_rng(3), 50)
    encoded = space.encode(points)
    assert encoded.shape == (50, 6)
    assert ((encoded >= 0) & (encoded <= 1)).all()
    assert np.allclose(encoded[:, 2:5].sum(axis=1), 1.0)
    for a, b in zip(points, space.decode(encoded)):
        assert a["opt"] == b["opt"] and a["depth"] == b["depth"]
        assert math.isclose(a["lr"], b["lr"], rel_tol=1e-9)
        assert space.contains(b)


def test_categorical_values_keep_their_types_and_match_strings() -> None:
    p = CategoricalParameter([1, 2.5, "x", True])
    assert p.values == (1, 2.5, "x", True)
    assert p.index("2.5") == 1 and p.index(True) == 3
    assert not p.contains("y")


def test_grid_enumerates_categorical_and_integer_ranges() -> None:
    space = SearchSpace({"a": CategoricalParameter(["x", "y"]), "b": IntegerParameter(1, 3)})
    grid = list(space.grid())
    assert space.grid_size() == 6 == len(grid)
    assert grid[0] == {"a": "x", "b": 1} and grid[-1] == {"a": "y", "b": 3}
