"""Fuzzed requests: nothing but a ValidationError ever comes out of validation.

Valid requests are mutated at random places (the strategies of ``tests/mutations.py``) and
sent through ``parse_request``, and through ``service.create_tuning_job`` into a real SQLite
store, which a rejected request must leave as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mutations
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
from sagetune.spec.service_model import check_request
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


def mutated(data: st.DataObject) -> dict[str, Any]:
    return mutations.mutated(data, BUILT)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "train.py").write_text("print('auc=0.5')\n")
    (folder / "data").mkdir()
    mutations.hostile_files(folder)
    return folder


@settings(
    max_examples=mutations.examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
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


@settings(
    max_examples=mutations.examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
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
