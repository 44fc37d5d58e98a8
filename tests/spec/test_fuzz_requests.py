"""Fuzzed requests: nothing but a ValidationError ever comes out of validation.

Valid requests are mutated at random places (a member replaced by any JSON-like value, NaN,
inf and huge numbers included; deleted; wrapped in a list; an unknown or known member added)
and sent through ``parse_request``, and through ``service.create_tuning_job`` into a real
SQLite store, which a rejected request must leave as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_model_validation import (
    hyperband,
    local_command,
    minimal,
    sdk_request,
    several_definitions,
    valid_request,
    warm_start,
    yaml_style,
)

from sagetune import ResourceInUse, ValidationError, parse_request, service
from sagetune.spec import load_spec
from sagetune.spec.service_model import check_request, request_shape
from sagetune.store import open_store
from sagetune.store.records import TuningJobRecord

BASES: list[Callable[[], dict[str, Any]]] = [
    valid_request,
    minimal,
    local_command,
    several_definitions,
    hyperband,
    warm_start,
    yaml_style,
    sdk_request,
]
BUILT = [make() for make in BASES]


def _member_names() -> list[str]:
    names: set[str] = set()
    seen: set[str] = set()

    def collect(shape: Any) -> None:
        if shape.name in seen:
            return
        seen.add(shape.name)
        if shape.type_name == "structure":
            names.update(shape.members)
            for member in shape.members.values():
                collect(member)
        elif shape.type_name == "list":
            collect(shape.member)
        elif shape.type_name == "map":
            collect(shape.value)

    collect(request_shape())
    return sorted(names | {"LocalPricing", "LocalBaseDirectory", "LocalCommand"})


MEMBERS = _member_names()
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([10**400, -(10**400), 0, 1, 2, 3, 120, 2**31, 2**63])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        ["", "x" * 300, "File", "Stream", "s3://b/k", "ml.m5.xlarge", "0.1", '"train.py"']
        + ["Bayesian", "Grid", "Hyperband", "Random", "Auto", "Logarithmic", "Maximize"]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(MEMBERS) | st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


def _places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _places(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _places(v, (*path, i))
    return out


def _mutate(req: dict[str, Any], data: st.DataObject) -> None:
    places = _places(req)[1:]
    if not places:  # every member deleted already: add one
        member = data.draw(st.sampled_from(MEMBERS), label="member")
        req[member] = data.draw(VALUES, label="value")
        return
    place = data.draw(st.sampled_from(places), label="place")
    parent: Any = req
    for key in place[:-1]:
        parent = parent[key]
    key = place[-1]
    op = data.draw(st.sampled_from(["replace", "delete", "wrap", "add"]), label="op")
    if op == "replace":
        parent[key] = data.draw(VALUES, label="value")
    elif op == "delete":
        del parent[key]
    elif op == "wrap":
        parent[key] = [parent[key]]
    elif isinstance(parent[key], dict):
        member = data.draw(st.sampled_from(MEMBERS) | st.text(max_size=6), label="member")
        parent[key][member] = data.draw(VALUES, label="value")
    else:
        parent[key] = data.draw(VALUES, label="value")


def mutated(data: st.DataObject) -> dict[str, Any]:
    req = copy.deepcopy(data.draw(st.sampled_from(BUILT), label="base"))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        _mutate(req, data)
    return req


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "train.py").write_text("print('auc=0.5')\n")
    (folder / "data").mkdir()
    return folder


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_nothing_but_a_validation_error_comes_out(work: Path, data: st.DataObject) -> None:
    req = mutated(data)
    try:
        spec = parse_request(req, base_dir=work)
    except ValidationError as err:
        assert err.errors and all(isinstance(e, str) and ": " in e for e in err.errors)
        return
    # What passes must store and load back without a surprise.
    stored = spec.to_request()
    assert check_request(stored) == []
    again = load_spec(TuningJobRecord(spec.name, "Completed", stored, 1, 0.0, 0.0))
    assert again.to_request() == stored


def _snapshot(store: Any) -> Any:
    jobs = store.list_tuning_jobs()
    return [(job, store.list_training_jobs(job.name)) for job in jobs]


@pytest.fixture(scope="module")
def store(work: Path) -> Any:
    st_ = open_store(f"sqlite:///{work / 'fuzz.db'}")
    service.create_tuning_job(st_, valid_request(), base_dir=work)
    return st_


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_rejected_request_leaves_the_store_as_it_was(
    work: Path, store: Any, data: st.DataObject
) -> None:
    req = mutated(data)
    if data.draw(st.booleans(), label="new name") and isinstance(req, dict):
        req["HyperParameterTuningJobName"] = f"fuzz-{data.draw(st.integers(0, 10**6))}"
    before = _snapshot(store)
    try:
        service.create_tuning_job(store, req, base_dir=work, train_payload=b"not run")
    except (ValidationError, ResourceInUse):
        assert _snapshot(store) == before
