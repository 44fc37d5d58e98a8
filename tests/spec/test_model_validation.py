# ruff: noqa: E501 - one invalid request per line reads as a table
"""Requests checked against SageMaker's service model (botocore's), with sagetune's rules.

Each invalid request is one mutation of a valid script-mode request; its ValidationError must
name the member's field path and the rule broken. The valid requests are the shapes a local
user sends: the SDK's, script mode, LocalCommand, TrainingJobDefinitions, Hyperband, warm
start, YAML-style numbers and nulls.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sagetune import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
    ValidationError,
    parse_request,
)
from sagetune.spec import load_spec
from sagetune.spec.service_model import (
    LOCAL_MEMBERS,
    LOCALLY_OPTIONAL,
    check_request,
    request_shape,
)
from sagetune.store.records import TuningJobRecord

CFG = "HyperParameterTuningJobConfig"
RANGES = f"{CFG}.ParameterRanges"
CONT = f"{RANGES}.ContinuousParameterRanges"
INT = f"{RANGES}.IntegerParameterRanges"
CAT = f"{RANGES}.CategoricalParameterRanges"
LIMITS = f"{CFG}.ResourceLimits"
CRIT = f"{CFG}.TuningJobCompletionCriteria"
DEF = "TrainingJobDefinition"
ALGO = f"{DEF}.AlgorithmSpecification"
CHANNEL = f"{DEF}.InputDataConfig[train]"
S3 = f"{CHANNEL}.DataSource.S3DataSource"


def valid_request() -> dict[str, Any]:
    """A script-mode request that uses most of the model (paths relative to the fixture)."""
    return {
        "HyperParameterTuningJobName": "model-check",
        CFG: {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize",
                "MetricName": "validation:auc",
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": 10,
                "MaxParallelTrainingJobs": 2,
                "MaxRuntimeInSeconds": 3600,
            },
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {
                        "Name": "eta",
                        "MinValue": "0.001",
                        "MaxValue": "1",
                        "ScalingType": "Logarithmic",
                    }
                ],
                "IntegerParameterRanges": [
                    {"Name": "max_depth", "MinValue": "1", "MaxValue": "10"}
                ],
                "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
            },
            "TrainingJobEarlyStoppingType": "Off",
            "TuningJobCompletionCriteria": {
                "TargetObjectiveMetricValue": 0.99,
                "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 5},
                "ConvergenceDetected": {"CompleteOnConvergence": "Disabled"},
            },
            "RandomSeed": 7,
        },
        DEF: {
            "StaticHyperParameters": {"sagemaker_program": "train.py", "num_round": "100"},
            "AlgorithmSpecification": {
                "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:latest",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "validation:auc", "Regex": "auc=([0-9.]+)"}],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "data"}},
                    "CompressionType": "None",
                    "InputMode": "File",
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            "RetryStrategy": {"MaximumRetryAttempts": 2},
            "EnableManagedSpotTraining": False,
            "Environment": {"MY_SETTING": "1"},
            "VpcConfig": {"SecurityGroupIds": ["sg-12345678"], "Subnets": ["subnet-12345678"]},
        },
        "Tags": [{"Key": "team", "Value": "ml"}],
    }


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text("print('auc=0.5')\n")
    (tmp_path / "data").mkdir()
    return tmp_path


_DELETE = object()


def at(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation: set (or delete) the member at ``path`` ('/'-separated, list items by
    index)."""

    def mutate(req: dict[str, Any]) -> None:
        node: Any = req
        keys = path.split("/")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        last: Any = int(keys[-1]) if isinstance(node, list) else keys[-1]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = copy.deepcopy(value)

    return mutate


def both(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(req: dict[str, Any]) -> None:
        for m in mutations:
            m(req)

    return mutate


C = CFG
R = f"{CFG}/ParameterRanges"
L = f"{CFG}/ResourceLimits"
D = DEF
NAN, INF, HUGE = math.nan, math.inf, 10**400
RANGE = {"Name": "eta", "MinValue": "0.001", "MaxValue": "1"}


def definitions(n: int = 1, **extra: Any) -> Callable[[dict[str, Any]], None]:
    """Replace TrainingJobDefinition with ``n`` named definitions."""

    def mutate(req: dict[str, Any]) -> None:
        body = req.pop(DEF)
        ranges = req[CFG].pop("ParameterRanges")
        req["TrainingJobDefinitions"] = [
            {
                **copy.deepcopy(body),
                "DefinitionName": f"def{i}",
                "TuningObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
                "HyperParameterRanges": copy.deepcopy(ranges),
                **copy.deepcopy(extra),
            }
            for i in range(n)
        ]

    return mutate


# (id, mutation, field path, rule): the error must start with "<path>: " and contain the rule.
CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    # The request and its top-level members
    ("name missing", at("HyperParameterTuningJobName", _DELETE), "HyperParameterTuningJobName", "must be 1 to 32"),
    ("name too long", at("HyperParameterTuningJobName", "x" * 33), "HyperParameterTuningJobName", "must be 1 to 32"),
    ("name pattern", at("HyperParameterTuningJobName", "-lead"), "HyperParameterTuningJobName", "pattern"),
    ("name a number", at("HyperParameterTuningJobName", 5), "HyperParameterTuningJobName", "got 5"),
    ("config missing", at(C, _DELETE), C, "is required"),
    ("config a list", at(C, []), C, "must be an object"),
    ("config a string", at(C, "x"), C, "must be an object"),
    ("unknown top member, close", at("HyperParameterTuningJobNam", "x"), "HyperParameterTuningJobNam", "did you mean HyperParameterTuningJobName?"),
    ("unknown top member", at("Colour", "x"), "Colour", "unknown member (SageMaker's CreateHyperParameterTuningJob request has no such member)"),
    ("autotune mode enum", at("Autotune", {"Mode": "Disabled"}), "Autotune.Mode", "must be one of Enabled"),
    ("autotune mode required", at("Autotune", {}), "Autotune.Mode", "is required"),
    ("tags not a list", at("Tags", {"team": "ml"}), "Tags", "must be a list, got an object"),
    ("tags too many", at("Tags", [{"Key": f"k{i}", "Value": "v"} for i in range(51)]), "Tags", "must have at most 50 items"),
    ("tag value required", at("Tags/0", {"Key": "team"}), "Tags[0].Value", "is required"),
    ("tag key too long", at("Tags/0/Key", "k" * 129), "Tags[0].Key", "must have at most 128 characters"),
    ("tag key empty", at("Tags/0/Key", ""), "Tags[0].Key", "must have at least 1 character,"),
    ("tag item a string", at("Tags/0", "team=ml"), "Tags[0]", "must be an object, got a string"),
    ("local base directory a number", at("LocalBaseDirectory", 5), "LocalBaseDirectory", "must be a folder's path"),
    # HyperParameterTuningJobConfig
    ("strategy enum", at(f"{C}/Strategy", "Genetic"), f"{CFG}.Strategy", "must be one of Bayesian"),
    ("strategy a number", at(f"{C}/Strategy", 5), f"{CFG}.Strategy", "got 5"),
    ("strategy config a list", both(at(f"{C}/Strategy", "Hyperband"), at(f"{C}/StrategyConfig", [])), f"{CFG}.StrategyConfig", "must be an object"),
    ("hyperband min resource", both(at(f"{C}/Strategy", "Hyperband"), at(f"{C}/StrategyConfig", {"HyperbandStrategyConfig": {"MinResource": 0, "MaxResource": 9}})), f"{CFG}.StrategyConfig.HyperbandStrategyConfig.MinResource", ">= 1"),
    ("hyperband max resource a string", both(at(f"{C}/Strategy", "Hyperband"), at(f"{C}/StrategyConfig", {"HyperbandStrategyConfig": {"MaxResource": "27"}})), f"{CFG}.StrategyConfig.HyperbandStrategyConfig.MaxResource", "must be an integer"),
    ("hyperband unknown member", both(at(f"{C}/Strategy", "Hyperband"), at(f"{C}/StrategyConfig", {"HyperbandStrategyConfig": {"MaxResource": 9, "Eta": 3}})), f"{CFG}.StrategyConfig.HyperbandStrategyConfig.Eta", "unknown field"),
    ("objective type enum", at(f"{C}/HyperParameterTuningJobObjective/Type", "Max"), f"{CFG}.HyperParameterTuningJobObjective.Type", "must be one of Maximize, Minimize"),
    ("objective type required", at(f"{C}/HyperParameterTuningJobObjective/Type", _DELETE), f"{CFG}.HyperParameterTuningJobObjective.Type", "is required"),
    ("objective metric empty", at(f"{C}/HyperParameterTuningJobObjective/MetricName", ""), f"{CFG}.HyperParameterTuningJobObjective.MetricName", "is required"),
    ("objective metric too long", at(f"{C}/HyperParameterTuningJobObjective/MetricName", "m" * 256), f"{CFG}.HyperParameterTuningJobObjective.MetricName", "1 to 255"),
    ("objective unknown member", at(f"{C}/HyperParameterTuningJobObjective/Metric", "x"), f"{CFG}.HyperParameterTuningJobObjective.Metric", "did you mean MetricName?"),
    ("objective a list", at(f"{C}/HyperParameterTuningJobObjective", ["Maximize"]), f"{CFG}.HyperParameterTuningJobObjective", "must be an object"),
    ("resource limits empty", at(L, {}), f"{LIMITS}.MaxParallelTrainingJobs", "is required"),
    ("resource limits a list", at(L, [10, 2]), LIMITS, "must be an object"),
    ("resource limits a string", at(L, "10"), LIMITS, "must be an object"),
    ("parallel a string", at(f"{L}/MaxParallelTrainingJobs", "2"), f"{LIMITS}.MaxParallelTrainingJobs", "must be an integer"),
    ("parallel zero", at(f"{L}/MaxParallelTrainingJobs", 0), f"{LIMITS}.MaxParallelTrainingJobs", ">= 1"),
    ("parallel a fraction", at(f"{L}/MaxParallelTrainingJobs", 2.5), f"{LIMITS}.MaxParallelTrainingJobs", "must be an integer"),
    ("parallel a boolean", at(f"{L}/MaxParallelTrainingJobs", True), f"{LIMITS}.MaxParallelTrainingJobs", "must be an integer"),
    ("max jobs NaN", at(f"{L}/MaxNumberOfTrainingJobs", NAN), f"{LIMITS}.MaxNumberOfTrainingJobs", "must be an integer"),
    ("max jobs inf", at(f"{L}/MaxNumberOfTrainingJobs", INF), f"{LIMITS}.MaxNumberOfTrainingJobs", "must be an integer"),
    ("max jobs huge", at(f"{L}/MaxNumberOfTrainingJobs", HUGE), f"{LIMITS}.MaxNumberOfTrainingJobs", "<= 2147483647"),
    ("max jobs negative", at(f"{L}/MaxNumberOfTrainingJobs", -1), f"{LIMITS}.MaxNumberOfTrainingJobs", ">= 1"),
    ("max runtime zero", at(f"{L}/MaxRuntimeInSeconds", 0), f"{LIMITS}.MaxRuntimeInSeconds", ">= 1"),
    ("max runtime above the model's", at(f"{L}/MaxRuntimeInSeconds", 15768001), f"{LIMITS}.MaxRuntimeInSeconds", "<= 15768000"),
    ("max runtime huge", at(f"{L}/MaxRuntimeInSeconds", HUGE), f"{LIMITS}.MaxRuntimeInSeconds", "<= 15768000"),
    ("max runtime a string", at(f"{L}/MaxRuntimeInSeconds", "60"), f"{LIMITS}.MaxRuntimeInSeconds", "must be an integer"),
    ("limits unknown member", at(f"{L}/MaxJobs", 3), f"{LIMITS}.MaxJobs", "unknown member (SageMaker's ResourceLimits has no such member"),
    ("ranges a list", at(f"{R}", []), RANGES, "must be an object"),
    ("continuous ranges an object", at(f"{R}/ContinuousParameterRanges", RANGE), CONT, "must be a list"),
    ("continuous ranges too many", at(f"{R}/ContinuousParameterRanges", [{**RANGE, "Name": f"x{i}"} for i in range(31)]), CONT, "must have at most 30 items"),
    ("range name missing", at(f"{R}/ContinuousParameterRanges/0/Name", _DELETE), f"{CONT}[0].Name", "is required"),
    ("range min missing", at(f"{R}/ContinuousParameterRanges/0/MinValue", _DELETE), f"{CONT}[eta].MinValue", "must be a number"),
    ("range min NaN", at(f"{R}/ContinuousParameterRanges/0/MinValue", NAN), f"{CONT}[eta].MinValue", "finite"),
    ("range min inf", at(f"{R}/ContinuousParameterRanges/0/MinValue", INF), f"{CONT}[eta].MinValue", "finite"),
    ("range min huge", at(f"{R}/ContinuousParameterRanges/0/MinValue", HUGE), f"{CONT}[eta].MinValue", "finite"),
    ("range min 1e400 text", at(f"{R}/ContinuousParameterRanges/0/MinValue", "1e400"), f"{CONT}[eta].MinValue", "finite"),
    ("range min a list", at(f"{R}/ContinuousParameterRanges/0/MinValue", [1]), f"{CONT}[eta].MinValue", "must be a number"),
    ("range min an object", at(f"{R}/ContinuousParameterRanges/0/MinValue", {}), f"{CONT}[eta].MinValue", "must be a number"),
    ("range max too long", at(f"{R}/ContinuousParameterRanges/0/MaxValue", "1" * 257), f"{CONT}[eta].MaxValue", ""),
    ("range scaling enum", at(f"{R}/ContinuousParameterRanges/0/ScalingType", "Log"), f"{CONT}[eta].ScalingType", "must be one of Auto"),
    ("range scaling a number", at(f"{R}/ContinuousParameterRanges/0/ScalingType", 1), f"{CONT}[eta].ScalingType", "must be one of Auto"),
    ("range unknown member", at(f"{R}/ContinuousParameterRanges/0/Scaling", "Linear"), f"{CONT}[eta].Scaling", "did you mean ScalingType?"),
    ("range name too long", at(f"{R}/ContinuousParameterRanges/0/Name", "n" * 257), f"{CONT}[0].Name", "1 to 256"),
    ("integer bound a fraction", at(f"{R}/IntegerParameterRanges/0/MaxValue", "10.5"), f"{INT}[max_depth].MaxValue", "must be an integer"),
    ("integer bound a boolean", at(f"{R}/IntegerParameterRanges/0/MinValue", True), f"{INT}[max_depth].MinValue", "must be a number"),
    ("integer range a string", at(f"{R}/IntegerParameterRanges/0", "max_depth"), f"{INT}[0]", "must be an object"),
    ("categorical values a string", at(f"{R}/CategoricalParameterRanges/0/Values", "ab"), f"{CAT}[booster].Values", "must be a non-empty list"),
    ("categorical values too many", at(f"{R}/CategoricalParameterRanges/0/Values", [str(i) for i in range(31)]), f"{CAT}[booster].Values", "at most 30"),
    ("categorical value a list", at(f"{R}/CategoricalParameterRanges/0/Values", [["a"], "b"]), f"{CAT}[booster].Values[0]", "must be a string"),
    ("categorical value NaN", at(f"{R}/CategoricalParameterRanges/0/Values", [NAN, 1]), f"{CAT}[booster].Values", "must be a string, number or boolean"),
    ("categorical value too long", at(f"{R}/CategoricalParameterRanges/0/Values", ["v" * 257, "b"]), f"{CAT}[booster].Values[0]", "must have at most 256 characters"),
    ("categorical unknown member", at(f"{R}/CategoricalParameterRanges/0/Value", ["a"]), f"{CAT}[booster].Value", "did you mean Values?"),
    ("auto parameters", at(f"{R}/AutoParameters", [{"Name": "x", "ValueHint": "1"}]), f"{RANGES}.AutoParameters", "Autotune is not supported"),
    ("unknown range kind", at(f"{R}/FloatParameterRanges", []), f"{RANGES}.FloatParameterRanges", "unknown range kind"),
    ("early stopping enum", at(f"{C}/TrainingJobEarlyStoppingType", "On"), f"{CFG}.TrainingJobEarlyStoppingType", "must be one of Off, Auto"),
    ("criteria a list", at(f"{C}/TuningJobCompletionCriteria", []), CRIT, "must be an object"),
    ("target a string", at(f"{C}/TuningJobCompletionCriteria/TargetObjectiveMetricValue", "high"), f"{CRIT}.TargetObjectiveMetricValue", "must be a number"),
    ("target NaN", at(f"{C}/TuningJobCompletionCriteria/TargetObjectiveMetricValue", NAN), f"{CRIT}.TargetObjectiveMetricValue", "finite"),
    ("target huge", at(f"{C}/TuningJobCompletionCriteria/TargetObjectiveMetricValue", HUGE), f"{CRIT}.TargetObjectiveMetricValue", "finite"),
    ("not improving a list", at(f"{C}/TuningJobCompletionCriteria/BestObjectiveNotImproving", [5]), f"{CRIT}.BestObjectiveNotImproving", "must be an object"),
    ("not improving below 3", at(f"{C}/TuningJobCompletionCriteria/BestObjectiveNotImproving/MaxNumberOfTrainingJobsNotImproving", 2), f"{CRIT}.BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving", ">= 3"),
    ("not improving a string", at(f"{C}/TuningJobCompletionCriteria/BestObjectiveNotImproving/MaxNumberOfTrainingJobsNotImproving", "5"), f"{CRIT}.BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving", "must be an integer"),
    ("convergence enum", at(f"{C}/TuningJobCompletionCriteria/ConvergenceDetected/CompleteOnConvergence", "Yes"), f"{CRIT}.ConvergenceDetected.CompleteOnConvergence", "must be one of Disabled, Enabled"),
    ("criteria unknown member", at(f"{C}/TuningJobCompletionCriteria/Target", 1), f"{CRIT}.Target", "unknown field"),
    ("seed negative", at(f"{C}/RandomSeed", -1), f"{CFG}.RandomSeed", ">= 0"),
    ("seed a string", at(f"{C}/RandomSeed", "7"), f"{CFG}.RandomSeed", "must be an integer"),
    ("seed beyond 32 bits", at(f"{C}/RandomSeed", 2**31), f"{CFG}.RandomSeed", "<= 2147483647"),
    ("config unknown member", at(f"{C}/MaxJobs", 3), f"{CFG}.MaxJobs", "unknown member"),
    ("config unknown member, close", at(f"{C}/ParameterRange", {}), f"{CFG}.ParameterRange", "did you mean ParameterRanges?"),
    # TrainingJobDefinition
    ("definition a list", at(D, []), DEF, "must be an object"),
    ("definition unknown member, close", at(f"{D}/StoppingConditions", {}), f"{DEF}.StoppingConditions", "unknown member (SageMaker's TrainingJobDefinition has no such member; did you mean StoppingCondition?)"),
    ("static a list", at(f"{D}/StaticHyperParameters", ["a"]), f"{DEF}.StaticHyperParameters", "must be an object"),
    ("static value a list", at(f"{D}/StaticHyperParameters/num_round", [100]), f"{DEF}.StaticHyperParameters[num_round]", "must be a string"),
    ("static value an object", at(f"{D}/StaticHyperParameters/num_round", {"n": 1}), f"{DEF}.StaticHyperParameters[num_round]", "must be a string"),
    ("static value NaN", at(f"{D}/StaticHyperParameters/num_round", NAN), f"{DEF}.StaticHyperParameters[num_round]", "must be a finite number"),
    ("static value too long", at(f"{D}/StaticHyperParameters/num_round", "1" * 2501), f"{DEF}.StaticHyperParameters[num_round]", "must have at most 2500 characters"),
    ("static too many", at(f"{D}/StaticHyperParameters", {"sagemaker_program": "train.py", **{f"k{i}": "1" for i in range(100)}}), f"{DEF}.StaticHyperParameters", "must have at most 100 entries"),
    ("static name too long", at(f"{D}/StaticHyperParameters/{'k' * 257}", "1"), f"{DEF}.StaticHyperParameters[{'k' * 257}] (the name)", "must have at most 256 characters"),
    ("algorithm a list", at(f"{D}/AlgorithmSpecification", []), ALGO, "must be an object"),
    ("input mode Stream", at(f"{D}/AlgorithmSpecification/TrainingInputMode", "Stream"), f"{ALGO}.TrainingInputMode", "must be one of Pipe, File, FastFile, got 'Stream'"),
    ("training image too long", at(f"{D}/AlgorithmSpecification/TrainingImage", "i" * 256), f"{ALGO}.TrainingImage", "must have at most 255 characters"),
    ("algorithm name pattern", at(f"{D}/AlgorithmSpecification/AlgorithmName", "-bad-"), f"{ALGO}.AlgorithmName", "must match the pattern"),
    ("metric definitions an object", at(f"{D}/AlgorithmSpecification/MetricDefinitions", {"Name": "a"}), f"{ALGO}.MetricDefinitions", "must be a list"),
    ("metric definitions too many", at(f"{D}/AlgorithmSpecification/MetricDefinitions", [{"Name": f"m{i}", "Regex": "(x)"} for i in range(41)]), f"{ALGO}.MetricDefinitions", "at most 40"),
    ("metric regex missing", at(f"{D}/AlgorithmSpecification/MetricDefinitions/0/Regex", _DELETE), f"{ALGO}.MetricDefinitions[validation:auc].Regex", "is required"),
    ("metric regex too long", at(f"{D}/AlgorithmSpecification/MetricDefinitions/0/Regex", "(x)" * 200), f"{ALGO}.MetricDefinitions[validation:auc].Regex", "1 to 500"),
    ("metric unknown member", at(f"{D}/AlgorithmSpecification/MetricDefinitions/0/Pattern", "x"), f"{ALGO}.MetricDefinitions[validation:auc].Pattern", "unknown member"),
    ("role pattern", at(f"{D}/RoleArn", "arn:aws:iam::123:role/xyz"), f"{DEF}.RoleArn", "must match the pattern"),
    ("role too short", at(f"{D}/RoleArn", "role"), f"{DEF}.RoleArn", "must have at least 20 characters"),
    ("role a number", at(f"{D}/RoleArn", 5), f"{DEF}.RoleArn", "must be a string, got a number"),
    ("output path required", at(f"{D}/OutputDataConfig", {}), f"{DEF}.OutputDataConfig.S3OutputPath", "is required"),
    ("output path too long", at(f"{D}/OutputDataConfig/S3OutputPath", "s3://b/" + "x" * 1024), f"{DEF}.OutputDataConfig.S3OutputPath", "must have at most 1024 characters"),
    ("output compression enum", at(f"{D}/OutputDataConfig/CompressionType", "ZIP"), f"{DEF}.OutputDataConfig.CompressionType", "must be one of GZIP, NONE"),
    ("resource config a list", at(f"{D}/ResourceConfig", [{"InstanceType": "ml.m5.xlarge"}]), f"{DEF}.ResourceConfig", "must be an object, got a list"),
    ("instance type close", at(f"{D}/ResourceConfig/InstanceType", "ml.m5.xlarg"), f"{DEF}.ResourceConfig.InstanceType", "did you mean ml.m5.xlarge?"),
    ("instance count negative", at(f"{D}/ResourceConfig/InstanceCount", -1), f"{DEF}.ResourceConfig.InstanceCount", ">= 0"),
    ("instance count a string", at(f"{D}/ResourceConfig/InstanceCount", "1"), f"{DEF}.ResourceConfig.InstanceCount", "must be an integer"),
    ("keep alive too long", at(f"{D}/ResourceConfig/KeepAlivePeriodInSeconds", 21601), f"{DEF}.ResourceConfig.KeepAlivePeriodInSeconds", "<= 21600"),
    ("stopping condition a list", at(f"{D}/StoppingCondition", [600]), f"{DEF}.StoppingCondition", "must be an object"),
    ("job runtime zero", at(f"{D}/StoppingCondition/MaxRuntimeInSeconds", 0), f"{DEF}.StoppingCondition.MaxRuntimeInSeconds", ">= 1"),
    ("job runtime beyond 32 bits", at(f"{D}/StoppingCondition/MaxRuntimeInSeconds", 2**31), f"{DEF}.StoppingCondition.MaxRuntimeInSeconds", "<= 2147483647"),
    ("pending time too short", at(f"{D}/StoppingCondition/MaxPendingTimeInSeconds", 60), f"{DEF}.StoppingCondition.MaxPendingTimeInSeconds", ">= 1800"),
    ("wait time a fraction", at(f"{D}/StoppingCondition/MaxWaitTimeInSeconds", 1.5), f"{DEF}.StoppingCondition.MaxWaitTimeInSeconds", "must be an integer"),
    ("spot a string", at(f"{D}/EnableManagedSpotTraining", "true"), f"{DEF}.EnableManagedSpotTraining", "must be true or false"),
    ("isolation a number", at(f"{D}/EnableNetworkIsolation", 1), f"{DEF}.EnableNetworkIsolation", "must be true or false"),
    ("retry attempts required", at(f"{D}/RetryStrategy", {}), f"{DEF}.RetryStrategy.MaximumRetryAttempts", "is required"),
    ("retry attempts zero", at(f"{D}/RetryStrategy/MaximumRetryAttempts", 0), f"{DEF}.RetryStrategy.MaximumRetryAttempts", ">= 1"),
    ("retry attempts too many", at(f"{D}/RetryStrategy/MaximumRetryAttempts", 31), f"{DEF}.RetryStrategy.MaximumRetryAttempts", "from 1 to 30"),
    ("environment name pattern", at(f"{D}/Environment/1BAD", "x"), f"{DEF}.Environment[1BAD] (the name)", "must match the pattern"),
    ("environment too many", at(f"{D}/Environment", {f"V{i}": "x" for i in range(49)}), f"{DEF}.Environment", "must have at most 48 entries"),
    ("environment value a number", at(f"{D}/Environment/MY_SETTING", 5), f"{DEF}.Environment[MY_SETTING]", "must be a string"),
    ("vpc subnets required", at(f"{D}/VpcConfig/Subnets", _DELETE), f"{DEF}.VpcConfig.Subnets", "is required"),
    ("vpc no security group", at(f"{D}/VpcConfig/SecurityGroupIds", []), f"{DEF}.VpcConfig.SecurityGroupIds", "must have at least 1 item,"),
    ("vpc too many subnets", at(f"{D}/VpcConfig/Subnets", [f"subnet-{i}" for i in range(17)]), f"{DEF}.VpcConfig.Subnets", "must have at most 16 items"),
    ("checkpoint uri required", at(f"{D}/CheckpointConfig", {}), f"{DEF}.CheckpointConfig.S3Uri", "is required"),
    ("channels an object", at(f"{D}/InputDataConfig", {"train": "data"}), f"{DEF}.InputDataConfig", "must be a list"),
    ("channels empty", at(f"{D}/InputDataConfig", []), f"{DEF}.InputDataConfig", "must have at least 1 item"),
    ("data source a string", at(f"{D}/InputDataConfig/0/DataSource", "data"), f"{CHANNEL}.DataSource", "must be an object, got a string"),
    ("data source missing", at(f"{D}/InputDataConfig/0/DataSource", _DELETE), f"{CHANNEL}.DataSource", "is required"),
    ("channel name pattern", at(f"{D}/InputDataConfig/0/ChannelName", "bad name"), f"{DEF}.InputDataConfig[bad name].ChannelName", "1 to 64 letters"),
    ("channel name missing", at(f"{D}/InputDataConfig/0/ChannelName", _DELETE), f"{DEF}.InputDataConfig[0].ChannelName", ""),
    ("channel unknown member", at(f"{D}/InputDataConfig/0/Channel", "x"), f"{CHANNEL}.Channel", "did you mean ChannelName?"),
    ("channel compression enum", at(f"{D}/InputDataConfig/0/CompressionType", "Zip"), f"{CHANNEL}.CompressionType", "must be one of None, Gzip"),
    ("channel input mode Stream", at(f"{D}/InputDataConfig/0/InputMode", "Stream"), f"{CHANNEL}.InputMode", "must be one of Pipe, File, FastFile"),
    ("s3 data type enum", at(f"{D}/InputDataConfig/0/DataSource/S3DataSource/S3DataType", "Prefix"), f"{S3}.S3DataType", "did you mean S3Prefix?"),
    ("s3 uri required", at(f"{D}/InputDataConfig/0/DataSource/S3DataSource/S3Uri", _DELETE), f"{S3}.S3Uri", "is required"),
    ("s3 uri a list", at(f"{D}/InputDataConfig/0/DataSource/S3DataSource/S3Uri", ["data"]), f"{S3}.S3Uri", "must be a string"),
    ("file system members required", at(f"{D}/InputDataConfig/0/DataSource", {"FileSystemDataSource": {}}), f"{CHANNEL}.DataSource.FileSystemDataSource.FileSystemId", "is required"),
    ("shuffle seed a string", at(f"{D}/InputDataConfig/0/ShuffleConfig", {"Seed": "1"}), f"{CHANNEL}.ShuffleConfig.Seed", "must be an integer"),
    ("shuffle seed beyond 64 bits", at(f"{D}/InputDataConfig/0/ShuffleConfig", {"Seed": 2**64}), f"{CHANNEL}.ShuffleConfig.Seed", "<= 9223372036854775807"),
    ("instance configs empty", at(f"{D}/HyperParameterTuningResourceConfig", {"InstanceConfigs": []}), f"{DEF}.HyperParameterTuningResourceConfig.InstanceConfigs", "must have at least 1 item"),
    ("local command a number", both(at(f"{D}/StaticHyperParameters/sagemaker_program", _DELETE), at(f"{D}/LocalCommand", 5)), f"{DEF}.LocalCommand", "must be a non-empty command line"),
    ("local command empty", both(at(f"{D}/StaticHyperParameters/sagemaker_program", _DELETE), at(f"{D}/LocalCommand", [])), f"{DEF}.LocalCommand", "must be a non-empty command line"),
    # TrainingJobDefinitions
    ("definitions an object", definitions(0), "TrainingJobDefinitions", "must be a list of 1 to 10"),
    ("definitions too many", definitions(11), "TrainingJobDefinitions", "must be a list of 1 to 10"),
    ("definitions item unknown member", definitions(1, DefinitionNam="x"), "TrainingJobDefinitions[def0].DefinitionNam", "did you mean DefinitionName?"),
    ("definitions item local member misspelt", definitions(1, LocalCmd="python train.py"), "TrainingJobDefinitions[def0].LocalCmd", "did you mean LocalCommand?"),
    ("definitions item objective a string", definitions(1, TuningObjective="Maximize"), "TrainingJobDefinitions[def0].TuningObjective", "must be an object"),
    ("definitions item ranges a list", definitions(1, HyperParameterRanges=[]), "TrainingJobDefinitions[def0].HyperParameterRanges", "must be an object"),
    ("definitions item input mode Stream", definitions(1, AlgorithmSpecification={"TrainingInputMode": "Stream", "MetricDefinitions": [{"Name": "validation:auc", "Regex": "auc=([0-9.]+)"}]}), "TrainingJobDefinitions[def0].AlgorithmSpecification.TrainingInputMode", "must be one of Pipe, File, FastFile"),
    ("definitions item static value a list", definitions(1, StaticHyperParameters={"sagemaker_program": "train.py", "n": [1]}), "TrainingJobDefinitions[def0].StaticHyperParameters[n]", "must be a string"),
    # WarmStartConfig
    ("warm start a list", at("WarmStartConfig", []), "WarmStartConfig", "must be an object"),
    ("warm start type enum", at("WarmStartConfig", {"WarmStartType": "Identical", "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "p"}]}), "WarmStartConfig.WarmStartType", "must be one of IdenticalDataAndAlgorithm, TransferLearning"),
    ("warm start no parents", at("WarmStartConfig", {"WarmStartType": "TransferLearning", "ParentHyperParameterTuningJobs": []}), "WarmStartConfig.ParentHyperParameterTuningJobs", "must list 1 to 5"),
    ("warm start too many parents", at("WarmStartConfig", {"WarmStartType": "TransferLearning", "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": f"p{i}"} for i in range(6)]}), "WarmStartConfig.ParentHyperParameterTuningJobs", "must list 1 to 5"),
    ("warm start parent unknown member", at("WarmStartConfig", {"WarmStartType": "TransferLearning", "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "p", "Name": "p"}]}), "WarmStartConfig.ParentHyperParameterTuningJobs[0].Name", "unknown member"),
    ("warm start parent name pattern", at("WarmStartConfig", {"WarmStartType": "TransferLearning", "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "bad_name"}]}), "WarmStartConfig.ParentHyperParameterTuningJobs[0].HyperParameterTuningJobName", "must be a tuning job name"),
    ("warm start unknown member", at("WarmStartConfig", {"WarmStartType": "TransferLearning", "Parents": ["p"]}), "WarmStartConfig.Parents", "unknown member"),
    # LocalPricing (a local addition, with its own rules)
    ("pricing a list", at("LocalPricing", []), "LocalPricing", "must be an object"),
    ("pricing discount above 1", at("LocalPricing", {"SpotDiscount": 1.5}), "LocalPricing.SpotDiscount", "from 0 to below 1"),
    ("pricing price huge", at("LocalPricing", {"InstancePricesPerHour": {"ml.m5.xlarge": HUGE}}), "LocalPricing.InstancePricesPerHour[ml.m5.xlarge]", "must be a number >= 0"),
]  # fmt: skip


def test_the_valid_request_passes(work: Path) -> None:
    spec = parse_request(valid_request(), base_dir=work)
    assert spec.max_jobs == 10 and list(spec.space.ranges) == ["eta", "max_depth", "booster"]


def test_the_table_has_at_least_a_hundred_invalid_requests() -> None:
    assert len(CASES) >= 100
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("mutate,path,rule", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_invalid_request_names_the_member_and_the_rule(
    work: Path, mutate: Callable[[dict[str, Any]], None], path: str, rule: str
) -> None:
    req = valid_request()
    mutate(req)
    with pytest.raises(ValidationError) as err:
        parse_request(req, base_dir=work)
    assert any(e.startswith(f"{path}: ") and rule in e for e in err.value.errors), (
        path,
        rule,
        err.value.errors,
    )


def test_model_and_sagetune_problems_are_reported_together(work: Path) -> None:
    req = valid_request()
    req[DEF]["StoppingConditions"] = {}
    req[DEF]["AlgorithmSpecification"]["TrainingInputMode"] = "Stream"
    req[CFG]["ParameterRanges"]["ContinuousParameterRanges"][0]["MinValue"] = "0"
    req[CFG]["ResourceLimits"]["MaxParallelTrainingJobs"] = 20
    with pytest.raises(ValidationError) as err:
        parse_request(req, base_dir=work)
    paths = sorted(e.split(": ", 1)[0] for e in err.value.errors)
    assert paths == sorted(
        [
            f"{DEF}.StoppingConditions",
            f"{ALGO}.TrainingInputMode",
            f"{CONT}[eta]",
            f"{LIMITS}.MaxParallelTrainingJobs",
        ]
    ), err.value.errors


def test_a_problem_both_checks_see_is_reported_once(work: Path) -> None:
    req = valid_request()
    req[CFG]["Strategy"] = "Genetic"
    with pytest.raises(ValidationError) as err:
        parse_request(req, base_dir=work)
    assert [e for e in err.value.errors if e.startswith(f"{CFG}.Strategy:")] == [
        f"{CFG}.Strategy: must be one of Bayesian, Random, Grid, Hyperband, got 'Genetic'"
    ]


# Valid requests a local user sends.


def sdk_request() -> dict[str, Any]:
    tuner = HyperparameterTuner(
        "loss",
        {
            "lr": ContinuousParameter(1e-4, 1.0, "Logarithmic"),
            "depth": IntegerParameter(2, 10),
            "booster": CategoricalParameter(["gbtree", "dart", 3, True]),
        },
        objective_type="Minimize",
        max_jobs=6,
        max_parallel_jobs=2,
        max_runtime_in_seconds=30,
        random_seed=1,
        static_hyperparameters={"epochs": 5, "verbose": True, "name": "run"},
        instance_type="ml.m5.xlarge",
        pricing={"InstancePricesPerHour": {"ml.m5.xlarge": 0.23}},
    )
    return tuner.request("sdk-shape")


def minimal() -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": "minimal",
        CFG: {
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "lr", "MinValue": 1e-4, "MaxValue": 0.1}]
            },
        },
    }


def local_command() -> dict[str, Any]:
    req = valid_request()
    del req[DEF]["StaticHyperParameters"]["sagemaker_program"]
    req[DEF]["LocalCommand"] = ["python", "train.py"]
    return req


def several_definitions() -> dict[str, Any]:
    req = valid_request()
    definitions(2)(req)
    for item in req["TrainingJobDefinitions"]:
        del item["StaticHyperParameters"]["sagemaker_program"]
        item["LocalCommand"] = "python train.py"
    return req


def hyperband() -> dict[str, Any]:
    req = valid_request()
    req[CFG]["Strategy"] = "Hyperband"
    req[CFG]["StrategyConfig"] = {"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}}
    return req


def warm_start() -> dict[str, Any]:
    req = valid_request()
    req["WarmStartConfig"] = {
        "WarmStartType": "IdenticalDataAndAlgorithm",
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent-1"}],
    }
    return req


def yaml_style() -> dict[str, Any]:
    """Numbers and booleans where the model has strings, and empty keys (null)."""
    req = valid_request()
    req[CFG]["ParameterRanges"]["IntegerParameterRanges"][0].update(MinValue=1, MaxValue=10)
    req[CFG]["ParameterRanges"]["CategoricalParameterRanges"][0]["Values"] = [1, 2.5, False]
    req[DEF]["StaticHyperParameters"].update(num_round=100, verbose=True, eta0=0.3)
    req[DEF]["StoppingCondition"] = None
    req[DEF]["RoleArn"] = None
    return req


def sdk_encoded() -> dict[str, Any]:
    req = valid_request()
    req[DEF]["StaticHyperParameters"] = {
        "sagemaker_program": json.dumps("train.py"),
        "sagemaker_submit_directory": json.dumps("."),
        "objective": json.dumps("binary:logistic"),
    }
    return req


def cloud_members_left_out() -> dict[str, Any]:
    req = valid_request()
    for member in ("RoleArn", "OutputDataConfig", "ResourceConfig", "StoppingCondition"):
        del req[DEF][member]
    del req[DEF]["AlgorithmSpecification"]["TrainingInputMode"]
    del req[DEF]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"]
    del req[CFG]["Strategy"]
    return req


VALID = {
    "script mode": valid_request,
    "the SDK's shape": sdk_request,
    "minimal": minimal,
    "LocalCommand": local_command,
    "TrainingJobDefinitions": several_definitions,
    "Hyperband": hyperband,
    "warm start": warm_start,
    "YAML-style values": yaml_style,
    "SDK-encoded hyperparameters": sdk_encoded,
    "cloud-only members left out": cloud_members_left_out,
    "short tuning job budget": lambda: at(f"{L}/MaxRuntimeInSeconds", 5)(r := valid_request()) or r,
}


@pytest.mark.parametrize("make", list(VALID.values()), ids=list(VALID))
def test_valid_requests_pass_and_their_stored_form_fits_the_model(
    work: Path, make: Callable[[], dict[str, Any]]
) -> None:
    spec = parse_request(make(), base_dir=work)
    stored = spec.to_request()
    assert check_request(stored) == []
    again = load_spec(TuningJobRecord(spec.name, "Completed", stored, 1, 0.0, 0.0))
    assert again.to_request() == stored


def test_the_local_lists_name_members_of_the_model() -> None:
    shapes: dict[str, Any] = {}

    def collect(shape: Any) -> None:
        if shape.name in shapes:
            return
        shapes[shape.name] = shape
        if shape.type_name == "structure":
            for member in shape.members.values():
                collect(member)
        elif shape.type_name == "list":
            collect(shape.member)
        elif shape.type_name == "map":
            collect(shape.value)

    collect(request_shape())
    for shape_name, members in LOCAL_MEMBERS.items():
        assert shape_name in shapes and not set(members) & set(shapes[shape_name].members)
    for shape_name, member in LOCALLY_OPTIONAL:
        assert member in shapes[shape_name].members, (shape_name, member)


def test_readme_lists_every_local_difference() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("**Validation.**") : readme.index("## Training scripts")]
    for members in LOCAL_MEMBERS.values():
        for member in members:
            assert f"`{member}`" in section, member
    for _, member in LOCALLY_OPTIONAL:
        assert f"`{member}`" in section or f".{member}`" in section, member


def test_a_request_stored_before_the_model_check_still_loads() -> None:
    # Older sagetune stored requests like this one: sagetune's rules pass, the model's do not.
    old = minimal()
    old[DEF] = {
        "StaticHyperParameters": {},
        "StoppingConditions": {"MaxRuntimeInSeconds": 60},
        "VpcConfig": {"Subnets": ["subnet-1"]},
    }
    with pytest.raises(ValidationError, match="did you mean StoppingCondition"):
        parse_request(old)
    spec = load_spec(TuningJobRecord("minimal", "Completed", old, 1, 0.0, 0.0))
    assert spec.max_jobs == 4 and spec.definitions[0].body["StoppingConditions"]


def test_the_sdk_is_checked_against_the_model_too() -> None:
    with pytest.raises(ValidationError, match=r"InstanceType: .*did you mean ml\.m5\.xlarge\?"):
        HyperparameterTuner("loss", {"x": IntegerParameter(1, 5)}, instance_type="ml.m5.xlarg")
    with pytest.raises(ValidationError, match=r"StaticHyperParameters\[layers\]: must be a string"):
        HyperparameterTuner(
            "loss", {"x": IntegerParameter(1, 5)}, static_hyperparameters={"layers": [64, 32]}
        )


def test_the_walker_knows_every_type_of_the_model() -> None:
    # The tuning request has no timestamp or double member today; a later model may.
    from botocore.model import ShapeResolver

    from sagetune.spec.service_model import _Walker

    resolver = ShapeResolver(
        {
            "Top": {
                "type": "structure",
                "required": ["When"],
                "members": {
                    "When": {"shape": "Stamp"},
                    "Ratio": {"shape": "Ratio"},
                    "Flag": {"shape": "Flag"},
                    "Count": {"shape": "Count"},
                },
            },
            "Stamp": {"type": "timestamp"},
            "Ratio": {"type": "double", "min": 0, "max": 1},
            "Flag": {"type": "boolean"},
            "Count": {"type": "long"},
        }
    )
    top = resolver.get_shape_by_name("Top")

    def problems(value: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        _Walker(errors).structure(value, top, "", "Top")
        return errors

    assert problems({"When": "2026-01-02T03:04:05", "Ratio": 0.5, "Flag": True, "Count": 3}) == []
    assert problems({"When": 1700000000}) == []
    assert problems({"When": "yesterday", "Ratio": 1.5, "Flag": "yes", "Count": 2**63}) == [
        "When: must be a timestamp (ISO 8601 or seconds since the epoch), got 'yesterday'",
        "Ratio: must be <= 1, got 1.5",
        "Flag: must be true or false, got 'yes'",
        "Count: must be <= 9223372036854775807, got 9223372036854775808",
    ]
    assert problems({"Ratio": math.nan}) == [
        "When: is required",
        "Ratio: must be a finite number, got nan",
    ]
