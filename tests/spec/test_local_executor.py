"""The request extension ``LocalExecutor`` (where training jobs run) and how the SDK and the
CLI write it."""

from __future__ import annotations

from typing import Any

import pytest

from sagetune import ContinuousParameter, HyperparameterTuner, ValidationError, parse_request
from sagetune.spec.executor import ExecutorChoice, executor_member


def tuning_request(**extra: Any) -> dict[str, Any]:
    tuner = HyperparameterTuner("loss", {"x": ContinuousParameter(0, 1)}, objective_type="Minimize")
    return {**tuner.request("job"), **extra}


def test_a_ray_executor_is_read_into_the_spec_and_kept_in_the_stored_request() -> None:
    member = {
        "Type": "Ray",
        "Address": "10.0.0.5:6379",
        "InstanceResources": {"ml.m5.large": {"CPU": 1, "node_a": 1}},
    }
    spec = parse_request(tuning_request(LocalExecutor=member))
    assert spec.executor == ExecutorChoice(
        "Ray", "10.0.0.5:6379", {"ml.m5.large": {"CPU": 1.0, "node_a": 1.0}}
    )
    assert spec.to_request()["LocalExecutor"] == member
    assert parse_request(tuning_request()).executor is None


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ({"Type": "Spark"}, "LocalExecutor.Type: must be one of Local, Ray"),
        ({"Type": "Ray", "Adress": "x"}, "LocalExecutor.Adress: unknown field"),
        ({"Type": "Ray", "Address": ""}, "LocalExecutor.Address: must be a Ray address"),
        ({"Address": "h:1"}, "LocalExecutor.Address: only a Ray executor has an address"),
        (
            {"Type": "Ray", "InstanceResources": {"ml.m5.large": {"CPU": -1}}},
            "LocalExecutor.InstanceResources[ml.m5.large].CPU: must be a number >= 0",
        ),
        ("Ray", "LocalExecutor: must be an object"),
    ],
)
def test_a_bad_executor_member_is_reported_with_its_path(member: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_request(tuning_request(LocalExecutor=member))


def test_the_sdk_writes_the_member_and_local_stays_the_default() -> None:
    assert executor_member(None) is None and executor_member("local") is None
    assert executor_member("ray") == {"Type": "Ray"}
    assert executor_member(None, "h:6379") == {"Type": "Ray", "Address": "h:6379"}
    with pytest.raises(ValidationError, match="must be 'local' or 'ray'"):
        executor_member("dask")
    tuner = HyperparameterTuner(
        "loss",
        {"x": ContinuousParameter(0, 1)},
        objective_type="Minimize",
        executor="ray",
        ray_address="h:1",
    )
    assert tuner.request("job")["LocalExecutor"] == {"Type": "Ray", "Address": "h:1"}
    plain = HyperparameterTuner("loss", {"x": ContinuousParameter(0, 1)}, objective_type="Minimize")
    assert "LocalExecutor" not in plain.request("job")


def test_ray_is_not_imported_by_sagetune_until_a_ray_executor_is_made() -> None:
    import subprocess
    import sys

    code = (
        "import sys, sagetune, sagetune.service, sagetune.cli.jobs, sagetune.api\n"
        "assert 'ray' not in sys.modules, 'ray imported'\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
