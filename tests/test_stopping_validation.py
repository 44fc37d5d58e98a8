"""The rules SageMaker enforces on Hyperband and early stopping, and the pricing extension."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sagetune import (
    ContinuousParameter,
    HyperbandStrategyConfig,
    HyperparameterTuner,
    StrategyConfig,
    ValidationError,
    parse_request,
)

CFG = "HyperParameterTuningJobConfig"
HB = f"{CFG}.StrategyConfig.HyperbandStrategyConfig"


def hyperband_request(
    hb: Any = None, static: dict[str, str] | None = None, **config: Any
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "HyperParameterTuningJobName": "hb",
        CFG: {
            "Strategy": "Hyperband",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "lr", "MinValue": "0.001", "MaxValue": "0.1"}
                ]
            },
            **config,
        },
        "TrainingJobDefinition": {"StaticHyperParameters": static or {}},
    }
    if hb is not None:
        request[CFG]["StrategyConfig"] = {"HyperbandStrategyConfig": hb}
    return request


def errors_of(request: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as err:
        parse_request(request)
    return err.value.errors


def test_hyperband_parses_and_infers_max_resource_like_sagemaker() -> None:
    spec = parse_request(hyperband_request({"MinResource": 2, "MaxResource": 50}))
    assert (spec.hyperband.min_resource, spec.hyperband.max_resource) == (2, 50)
    inferred = parse_request(hyperband_request(static={"num_epochs": "30"}))
    assert (inferred.hyperband.min_resource, inferred.hyperband.max_resource) == (1, 30)
    assert (
        parse_request(
            hyperband_request({"MinResource": 3}, static={"epochs": "9"})
        ).hyperband.max_resource
        == 9
    )
    assert parse_request(hyperband_request({"MaxResource": 9})).early_stopping_type == "Off"
    auto = copy.deepcopy(hyperband_request({"MaxResource": 9}))
    auto[CFG].update(Strategy="Bayesian", TrainingJobEarlyStoppingType="Auto")
    del auto[CFG]["StrategyConfig"]
    assert parse_request(auto).early_stopping_type == "Auto"


CASES = [
    (
        "hyperband with early stopping Auto",
        hyperband_request({"MaxResource": 9}, TrainingJobEarlyStoppingType="Auto"),
        f"{CFG}.TrainingJobEarlyStoppingType: must be Off with the Hyperband strategy",
    ),
    (
        "min above max",
        hyperband_request({"MinResource": 10, "MaxResource": 9}),
        f"{HB}: MinResource must be <= MaxResource, got MinResource 10 > MaxResource 9",
    ),
    (
        "max not inferable",
        hyperband_request({"MinResource": 1}),
        (
            f"{HB}.MaxResource: is required when it cannot be inferred from "
            f"TrainingJobDefinition.StaticHyperParameters (epochs, numepochs"
        ),
    ),
    (
        "inferred epochs not a number",
        hyperband_request(static={"epochs": "many"}),
        "TrainingJobDefinition.StaticHyperParameters.epochs: must be an integer, got 'many'",
    ),
    (
        "max too large",
        hyperband_request({"MaxResource": 20001}),
        f"{HB}.MaxResource: must be <= 20000, got 20001",
    ),
    (
        "min below 1",
        hyperband_request({"MinResource": 0, "MaxResource": 9}),
        f"{HB}.MinResource: must be >= 1, got 0",
    ),
    (
        "resource not an integer",
        hyperband_request({"MaxResource": "nine"}),
        f"{HB}.MaxResource: must be an integer, got 'nine'",
    ),
    (
        "unknown hyperband field",
        hyperband_request({"MaxResource": 9, "Eta": 3}),
        f"{HB}.Eta: unknown field",
    ),
    (
        "early stopping enum",
        hyperband_request({"MaxResource": 9}, TrainingJobEarlyStoppingType="On"),
        f"{CFG}.TrainingJobEarlyStoppingType: must be one of Off, Auto, got 'On'",
    ),
    (
        "price not a number",
        {
            **hyperband_request({"MaxResource": 9}),
            "LocalPricing": {"InstancePricesPerHour": {"ml.m5.xlarge": "cheap"}},
        },
        "LocalPricing.InstancePricesPerHour[ml.m5.xlarge]: must be a number >= 0, got 'cheap'",
    ),
    (
        "spot discount below 1",
        {**hyperband_request({"MaxResource": 9}), "LocalPricing": {"SpotDiscount": 1.5}},
        "LocalPricing.SpotDiscount: must be a number from 0 to below 1",
    ),
]


@pytest.mark.parametrize("request_body,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_names_field_and_rule(request_body: dict, expected: str) -> None:
    assert any(expected in e for e in errors_of(request_body))


def test_all_problems_are_reported_at_once() -> None:
    request = {
        **hyperband_request(
            {"MinResource": 10, "MaxResource": 9}, TrainingJobEarlyStoppingType="Auto"
        ),
        "LocalPricing": {"SpotDiscount": -1},
    }
    errors = errors_of(request)
    assert len(errors) == 3
    assert {e.split(":")[0] for e in errors} == {
        f"{CFG}.TrainingJobEarlyStoppingType",
        HB,
        "LocalPricing.SpotDiscount",
    }


def test_the_sdk_builds_the_same_request_and_rejects_the_same_things() -> None:
    tuner = HyperparameterTuner(
        "loss",
        {"lr": ContinuousParameter(0.001, 0.1)},
        objective_type="Minimize",
        strategy="Hyperband",
        max_jobs=4,
        strategy_config=StrategyConfig(HyperbandStrategyConfig(max_resource=27, min_resource=3)),
    )
    config = tuner.request("x")[CFG]
    assert config["StrategyConfig"] == {
        "HyperbandStrategyConfig": {"MinResource": 3, "MaxResource": 27}
    }
    with pytest.raises(ValidationError, match="must be Off with the Hyperband strategy"):
        HyperparameterTuner(
            "loss",
            {"lr": ContinuousParameter(0.001, 0.1)},
            strategy="Hyperband",
            max_jobs=4,
            early_stopping_type="Auto",
            strategy_config={"HyperbandStrategyConfig": {"MaxResource": 9}},
        )
