"""Turn a CreateHyperParameterTuningJob request into a validated, immutable spec.

Validation follows SageMaker's rules (with its wording where it has one) and reports every
problem at once, each prefixed with its field path. The SDK builds the same request, so both
entry points share these rules.

The validated request is also normalised (every default filled in, range bounds as the API's
strings, relative paths anchored at ``LocalBaseDirectory``): that is the form the store keeps,
and :func:`load_spec` reads it back without looking at the filesystem.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from sagetune.definitions import JointSearchSpace
from sagetune.errors import ValidationError
from sagetune.space import (
    SCALING_TYPES,
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    Parameter,
    SearchSpace,
)
from sagetune.spec.executor import EXECUTOR_FIELD, validate_executor
from sagetune.spec.model import (
    DefinitionSpec,
    Objective,
    ObjectiveType,
    TuningJobSpec,
    WarmStartSpec,
)
from sagetune.spec.pricing import PRICING_FIELD, validate_pricing
from sagetune.spec.service_model import check_request
from sagetune.store.records import TuningJobRecord
from sagetune.strategies.hyperband import EPOCH_KEYS, MAX_RESOURCE_LIMIT, HyperbandConfig
from sagetune.training import ScriptDefinition, parse_script_definition

STRATEGIES = ("Bayesian", "Random", "Grid", "Hyperband")
OBJECTIVE_TYPES = ("Maximize", "Minimize")
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")
MAX_RANGES = 30
MAX_CATEGORICAL_VALUES = 30
MAX_GRID_COMBINATIONS = 100_000  # each one a training job; more is a mistake, not a plan
MIN_JOBS_NOT_IMPROVING = 3
# Where relative paths of a request resolve (a local addition kept with the stored request).
LOCAL_BASE_DIRECTORY = "LocalBaseDirectory"

_CONFIG = "HyperParameterTuningJobConfig"
_RANGES = f"{_CONFIG}.ParameterRanges"
_LIMITS = f"{_CONFIG}.ResourceLimits"
_CRITERIA = f"{_CONFIG}.TuningJobCompletionCriteria"
_RANGE_KINDS = (
    ("ContinuousParameterRanges", ContinuousParameter),
    ("IntegerParameterRanges", IntegerParameter),
    ("CategoricalParameterRanges", CategoricalParameter),
)


def _number(raw: Any, path: str, errors: list[str], integer: bool = False) -> float | None:
    """Parse a MinValue/MaxValue (strings in the API; numbers accepted)."""
    if isinstance(raw, bool) or raw is None:
        errors.append(f"{path}: must be a number, got {raw!r}")
        return None
    try:
        value = float(raw)
    except OverflowError:  # an int beyond any float
        value = math.inf
    except (TypeError, ValueError):
        errors.append(f"{path}: must be a number, got {raw!r:.80}")
        return None
    if not math.isfinite(value):
        errors.append(f"{path}: must be a finite number, got {raw!r:.80}")
        return None
    if integer and value != int(value):
        errors.append(f"{path}: must be an integer, got {raw!r}")
        return None
    return value


def _int_field(
    cfg: Mapping[str, Any],
    key: str,
    path: str,
    errors: list[str],
    *,
    required: bool = False,
    minimum: int | None = None,
) -> int | None:
    if key not in cfg or cfg[key] is None:
        if required:
            errors.append(f"{path}.{key}: is required")
        return None
    raw = cfg[key]
    if isinstance(raw, bool) or not isinstance(raw, int):
        if isinstance(raw, float) and math.isfinite(raw) and raw == int(raw):
            raw = int(raw)
        else:
            errors.append(f"{path}.{key}: must be an integer, got {raw!r:.80}")
            return None
    if minimum is not None and raw < minimum:
        errors.append(f"{path}.{key}: must be >= {minimum}, got {raw}")
        return None
    return raw


def _enum(
    cfg: Mapping[str, Any],
    key: str,
    path: str,
    allowed: tuple[str, ...],
    errors: list[str],
    default: str | None = None,
) -> str | None:
    value = cfg.get(key, default)
    if value is None:
        errors.append(f"{path}.{key}: is required (one of {', '.join(allowed)})")
        return None
    if value not in allowed:
        errors.append(f"{path}.{key}: must be one of {', '.join(allowed)}, got {value!r}")
        return None
    return value


def _mapping(value: Any, path: str, errors: list[str]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.append(f"{path}: must be an object, got {type(value).__name__}")
        return {}
    return value


def _parse_range(
    kind: str, item: Any, path: str, errors: list[str], ranges_path: str = _RANGES
) -> tuple[str, Parameter] | None:
    if not isinstance(item, Mapping):
        errors.append(
            f"{path}: must be an object with Name and "
            f"{'Values' if kind.startswith('Categorical') else 'MinValue, MaxValue'}"
        )
        return None
    name = item.get("Name")
    if not isinstance(name, str) or not name or len(name) > 256:
        errors.append(f"{path}.Name: is required (a string of 1 to 256 characters), got {name!r}")
        return None
    if "=" in name:  # a job's SM_HP_<name> variable could not be set
        errors.append(
            f"{path}.Name: must not contain '=' (an environment variable name), got {name!r}"
        )
        return None
    where = f"{ranges_path}.{kind}[{name}]"
    n_before = len(errors)
    if kind == "CategoricalParameterRanges":
        values = item.get("Values")
        if not isinstance(values, (list, tuple)) or not values:
            errors.append(f"{where}.Values: must be a non-empty list, got {values!r}")
            return None
        if len(values) > MAX_CATEGORICAL_VALUES:
            errors.append(
                f"{where}.Values: at most {MAX_CATEGORICAL_VALUES} values are allowed, "
                f"got {len(values)}"
            )
        if len({str(v) for v in values}) != len(values):
            errors.append(f"{where}.Values: values must be unique, got {list(values)!r}")
        for v in values:
            if not isinstance(v, (str, int, float, bool)) or (
                isinstance(v, float) and not math.isfinite(v)
            ):
                errors.append(
                    f"{where}.Values: each value must be a string, number or boolean, got {v!r}"
                )
                break
        return None if len(errors) > n_before else (name, CategoricalParameter(values))

    integer = kind == "IntegerParameterRanges"
    lo = _number(item.get("MinValue"), f"{where}.MinValue", errors, integer)
    hi = _number(item.get("MaxValue"), f"{where}.MaxValue", errors, integer)
    scaling = item.get("ScalingType", "Auto")
    if scaling not in SCALING_TYPES:
        errors.append(
            f"{where}.ScalingType: must be one of {', '.join(SCALING_TYPES)}, got {scaling!r}"
        )
        return None
    if lo is None or hi is None:
        return None
    if lo > hi:
        errors.append(
            f"{where}: MinValue must be <= MaxValue, got MinValue {_fmt(lo)} > MaxValue {_fmt(hi)}"
        )
    if scaling == "Logarithmic" and lo <= 0:
        errors.append(f"{where}: ScalingType Logarithmic requires MinValue > 0, got {_fmt(lo)}")
    if scaling == "ReverseLogarithmic":
        if integer:
            errors.append(
                f"{where}: ScalingType ReverseLogarithmic is only supported for continuous ranges"
            )
        elif not (0 <= lo < hi < 1):
            errors.append(
                f"{where}: ScalingType ReverseLogarithmic requires "
                f"0 <= MinValue < MaxValue < 1, got MinValue {_fmt(lo)}, "
                f"MaxValue {_fmt(hi)}"
            )
    if len(errors) > n_before:
        return None
    if integer:
        return name, IntegerParameter(int(lo), int(hi), scaling)
    return name, ContinuousParameter(lo, hi, scaling)


def _fmt(x: float) -> str:
    return repr(float(x))


def parse_space(
    ranges: Any, errors: list[str], strategy: str | None, path: str = _RANGES
) -> SearchSpace | None:
    """Validate ``ParameterRanges`` into a SearchSpace (errors appended, None if any)."""
    _RANGES = path  # noqa: N806 - every message below names this path
    ranges = _mapping(ranges, _RANGES, errors)
    parsed: dict[str, Parameter] = {}
    n_before = len(errors)
    known = {k for k, _ in _RANGE_KINDS} | {"AutoParameters"}
    for key in ranges:
        if key not in known:
            errors.append(
                f"{_RANGES}.{key}: unknown range kind (expected "
                f"{', '.join(k for k, _ in _RANGE_KINDS)})"
            )
    if ranges.get("AutoParameters"):
        errors.append(f"{_RANGES}.AutoParameters: Autotune is not supported; give explicit ranges")
    for kind, _cls in _RANGE_KINDS:
        items = ranges.get(kind) or []
        if not isinstance(items, list):
            errors.append(f"{_RANGES}.{kind}: must be a list, got {type(items).__name__}")
            continue
        for i, item in enumerate(items):
            result = _parse_range(kind, item, f"{_RANGES}.{kind}[{i}]", errors, _RANGES)
            if result is None:
                continue
            name, param = result
            if name in parsed:
                errors.append(
                    f"{_RANGES}.{kind}[{name}]: hyperparameter names must be unique "
                    f"across all ranges; {name!r} appears more than once"
                )
                continue
            parsed[name] = param
    total = sum(
        len(ranges.get(k) or []) for k, _ in _RANGE_KINDS if isinstance(ranges.get(k) or [], list)
    )
    if total == 0 and len(errors) == n_before:
        errors.append(f"{_RANGES}: at least one hyperparameter range is required")
    if total > MAX_RANGES:
        errors.append(f"{_RANGES}: at most {MAX_RANGES} hyperparameters can be tuned, got {total}")
    if strategy == "Grid":
        for item in ranges.get("ContinuousParameterRanges") or []:
            bad = item.get("Name") if isinstance(item, Mapping) else None
            errors.append(
                f"{_RANGES}.ContinuousParameterRanges[{bad}]: the Grid strategy takes "
                f"only categorical (and, in sagetune, integer) ranges"
            )
    if len(errors) > n_before:
        return None
    return SearchSpace(parsed)


MAX_NESTING = 32  # the request shapes nest about 10 deep; deeper is refused before any work
# A real request has a few thousand members; YAML aliases can make a small file expand into
# billions (each walked as it would be stored), so the expanded count is bounded too.
MAX_MEMBERS = 100_000
MAX_REQUEST_BYTES = 1024 * 1024  # a request file or body, as the service's own limit


def unreadable(request: Any) -> str | None:
    """Why ``request`` cannot be read as the service reads JSON, or None: lists and mappings
    nested deeper than :data:`MAX_NESTING`, more than :data:`MAX_MEMBERS` members and values
    (shared ones counted each time they appear), or a string (key or value) that is not
    Unicode text (a lone surrogate, as a JSON ``\\ud800`` escape gives). Walked without
    recursion."""
    todo: list[tuple[Any, int]] = [(request, 0)]
    seen = 0
    while todo:
        node, depth = todo.pop()
        seen += 1
        if seen > MAX_MEMBERS:
            return (
                f"request: has more than {MAX_MEMBERS} members and values "
                f"(YAML aliases counted each time they are used)"
            )
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return f"request: a string is not Unicode text (a lone surrogate): {node!r}"
            continue
        if isinstance(node, Mapping):
            children: list[Any] = [*node.keys(), *node.values()]
        elif isinstance(node, list | tuple):
            children = list(node)
        else:
            continue
        if depth + 1 > MAX_NESTING:
            return f"request: nests lists and objects deeper than {MAX_NESTING} levels"
        todo.extend((child, depth + 1) for child in children)
    return None


def nul_fields(request: Any, path: str = "") -> list[str]:
    """One error for each string (member name or value) holding a NUL character, by field
    path: the service's JSON carries it, but neither a process's arguments nor PostgreSQL's
    text can. Call it on a request :func:`unreadable` accepts (its nesting is bounded)."""
    rule = "must not contain NUL (\\x00) characters"
    if isinstance(request, str):
        return [f"{path or 'request'}: {rule}"] if "\x00" in request else []
    found: list[str] = []
    if isinstance(request, Mapping):
        for key, value in request.items():
            if isinstance(key, str) and "\x00" in key:
                found.append(f"{path or 'request'}: member name {key!r} {rule}")
                continue
            found += nul_fields(value, f"{path}.{key}" if path else str(key))
    elif isinstance(request, list | tuple):
        for i, value in enumerate(request):
            found += nul_fields(value, f"{path}[{i}]")
    return found


def parse_request(
    request: Mapping[str, Any],
    base_dir: str | Path | None = None,
    *,
    check_paths: bool = True,
    service_model: bool = True,
) -> TuningJobSpec:
    """Validate a CreateHyperParameterTuningJob request.

    The request is checked against SageMaker's service model (botocore's, with sagetune's
    local differences: :mod:`sagetune.spec.service_model`) and against sagetune's own rules;
    every problem of both is reported at once. A member given as null (an empty YAML key)
    counts as absent.

    Args:
        request: the request body (as loaded from JSON/YAML, or built by the SDK).
        base_dir: the folder relative paths in the request are relative to (the request
            file's folder); default: ``LocalBaseDirectory`` stored in the request, else the
            current directory.
        check_paths: check that the scripts, submit directories and channels the request
            names exist. Off only for reading back a stored tuning job (:func:`load_spec`):
            results can be read after the training code is gone.
        service_model: check the request against SageMaker's service model too. Off only
            for reading back a tuning job stored before that check (:func:`load_spec`).

    Returns:
        The immutable spec; :meth:`~sagetune.spec.TuningJobSpec.to_request` gives the
        normalised request.

    Raises:
        ValidationError: listing every problem found, each with its field path.
    """
    if not isinstance(request, Mapping):
        raise ValidationError(f"request: must be an object, got {type(request).__name__}")
    problem = unreadable(request)  # before anything recursive (deepcopy) sees the request
    if problem is not None:
        raise ValidationError(problem)
    # Validation reads the copy and normalisation fills it in; the caller's dict is untouched.
    copied = _without_nulls(copy.deepcopy(dict(request)))
    assert isinstance(copied, dict)
    model_errors = check_request(copied) if service_model else []
    errors: list[str] = nul_fields(copied)
    try:
        spec = _parse(copied, base_dir, check_paths, errors)
    except Exception:
        # sagetune's rules assume the shapes the model guarantees. On a request the model
        # already rejects they still run, for more messages, but one tripped by such a shape
        # gives way to the model's own message.
        if not model_errors:
            raise
        spec = None
    reported = {_path_of(e) for e in errors}
    errors += [e for e in model_errors if _path_of(e) not in reported]
    if errors or spec is None:
        raise ValidationError(errors or ["request: is not a valid request"])
    return spec


def _path_of(error: str) -> str:
    """The field path an error line is about (the text before its first ': ')."""
    return error.split(": ", 1)[0]


def _without_nulls(value: Any) -> Any:
    """The request with every null member of an object left out (YAML's empty keys)."""
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _parse(
    request: dict[str, Any], base_dir: str | Path | None, check_paths: bool, errors: list[str]
) -> TuningJobSpec | None:
    """sagetune's own rules (errors appended); the spec, or None when any rule is broken."""
    name = request.get("HyperParameterTuningJobName")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        errors.append(
            f"HyperParameterTuningJobName: must be 1 to 32 letters, digits or hyphens, "
            f"starting with a letter or digit (pattern {NAME_PATTERN.pattern}), "
            f"got {name!r}"
        )

    if "HyperParameterTuningJobConfig" not in request:
        errors.append(f"{_CONFIG}: is required")
    config = _mapping(request.get("HyperParameterTuningJobConfig"), _CONFIG, errors)
    strategy = _enum(config, "Strategy", _CONFIG, STRATEGIES, errors, default="Bayesian")
    if config.get("StrategyConfig") and strategy != "Hyperband":
        errors.append(f"{_CONFIG}.StrategyConfig: is only allowed with the Hyperband strategy")

    multi = "TrainingJobDefinitions" in request
    objective_path = f"{_CONFIG}.HyperParameterTuningJobObjective"
    if "HyperParameterTuningJobObjective" not in config and not multi:
        errors.append(f"{objective_path}: is required")
    objective = _mapping(config.get("HyperParameterTuningJobObjective"), objective_path, errors)
    objective_type = (
        _enum(objective, "Type", objective_path, OBJECTIVE_TYPES, errors)
        if objective or not multi
        else None
    )
    metric_name = objective.get("MetricName")
    if objective and (not isinstance(metric_name, str) or not 1 <= len(metric_name) <= 255):
        errors.append(
            f"{objective_path}.MetricName: is required (a string of 1 to 255 "
            f"characters), got {metric_name!r}"
        )

    if "ResourceLimits" not in config:
        errors.append(f"{_LIMITS}: is required")
    limits = _mapping(config.get("ResourceLimits"), _LIMITS, errors)
    has_limits = "ResourceLimits" in config  # when absent, that is the one message
    max_jobs = _int_field(
        limits,
        "MaxNumberOfTrainingJobs",
        _LIMITS,
        errors,
        required=strategy != "Grid" and has_limits,
        minimum=1,
    )
    max_parallel = _int_field(
        limits, "MaxParallelTrainingJobs", _LIMITS, errors, required=has_limits, minimum=1
    )
    max_runtime = _int_field(limits, "MaxRuntimeInSeconds", _LIMITS, errors, minimum=1)
    if max_jobs is not None and max_parallel is not None and max_parallel > max_jobs:
        errors.append(
            f"{_LIMITS}.MaxParallelTrainingJobs: must be <= MaxNumberOfTrainingJobs "
            f"({max_jobs}), got {max_parallel}"
        )

    space: SearchSpace | None = None
    if not multi:
        space = parse_space(config.get("ParameterRanges"), errors, strategy)
    elif config.get("ParameterRanges"):
        errors.append(
            f"{_RANGES}: with TrainingJobDefinitions, give each definition's "
            f"HyperParameterRanges instead"
        )
    stored_base = request.get(LOCAL_BASE_DIRECTORY)
    if stored_base is not None and (not isinstance(stored_base, str) or not stored_base):
        errors.append(f"{LOCAL_BASE_DIRECTORY}: must be a folder's path, got {stored_base!r:.80}")
        stored_base = None
    if base_dir is None:
        base_dir = stored_base or Path.cwd()
    base = Path(base_dir).resolve() if check_paths else Path(base_dir)
    request[LOCAL_BASE_DIRECTORY] = str(base)
    notices: list[str] = []
    definitions: tuple[DefinitionSpec, ...] = ()
    if multi:
        definitions = _parse_definitions(
            request, objective, strategy, base, errors, notices, check_paths
        )
        if definitions:
            space = JointSearchSpace(definitions)
            objective_type = _shared_type(request, objective, errors)
    if strategy == "Grid" and space is not None:
        size = space.grid_size()
        if size > MAX_GRID_COMBINATIONS:
            where = "TrainingJobDefinitions" if multi else _RANGES
            errors.append(
                f"{where}: the Grid strategy walks at most {MAX_GRID_COMBINATIONS} "
                f"combinations of the ranges, these have {size}"
            )
        elif max_jobs is not None and max_jobs != size:
            errors.append(
                f"{_LIMITS}.MaxNumberOfTrainingJobs: with the Grid strategy it must "
                f"equal the number of distinct combinations of the ranges ({size}), "
                f"got {max_jobs}; leave it out to run them all"
            )
        elif max_jobs is None:
            max_jobs = size
            if max_parallel is not None and max_parallel > max_jobs:
                errors.append(
                    f"{_LIMITS}.MaxParallelTrainingJobs: must be <= the number of grid "
                    f"combinations ({max_jobs}), got {max_parallel}"
                )

    early = _enum(
        config, "TrainingJobEarlyStoppingType", _CONFIG, ("Off", "Auto"), errors, default="Off"
    )
    if early == "Auto" and strategy == "Hyperband":
        errors.append(
            f"{_CONFIG}.TrainingJobEarlyStoppingType: must be Off with the Hyperband "
            f"strategy (Hyperband stops training jobs itself), got Auto"
        )

    criteria = _mapping(config.get("TuningJobCompletionCriteria"), _CRITERIA, errors)
    target = None
    if criteria.get("TargetObjectiveMetricValue") is not None:
        target = _number(
            criteria["TargetObjectiveMetricValue"],
            f"{_CRITERIA}.TargetObjectiveMetricValue",
            errors,
        )
    not_improving = None
    if "BestObjectiveNotImproving" in criteria:
        bni = _mapping(
            criteria["BestObjectiveNotImproving"], f"{_CRITERIA}.BestObjectiveNotImproving", errors
        )
        not_improving = _int_field(
            bni,
            "MaxNumberOfTrainingJobsNotImproving",
            f"{_CRITERIA}.BestObjectiveNotImproving",
            errors,
            required=True,
            minimum=MIN_JOBS_NOT_IMPROVING,
        )
    convergence = False
    if "ConvergenceDetected" in criteria:
        cd = _mapping(criteria["ConvergenceDetected"], f"{_CRITERIA}.ConvergenceDetected", errors)
        flag = _enum(
            cd,
            "CompleteOnConvergence",
            f"{_CRITERIA}.ConvergenceDetected",
            ("Disabled", "Enabled"),
            errors,
            default="Disabled",
        )
        convergence = flag == "Enabled"
    for key in criteria:
        if key not in (
            "TargetObjectiveMetricValue",
            "BestObjectiveNotImproving",
            "ConvergenceDetected",
        ):
            errors.append(f"{_CRITERIA}.{key}: unknown field")

    seed = _int_field(config, "RandomSeed", _CONFIG, errors, minimum=0)

    static: Mapping[str, Any] = {}
    if multi and "TrainingJobDefinition" in request:
        errors.append(
            "TrainingJobDefinition: give TrainingJobDefinition or TrainingJobDefinitions, not both"
        )
    elif not multi:
        path = "TrainingJobDefinition"
        definition = _mapping(request.get(path), path, errors)
        static, script = _parse_definition_body(
            definition, path, space, metric_name, base, errors, notices, check_paths
        )
        _check_builtin(script, static, space, metric_name, objective_type, objective_path, errors)
        if space is not None and isinstance(metric_name, str) and objective_type is not None:
            objective_spec = Objective(metric_name, _objective_type(objective_type))
            definitions = (DefinitionSpec(None, space, dict(static), script, objective_spec),)
    warm_start = _parse_warm_start(request.get("WarmStartConfig"), errors)
    hyperband = (
        _parse_hyperband(config.get("StrategyConfig"), static, errors)
        if strategy == "Hyperband"
        else None
    )
    pricing = validate_pricing(request.get(PRICING_FIELD), errors)
    executor = validate_executor(request.get(EXECUTOR_FIELD), errors)

    if errors:
        return None
    assert space is not None and max_jobs is not None and max_parallel is not None
    assert strategy is not None and definitions and isinstance(name, str)
    assert objective_type is not None
    _normalise(request, strategy, early or "Off", max_jobs, definitions)
    definitions = tuple(replace(d, body=_definition_body(request, d.name)) for d in definitions)
    return TuningJobSpec(
        name=name,
        strategy=strategy,
        objective_type=_objective_type(objective_type),
        space=space,
        definitions=definitions,
        max_jobs=max_jobs,
        max_parallel_jobs=max_parallel,
        max_runtime_in_seconds=max_runtime,
        early_stopping_type=early or "Off",
        target_objective_value=target,
        max_jobs_not_improving=not_improving,
        complete_on_convergence=convergence,
        random_seed=seed,
        warm_start=warm_start,
        hyperband=hyperband,
        pricing=pricing,
        executor=executor,
        notices=tuple(notices),
        normalised=request,
    )


def load_spec(record: TuningJobRecord, *, check_paths: bool = False) -> TuningJobSpec:
    """The spec of a stored tuning job, read without touching the filesystem.

    Args:
        record: the stored tuning job.
        check_paths: check that its training code and channels are still there (before
            running it; reading results never needs them).

    A request stored before requests were checked against SageMaker's service model may
    break only the model's rules (a misspelt cloud-only member, a VpcConfig without
    SecurityGroupIds); such a tuning job still loads, by sagetune's own rules, so that its
    results stay readable. Requests stored since then pass both.

    Raises:
        ValidationError: the stored request no longer passes sagetune's own rules (a store
            written by a sagetune with other rules).
    """
    try:
        return parse_request(record.request, check_paths=check_paths)
    except ValidationError:
        return parse_request(record.request, check_paths=check_paths, service_model=False)


def ranges_request(space: SearchSpace) -> dict[str, list[dict[str, Any]]]:
    """``ParameterRanges`` as the API writes them: every kind's list, bounds as strings,
    ScalingType filled in."""
    out: dict[str, list[dict[str, Any]]] = {k: [] for k, _ in _RANGE_KINDS}
    for name, p in space.ranges.items():
        out[f"{p.kind}ParameterRanges"].append(p.as_tuning_range(name))
    return out


def _objective_type(value: str) -> ObjectiveType:
    """A validated objective Type, as the type checker knows it."""
    return "Maximize" if value == "Maximize" else "Minimize"


def _normalise(
    request: dict[str, Any],
    strategy: str,
    early: str,
    max_jobs: int,
    definitions: tuple[DefinitionSpec, ...],
) -> None:
    """Fill in the defaults the service fills in, in place (the request is validated)."""
    config = request["HyperParameterTuningJobConfig"]
    config["Strategy"] = strategy
    config["TrainingJobEarlyStoppingType"] = early
    config["ResourceLimits"]["MaxNumberOfTrainingJobs"] = max_jobs
    if definitions[0].name is None:
        config["ParameterRanges"] = ranges_request(definitions[0].space)
        request.setdefault("TrainingJobDefinition", {}).setdefault("StaticHyperParameters", {})
        return
    by_name = {d.name: d for d in definitions}
    for item in request["TrainingJobDefinitions"]:
        d = by_name[item["DefinitionName"]]
        item["HyperParameterRanges"] = ranges_request(d.space)
        item["TuningObjective"] = {"Type": d.objective.type, "MetricName": d.objective.metric_name}
        item.setdefault("StaticHyperParameters", {})


def _definition_body(request: Mapping[str, Any], name: str | None) -> dict[str, Any]:
    if name is None:
        return copy.deepcopy(request["TrainingJobDefinition"])
    return copy.deepcopy(
        next(d for d in request["TrainingJobDefinitions"] if d["DefinitionName"] == name)
    )


MAX_DEFINITIONS = 10
DEFINITION_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}$")


def _check_builtin(
    script: ScriptDefinition | None,
    static: Mapping[str, Any],
    space: SearchSpace | None,
    metric: Any,
    objective_type: Any,
    objective_path: str,
    errors: list[str],
    path: str = "TrainingJobDefinition",
) -> None:
    """A built-in algorithm's rules, before any job runs: its hyperparameters' names and
    ranges (static and tuned), and the direction of its predefined objective metrics."""
    if script is None or script.builtin != "xgboost":
        return
    from sagetune.algorithms import xgboost

    tuned: dict[str, Any] = {}
    for name, p in (space.ranges if space is not None else {}).items():
        tuned[name] = p.grid_values() if p.is_categorical else p.bounds
    for problem in xgboost.check_hyperparameters({k: str(v) for k, v in static.items()}, tuned):
        name = problem.split(":", 1)[0]
        where = "HyperParameterRanges" if name in tuned else "StaticHyperParameters"
        errors.append(f"{path}.{where}[{name}]: {problem.split(':', 1)[-1].strip()}")
    direction = xgboost.METRIC_DIRECTIONS.get(metric) if isinstance(metric, str) else None
    if direction is not None and objective_type in OBJECTIVE_TYPES and objective_type != direction:
        errors.append(
            f"{objective_path}.Type: {metric} is to {direction.lower()} with the built-in "
            f"XGBoost algorithm, got {objective_type}"
        )


def _parse_definition_body(
    definition: Mapping[str, Any],
    path: str,
    space: SearchSpace | None,
    metric_name: Any,
    base: Path,
    errors: list[str],
    notices: list[str],
    check_paths: bool,
) -> tuple[Mapping[str, Any], ScriptDefinition | None]:
    """Static hyperparameters and the script of one training job definition."""
    static = _mapping(
        definition.get("StaticHyperParameters"), f"{path}.StaticHyperParameters", errors
    )
    if space is not None:
        for key in static:
            if key in space.ranges:
                errors.append(
                    f"{path}.StaticHyperParameters[{key}]: a hyperparameter cannot be "
                    f"both static and tuned"
                )
    script = parse_script_definition(
        definition,
        metric_name if isinstance(metric_name, str) else None,
        base,
        errors,
        path,
        check_paths=check_paths,
        notices=notices,
    )
    resource = definition.get("ResourceConfig")
    if (
        isinstance(resource, Mapping)
        and ({"InstanceCount", "VolumeSizeInGB"} & resource.keys())
        and not any("mean nothing locally" in n for n in notices)
    ):
        notices.append(
            f"{path}.ResourceConfig: InstanceCount and VolumeSizeInGB mean nothing "
            f"locally; each training job runs as one local process"
        )
    return static, script


def _parse_definitions(
    request: Mapping[str, Any],
    default_objective: Mapping[str, Any],
    strategy: str | None,
    base: Path,
    errors: list[str],
    notices: list[str],
    check_paths: bool,
) -> tuple[DefinitionSpec, ...]:
    """Validate ``TrainingJobDefinitions`` (each with DefinitionName, TuningObjective,
    HyperParameterRanges and a way to start the job)."""
    items = request.get("TrainingJobDefinitions")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_DEFINITIONS:
        errors.append(
            f"TrainingJobDefinitions: must be a list of 1 to {MAX_DEFINITIONS} "
            f"definitions, got {items!r:.80}"
        )
        return ()
    n_before = len(errors)
    out: list[DefinitionSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            errors.append(f"TrainingJobDefinitions[{i}]: must be an object")
            continue
        name = item.get("DefinitionName")
        path = f"TrainingJobDefinitions[{name if isinstance(name, str) and name else i}]"
        if not isinstance(name, str) or not DEFINITION_NAME.match(name):
            errors.append(
                f"{path}.DefinitionName: is required (1 to 64 letters, digits or "
                f"hyphens), got {name!r}"
            )
            continue
        if name in seen:
            errors.append(f"{path}.DefinitionName: definition names must be unique")
            continue
        seen.add(name)
        objective = item.get("TuningObjective") or default_objective
        objective = _mapping(objective, f"{path}.TuningObjective", errors)
        metric = objective.get("MetricName")
        kind = _enum(objective, "Type", f"{path}.TuningObjective", OBJECTIVE_TYPES, errors)
        if not isinstance(metric, str) or not 1 <= len(metric) <= 255:
            errors.append(
                f"{path}.TuningObjective.MetricName: is required (a string of 1 to "
                f"255 characters), got {metric!r}"
            )
        space = parse_space(
            item.get("HyperParameterRanges"), errors, strategy, f"{path}.HyperParameterRanges"
        )
        n_body = len(errors)
        static, script = _parse_definition_body(
            item, path, space, metric, base, errors, notices, check_paths
        )
        _check_builtin(script, static, space, metric, kind, f"{path}.TuningObjective", errors, path)
        if script is None and len(errors) == n_body:  # no callable with several definitions
            errors.append(
                f"{path}: say how to start the training job: "
                f"StaticHyperParameters.sagemaker_program, LocalCommand or a TrainingImage"
            )
        if space is not None and script is not None and isinstance(metric, str) and kind:
            objective_spec = Objective(metric, _objective_type(kind))
            out.append(DefinitionSpec(name, space, dict(static), script, objective_spec))
    return tuple(out) if len(errors) == n_before else ()


def _shared_type(
    request: Mapping[str, Any], default_objective: Mapping[str, Any], errors: list[str]
) -> str | None:
    """All definitions must optimise in the same direction for their jobs to be compared."""
    types = [
        (
            _mapping(item.get("TuningObjective") or default_objective, "", []).get("Type"),
            item.get("DefinitionName"),
        )
        for item in request["TrainingJobDefinitions"]
    ]
    first = types[0][0]
    for kind, name in types[1:]:
        if kind != first:
            errors.append(
                f"TrainingJobDefinitions[{name}].TuningObjective.Type: every definition "
                f"must have the same Type ({first}), got {kind}"
            )
    return first


WARM_START_TYPES = ("IdenticalDataAndAlgorithm", "TransferLearning")
MAX_PARENTS = 5


def _parse_warm_start(raw: Any, errors: list[str]) -> WarmStartSpec | None:
    """The shape of ``WarmStartConfig``; rules that need the parents are checked against the
    store when the job is created (:mod:`sagetune.warmstart`)."""
    if raw is None:
        return None
    path = "WarmStartConfig"
    cfg = _mapping(raw, path, errors)
    if not cfg:
        return None
    kind = _enum(cfg, "WarmStartType", path, WARM_START_TYPES, errors)
    parents_raw = cfg.get("ParentHyperParameterTuningJobs")
    ppath = f"{path}.ParentHyperParameterTuningJobs"
    if not isinstance(parents_raw, list) or not 1 <= len(parents_raw) <= MAX_PARENTS:
        errors.append(
            f"{ppath}: must list 1 to {MAX_PARENTS} parent tuning jobs, got "
            f"{len(parents_raw) if isinstance(parents_raw, list) else parents_raw!r}"
        )
        return None
    parents: list[str] = []
    for i, item in enumerate(parents_raw):
        name = item.get("HyperParameterTuningJobName") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            errors.append(
                f"{ppath}[{i}].HyperParameterTuningJobName: must be a tuning job name, got {name!r}"
            )
        elif name in parents:
            errors.append(f"{ppath}[{name}]: a parent may be listed only once")
        else:
            parents.append(name)
    if kind is None or len(parents) != len(parents_raw):
        return None
    return WarmStartSpec(kind, tuple(parents))


def _parse_hyperband(
    raw: Any, static: Mapping[str, Any], errors: list[str]
) -> HyperbandConfig | None:
    """``StrategyConfig.HyperbandStrategyConfig``; MaxResource may come from the static
    hyperparameters ``epochs``, ``numepochs``, ``n-epochs``, ``n_epochs`` or ``num_epochs``."""
    path = f"{_CONFIG}.StrategyConfig"
    cfg = _mapping(raw, path, errors)
    for key in cfg:
        if key != "HyperbandStrategyConfig":
            errors.append(f"{path}.{key}: unknown field (expected HyperbandStrategyConfig)")
    path += ".HyperbandStrategyConfig"
    hb = _mapping(cfg.get("HyperbandStrategyConfig"), path, errors)
    for key in hb:
        if key not in ("MinResource", "MaxResource"):
            errors.append(f"{path}.{key}: unknown field (expected MinResource, MaxResource)")
    n_before = len(errors)
    low = _int_field(hb, "MinResource", path, errors, minimum=1)
    high = _int_field(hb, "MaxResource", path, errors, minimum=1)
    if high is None and "MaxResource" not in hb:
        epoch_key = next((k for k in EPOCH_KEYS if k in static), None)
        if epoch_key is None:
            errors.append(
                f"{path}.MaxResource: is required when it cannot be inferred from "
                f"TrainingJobDefinition.StaticHyperParameters "
                f"({', '.join(EPOCH_KEYS)})"
            )
        else:
            high = _int_field(
                {epoch_key: _as_int(static[epoch_key])},
                epoch_key,
                "TrainingJobDefinition.StaticHyperParameters",
                errors,
                minimum=1,
            )
    if high is not None and high > MAX_RESOURCE_LIMIT:
        errors.append(f"{path}.MaxResource: must be <= {MAX_RESOURCE_LIMIT}, got {high}")
    low = 1 if low is None and "MinResource" not in hb else low
    if low is not None and high is not None and low > high:
        errors.append(
            f"{path}: MinResource must be <= MaxResource, got MinResource {low} > "
            f"MaxResource {high}"
        )
    if len(errors) > n_before or low is None or high is None:
        return None
    return HyperbandConfig(low, high)


def _as_int(raw: Any) -> Any:
    """Static hyperparameters are strings in the API: ``"27"`` means 27."""
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            return raw
    return raw
