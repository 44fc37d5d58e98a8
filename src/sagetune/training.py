"""Training job definitions: how to start a training job, what it is told.

A definition comes from ``TrainingJobDefinition`` in the request. It starts the job in one of
three ways:

- SageMaker's script mode: ``StaticHyperParameters.sagemaker_program`` (the entry script) and
  ``sagemaker_submit_directory`` (a local directory, a ``file://`` URL, a local ``.tar.gz``
  or an ``s3://`` ``.tar.gz`` as the SageMaker Python SDK uploads it; default: the request
  file's folder). ``.py`` entry points run with this Python, ``.sh`` ones with ``/bin/sh``,
  anything else as an executable.
- The local extension ``TrainingJobDefinition.LocalCommand``: a command line (string or list)
  run in ``sagemaker_submit_directory`` (or the request file's folder).
- ``AlgorithmSpecification.TrainingImage`` alone: the image's local mapping
  (:mod:`sagetune.images`), e.g. SageMaker's XGBoost image as the built-in local algorithm.

Scripts and commands get the hyperparameters as ``--name value`` arguments, as SageMaker's
script mode does; an image reads them from ``input/config/hyperparameters.json``, as in a
container. Values JSON-encoded the way the SageMaker Python SDK writes them
(``"sagemaker_program": "\"train.py\""``) are decoded as SageMaker's training toolkit decodes
them; ``hyperparameters.json`` keeps them as written.

Input channels (``InputDataConfig``) and code may be in S3 (read through :mod:`sagetune.s3`)
or local; File mode only. Each job's ``model/`` and ``output/data/`` are packed into
``output/model.tar.gz`` and ``output/output.tar.gz`` in its folder and copied to
``{S3OutputPath}/{training job}/output/`` when the request names an output path.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sagetune.checkpoints import CheckpointSettings, checkpoint_dir, parse_checkpoint_config
from sagetune.images import LOCAL_IMAGE, ImageRun, unmapped_message
from sagetune.images import resolve as resolve_image
from sagetune.spot import SPOT_MEMBER, SpotInterruptions, parse_spot

MAX_METRIC_DEFINITIONS = 40
MAX_RETRY_ATTEMPTS = 30
CACHE_DIR = ".cache"  # in the tuning job's folder: downloads its training jobs share
_DEF = "TrainingJobDefinition"


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    regex: str


@dataclass(frozen=True)
class Channel:
    """One File-mode input channel.

    Attributes:
        uri: an ``s3://`` URI, or the absolute local path a ``file://`` URL or path names.
        data_type: ``S3Prefix`` or ``ManifestFile`` (S3DataSource.S3DataType).
        content_type: the channel's ContentType (what the algorithm is told), if given.
    """

    name: str
    uri: str
    data_type: str = "S3Prefix"
    content_type: str | None = None

    @property
    def local(self) -> Path | None:
        """The local path, for a channel that is not in S3."""
        return None if is_s3(self.uri) else Path(self.uri)


@dataclass(frozen=True)
class ScriptDefinition:
    """A validated way to run a training job: a script, a command or a training image.

    Attributes:
        command: the command line (hyperparameters are appended as ``--name value``
            for scripts and commands; an image's algorithm reads them from its config).
        source: the local folder or ``.tar.gz`` of the training code (for ``s3://`` code,
            the request file's folder, and ``source_uri`` is the archive's URI).
        builtin: the built-in algorithm an image runs as (``xgboost``), if any.
        output_path: ``OutputDataConfig.S3OutputPath`` (``s3://`` or an absolute local
            path), where each job's ``model.tar.gz`` and ``output.tar.gz`` are copied.
        runs: one line saying what runs, for the job's log.
        image: the TrainingImage that runs (None when a script or LocalCommand runs).
        objective_metric: the tuning objective (written into an image's hyperparameters as
            ``_tuning_objective_metric``, as SageMaker does).
    """

    command: tuple[str, ...]
    source: Path
    metric_definitions: tuple[MetricDefinition, ...]
    static_hyperparameters: Mapping[str, Any]
    channels: Mapping[str, Channel] = field(default_factory=dict)
    max_runtime_in_seconds: int | None = None
    max_retry_attempts: int = 0
    entry_point: str | None = None
    instance_type: str | None = None
    source_uri: str | None = None
    builtin: str | None = None
    output_path: str | None = None
    runs: str | None = None
    image: str | None = None
    objective_metric: str | None = None
    checkpoint: CheckpointSettings | None = None
    managed_spot: bool = False
    spot_interruptions: SpotInterruptions | None = None
    max_wait_time_in_seconds: int | None = None

    @property
    def passes_arguments(self) -> bool:
        """Whether hyperparameters go on the command line (scripts), or only into the
        job's config (images, as a container reads them)."""
        return self.image is None


def is_s3(uri: str) -> bool:
    """Whether a location is in S3 (``s3://bucket/key``)."""
    return uri.startswith("s3://")


def _location(
    raw: Any, base_dir: Path, path: str, errors: list[str], check_paths: bool = True
) -> str | None:
    """An ``s3://`` URI as given, or the absolute local path of a ``file://`` URL or a path
    (relative ones relative to ``base_dir``, the request file's folder)."""
    if not isinstance(raw, str) or not raw:
        errors.append(f"{path}: must be an s3:// URI, a file:// URL or a local path, got {raw!r}")
        return None
    try:
        parsed = urlparse(raw)
    except ValueError as exc:  # e.g. "http://[", an unclosed IPv6 host
        errors.append(f"{path}: is not a valid URL or path ({exc}), got {raw!r}")
        return None
    if parsed.scheme == "s3":
        if not parsed.netloc:
            errors.append(f"{path}: an s3:// URI needs a bucket (s3://bucket/key), got {raw!r}")
            return None
        return raw
    if parsed.scheme in ("http", "https"):
        errors.append(
            f"{path}: {parsed.scheme}:// locations cannot be used; give an s3:// URI, a "
            f"file:// URL or a local path, got {raw!r}"
        )
        return None
    local = Path(parsed.path if parsed.scheme == "file" else raw).expanduser()
    if not local.is_absolute():
        local = base_dir / local
    if not check_paths:  # reading back a stored job: same spelling, no look at the disk
        return os.path.normpath(local)
    try:
        if not local.exists():
            errors.append(f"{path}: {str(local)!r} does not exist")
            return None
        return str(local.resolve())
    except OSError as exc:  # a name too long for the file system, a loop of links
        errors.append(f"{path}: cannot be looked up: {exc.strerror}")
        return None


def _output_location(raw: Any, base_dir: Path, path: str, errors: list[str]) -> str | None:
    """Where artifacts go: like :func:`_location`, but the folder need not exist yet."""
    if raw is None:
        return None
    if isinstance(raw, str) and raw and not is_s3(raw):
        try:
            parsed = urlparse(raw)
        except ValueError:
            return _location(raw, base_dir, path, errors, check_paths=False)  # reports it
        if parsed.scheme not in ("http", "https"):
            local = Path(parsed.path if parsed.scheme == "file" else raw).expanduser()
            return os.path.abspath(local if local.is_absolute() else base_dir / local)
    return _location(raw, base_dir, path, errors, check_paths=False)


def parse_script_definition(
    definition: Mapping[str, Any],
    objective_metric: str | None,
    base_dir: Path,
    errors: list[str],
    path: str = _DEF,
    *,
    check_paths: bool = True,
    notices: list[str] | None = None,
) -> ScriptDefinition | None:
    """Validate the script part of a training job definition (None for a Python callable).

    With ``check_paths`` off, the submit directory, entry point and channels are not looked
    for on disk (a stored tuning job read back after its code was moved).
    """
    static = definition.get("StaticHyperParameters") or {}
    static = static if isinstance(static, Mapping) else {}
    program = sagemaker_setting(static, "sagemaker_program")
    command_raw = definition.get("LocalCommand")
    algo = definition.get("AlgorithmSpecification") or {}
    algo = algo if isinstance(algo, Mapping) else {}
    n_before = len(errors)

    metric_defs: list[MetricDefinition] = []
    raw_defs = algo.get("MetricDefinitions") or []
    mpath = f"{path}.AlgorithmSpecification.MetricDefinitions"
    if not isinstance(raw_defs, list):
        errors.append(f"{mpath}: must be a list of {{Name, Regex}}")
        raw_defs = []
    if len(raw_defs) > MAX_METRIC_DEFINITIONS:
        errors.append(
            f"{mpath}: at most {MAX_METRIC_DEFINITIONS} metric definitions, got {len(raw_defs)}"
        )
    seen: set[str] = set()
    for i, d in enumerate(raw_defs):
        name = d.get("Name") if isinstance(d, Mapping) else None
        regex = d.get("Regex") if isinstance(d, Mapping) else None
        where = f"{mpath}[{name if isinstance(name, str) and name else i}]"
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            errors.append(f"{where}.Name: is required (1 to 255 characters), got {name!r}")
            continue
        if name in seen:
            errors.append(f"{where}.Name: metric names must be unique")
        seen.add(name)
        if not isinstance(regex, str) or not 1 <= len(regex) <= 500:
            errors.append(f"{where}.Regex: is required (1 to 500 characters), got {regex!r}")
            continue
        try:
            compiled = re.compile(regex)
        except (re.error, OverflowError, RecursionError) as exc:  # a{4294967296}, deep groups
            errors.append(f"{where}.Regex: is not a valid regular expression ({exc})")
            continue
        if compiled.groups < 1:
            errors.append(f"{where}.Regex: must have a capture group for the value, got {regex!r}")
            continue
        metric_defs.append(MetricDefinition(name, regex))

    image = algo.get("TrainingImage")
    image = image if isinstance(image, str) and image not in ("", LOCAL_IMAGE) else None
    ipath = f"{path}.AlgorithmSpecification.TrainingImage"
    image_run: ImageRun | None = None
    runs: str | None = None
    if program is None and command_raw is None:
        if image is not None:
            try:
                image_run = resolve_image(image)
            except ValueError as exc:  # a malformed images file
                errors.append(f"{ipath}: {exc}")
                return None
            if image_run is None:
                if check_paths:
                    errors.append(unmapped_message(ipath, image))
                    return None
                image_run = ImageRun(command=(), source="unmapped")  # reading back only
            if image_run.missing is not None and check_paths:
                errors.append(f"{ipath}: {image_run.missing}")
                return None
        elif isinstance(algo.get("AlgorithmName"), str):
            errors.append(
                f"{path}.AlgorithmSpecification.AlgorithmName: algorithm resources cannot "
                f"run locally; give a TrainingImage, StaticHyperParameters.sagemaker_program "
                f"or LocalCommand"
            )
            return None
        else:
            if definition.get(SPOT_MEMBER) is not None:
                errors.append(f"{path}.{SPOT_MEMBER}: only script training jobs can be interrupted")
            if raw_defs or definition.get("InputDataConfig"):
                errors.append(
                    f"{path}: say how to start the training job: "
                    f"StaticHyperParameters.sagemaker_program, LocalCommand or a TrainingImage"
                )
            return None
    elif image is not None:
        what = f"the script {program!r}" if program is not None else "LocalCommand"
        runs = (
            f"{what} runs with this machine's Python ({sys.executable}); "
            f"the image {image!r} is not run"
        )
        if notices is not None:
            notices.append(f"{ipath}: {runs}")
    if program is not None and command_raw is not None:
        errors.append(
            f"{path}: give either StaticHyperParameters.sagemaker_program or LocalCommand, not both"
        )
        return None
    if image_run is not None:
        seen |= set(image_run.metric_definitions)
        metric_defs += [MetricDefinition(n, r) for n, r in image_run.metric_definitions.items()]
    if objective_metric is not None and objective_metric not in seen:
        if image_run is not None and image_run.builtin is not None:
            errors.append(
                f"{path}.TuningObjective.MetricName: {objective_metric!r} is not a metric of "
                f"the built-in {image_run.builtin} algorithm; one of "
                f"{', '.join(sorted(image_run.metric_definitions))}"
            )
        else:
            errors.append(
                f"{mpath}: the objective metric {objective_metric!r} needs a metric "
                f"definition (a Name and a Regex that finds it in the log)"
            )

    submit = sagemaker_setting(static, "sagemaker_submit_directory")
    spath = f"{path}.StaticHyperParameters.sagemaker_submit_directory"
    source_uri: str | None = None
    if submit is None or image_run is not None:
        source: Path | None = base_dir.resolve() if check_paths else base_dir
    else:
        located = _location(submit, base_dir, spath, errors, check_paths)
        if located is not None and is_s3(located):
            source_uri = located
            source = base_dir.resolve() if check_paths else base_dir
            if not located.endswith(".tar.gz"):
                errors.append(
                    f"{spath}: an s3:// submit directory must be a .tar.gz, got {located!r}"
                )
        else:
            source = Path(located) if located is not None else None
    command: tuple[str, ...] = ()
    if image_run is not None:
        command = image_run.command
        runs = (
            f"the image {image!r} runs as the built-in local {image_run.builtin} algorithm"
            f"{image_run.detail}"
            if image_run.builtin is not None
            else f"the image {image!r} runs as {shlex.join(command)} ({image_run.source})"
        )
        if notices is not None and image_run.builtin is not None:
            notices.append(f"{ipath}: {runs}")
    elif program is not None:
        if not isinstance(program, str) or not program:
            errors.append(
                f"{path}.StaticHyperParameters.sagemaker_program: must be the entry "
                f"script's file name, got {program!r}"
            )
        elif source is not None and check_paths and source_uri is None:
            ppath = f"{path}.StaticHyperParameters.sagemaker_program"
            try:
                if source.is_dir() and not (source / program).is_file():
                    errors.append(f"{ppath}: {program!r} is not a file in {str(source)!r}")
                elif source.is_file():
                    try:
                        if os.path.normpath(program) not in archive_members(source):
                            errors.append(
                                f"{ppath}: {program!r} is not in the archive {str(source)!r}"
                            )
                    except ValueError as exc:
                        errors.append(f"{spath}: {exc}")
            except OSError as exc:  # a name too long for the file system
                errors.append(f"{ppath}: cannot be looked up: {exc.strerror}")
        if isinstance(program, str) and program and source is not None:
            if program.endswith(".py"):
                command = (sys.executable, program)
            elif program.endswith(".sh"):
                command = ("/bin/sh", program)
            else:
                command = (f"./{program}",)
    else:
        if isinstance(command_raw, str):
            try:
                command = tuple(shlex.split(command_raw))
            except ValueError as exc:  # an unbalanced quote
                errors.append(f"{path}.LocalCommand: cannot be split as a shell would ({exc})")
                command = ("",)
        elif isinstance(command_raw, list) and all(isinstance(c, str) for c in command_raw):
            command = tuple(command_raw)
        if not command:
            errors.append(
                f"{path}.LocalCommand: must be a non-empty command line (a string or "
                f"a list of strings), got {command_raw!r}"
            )
        elif command[0] in ("python", "python3"):
            command = (sys.executable, *command[1:])  # the tuner's Python, with its packages

    stopping = definition.get("StoppingCondition") or {}
    max_runtime = stopping.get("MaxRuntimeInSeconds") if isinstance(stopping, Mapping) else None
    if max_runtime is not None and (
        isinstance(max_runtime, bool) or not isinstance(max_runtime, int) or max_runtime < 1
    ):
        errors.append(
            f"{path}.StoppingCondition.MaxRuntimeInSeconds: must be an integer >= 1, "
            f"got {max_runtime!r}"
        )
    retry = definition.get("RetryStrategy") or {}
    attempts = retry.get("MaximumRetryAttempts", 0) if isinstance(retry, Mapping) else 0
    if (
        isinstance(attempts, bool)
        or not isinstance(attempts, int)
        or not (0 <= attempts <= MAX_RETRY_ATTEMPTS)
    ):
        errors.append(
            f"{path}.RetryStrategy.MaximumRetryAttempts: must be an integer from 1 "
            f"to {MAX_RETRY_ATTEMPTS}, got {attempts!r}"
        )

    channels: dict[str, Channel] = {}
    inputs = definition.get("InputDataConfig") or []
    for i, ch in enumerate(inputs if isinstance(inputs, list) else []):
        name = ch.get("ChannelName") if isinstance(ch, Mapping) else None
        where = f"{path}.InputDataConfig[{name if isinstance(name, str) and name else i}]"
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9\.\-_]{1,64}", name):
            errors.append(
                f"{where}.ChannelName: 1 to 64 letters, digits, '.', '-' or '_', got {name!r}"
            )
            continue
        if not isinstance(ch.get("DataSource"), Mapping):
            continue  # missing or not an object: the service model check says which
        source_cfg = _as_mapping(ch.get("DataSource"))
        s3_source = _as_mapping(source_cfg.get("S3DataSource"))
        uri = s3_source.get("S3Uri") or _as_mapping(source_cfg.get("FileSystemDataSource")).get(
            "DirectoryPath"
        )
        data_type = s3_source.get("S3DataType") or "S3Prefix"
        if data_type not in ("S3Prefix", "ManifestFile"):
            if data_type != "AugmentedManifestFile":
                continue  # not a data type at all: the service model check says so
            errors.append(
                f"{where}.DataSource.S3DataSource.S3DataType: {data_type!r} is not supported "
                f"locally; use S3Prefix or ManifestFile"
            )
            continue
        mode = ch.get("InputMode") or algo.get("TrainingInputMode") or "File"
        if mode == "Pipe":  # FastFile streams the same files as File; others: model check
            errors.append(
                f"{where}.InputMode: {mode!r} input is not supported locally; use File "
                f"(the data is downloaded into input/data/{name})"
            )
            continue
        local = _location(uri, base_dir, f"{where}.DataSource", errors, check_paths)
        if local is not None:
            content = ch.get("ContentType")
            channels[name] = Channel(
                name, local, data_type, content if isinstance(content, str) else None
            )

    output = _as_mapping(definition.get("OutputDataConfig")).get("S3OutputPath")
    output_path = _output_location(
        output, base_dir, f"{path}.OutputDataConfig.S3OutputPath", errors
    )

    spot_fields = _spot_fields(definition, base_dir, path, errors)
    if len(errors) > n_before or source is None:
        return None
    resource = definition.get("ResourceConfig") or {}
    return ScriptDefinition(
        command=command,
        source=source,
        metric_definitions=tuple(metric_defs),
        static_hyperparameters=dict(static),
        channels=channels,
        max_runtime_in_seconds=max_runtime,
        max_retry_attempts=int(attempts or 0),
        entry_point=program,
        instance_type=(resource.get("InstanceType") if isinstance(resource, Mapping) else None),
        source_uri=source_uri,
        builtin=image_run.builtin if image_run is not None else None,
        output_path=output_path,
        runs=runs,
        image=image if image_run is not None else None,
        objective_metric=objective_metric,
        **spot_fields,
    )


def _spot_fields(
    definition: Mapping[str, Any], base_dir: Path, path: str, errors: list[str]
) -> dict[str, Any]:
    """``CheckpointConfig``, managed spot and its simulated interruptions, checked (see
    :mod:`sagetune.checkpoints` and :mod:`sagetune.spot`).

    ``CheckpointConfig.LocalPath`` is accepted as SageMaker accepts it, but a local job's
    checkpoints are always in ``<job folder>/checkpoints`` (``SM_CHECKPOINT_DIR``), the local
    ``/opt/ml/checkpoints``, whatever ``LocalPath`` says.
    """
    checkpoint = parse_checkpoint_config(
        definition.get("CheckpointConfig"), base_dir, f"{path}.CheckpointConfig", errors
    )
    spot, interruptions, max_wait = parse_spot(definition, path, errors)
    return {
        "checkpoint": checkpoint,
        "managed_spot": spot,
        "spot_interruptions": interruptions,
        "max_wait_time_in_seconds": max_wait,
    }


def _as_mapping(value: Any) -> Mapping[str, Any]:
    """An object member, or an empty one when it is missing or of another type (the service
    model check reports that)."""
    return value if isinstance(value, Mapping) else {}


def archive_members(archive: Path) -> set[str]:
    """The normalised member names of a source archive.

    Raises:
        ValueError: naming the reason when the archive cannot be used: it must be a tar file
            of plain files and folders that all unpack inside the job's code folder (no
            absolute or ``..`` paths, no links or devices).
    """
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
    except (tarfile.TarError, OSError) as exc:
        raise ValueError(f"{str(archive)!r} is not a readable tar archive ({exc})") from None
    names = set()
    for member in members:
        name = os.path.normpath(member.name)
        if not (member.isfile() or member.isdir()):
            raise ValueError(
                f"the archive may hold only plain files and folders, {member.name!r} is a link "
                f"or a device"
            )
        if os.path.isabs(name) or name == ".." or name.startswith("../"):
            raise ValueError(
                f"the archive's members must unpack inside its folder, {member.name!r} does not"
            )
        names.add(name)
    return names


def hyperparameter_value(value: Any) -> Any:
    """A hyperparameter as SageMaker's training toolkit reads it: each string is JSON-decoded
    where it is JSON (``"0.1"`` -> 0.1, ``'"binary:logistic"'`` -> ``binary:logistic``, as the
    SageMaker Python SDK encodes every value), else kept as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def sagemaker_setting(static: Mapping[str, Any], key: str) -> Any:
    """A ``sagemaker_*`` static hyperparameter, decoded when the SDK JSON-encoded it
    (``'"train.py"'`` is ``train.py``); a value that decodes to anything but a string (or
    does not decode) is returned as given."""
    raw = static.get(key)
    decoded = hyperparameter_value(raw)
    return decoded if isinstance(decoded, str) else raw


def _arg_text(value: Any) -> str:
    """One ``--name value`` argument's value, from the decoded hyperparameter: strings as they
    are, an object as ``k=v,k2=v2`` (as the toolkit passes them), booleans as JSON
    (``true``), anything else as Python prints it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value)


def _env_text(value: Any) -> str:
    """An ``SM_HP_<NAME>`` value: a decoded string as it is, anything else as compact JSON
    (as the toolkit sets them)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def user_hyperparameters(hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """Everything but SageMaker's own ``sagemaker_*`` settings."""
    return {k: v for k, v in hyperparameters.items() if not k.startswith("sagemaker_")}


def cli_args(hyperparameters: Mapping[str, Any]) -> list[str]:
    """``--name value`` pairs, as script mode passes them: each value decoded as the training
    toolkit decodes it (:func:`hyperparameter_value`), so ``'"binary:logistic"'`` arrives as
    ``binary:logistic``."""
    out: list[str] = []
    for k, v in user_hyperparameters(hyperparameters).items():
        out += [f"--{k}", _arg_text(hyperparameter_value(v))]
    return out


def prepare_job_dir(
    job_dir: Path, definition: ScriptDefinition, hyperparameters: Mapping[str, Any]
) -> tuple[Path, dict[str, str]]:
    """Lay out the job's folder as a local mirror of ``/opt/ml`` and build its environment.

    Returns:
        The working directory for the script and the ``SM_*`` environment variables.
    """
    ml = job_dir
    config = ml / "input" / "config"
    data = ml / "input" / "data"
    model = ml / "model"
    output = ml / "output"
    output_data = output / "data"
    for d in (config, data, model, output_data):
        d.mkdir(parents=True, exist_ok=True)
    if definition.image is not None and definition.objective_metric is not None:
        # As the service tells every training job of a tuning job: an algorithm reads it
        # (the built-in XGBoost adds the metric to eval_metric and stops early on it).
        hyperparameters = {
            "_tuning_objective_metric": definition.objective_metric,
            **hyperparameters,
        }
    (config / "hyperparameters.json").write_text(
        json.dumps(
            {k: v if isinstance(v, str) else json.dumps(v) for k, v in hyperparameters.items()},
            indent=2,
        )
    )
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "lo"})
    )
    input_config = {
        name: {
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
            **({"ContentType": ch.content_type} if ch.content_type else {}),
        }
        for name, ch in definition.channels.items()
    }
    (config / "inputdataconfig.json").write_text(json.dumps(input_config))
    cache = job_dir.parent / CACHE_DIR  # one per tuning job: its jobs share downloads
    for name, channel in definition.channels.items():
        dest = data / name
        if dest.exists() or dest.is_symlink():
            continue  # a retry or a resumed job: already in place
        if channel.local is not None and channel.data_type == "S3Prefix":
            dest.symlink_to(channel.local, target_is_directory=channel.local.is_dir())
        else:
            from sagetune import s3  # boto3 is imported only by jobs that read S3

            s3.fetch_channel(channel.uri, dest, data_type=channel.data_type, cache_dir=cache)

    code = definition.source
    if definition.source_uri is not None:
        from sagetune import s3

        code = s3.fetch_file(definition.source_uri, ml / "sourcedir.tar.gz", cache_dir=cache)
    if code.is_file():  # a .tar.gz of the source directory, unpacked once per job
        code_dir = ml / "code"
        if not code_dir.exists():
            code_dir.mkdir(parents=True)
            with tarfile.open(code) as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(code_dir, filter="data")
                else:  # Python < 3.11.4
                    tar.extractall(code_dir)  # noqa: S202 - the user's own archive
        code = code_dir
    if definition.image is not None:
        code = ml  # a container's algorithm runs from its own image, not the user's code

    hps = user_hyperparameters(hyperparameters)
    env = {
        "SM_HPS": json.dumps({k: hyperparameter_value(v) for k, v in hps.items()}),
        "SM_USER_ARGS": json.dumps(cli_args(hyperparameters)),
        "SM_MODEL_DIR": str(model),
        "SM_OUTPUT_DIR": str(output),
        "SM_OUTPUT_DATA_DIR": str(output_data),
        "SM_OUTPUT_INTERMEDIATE_DIR": str(output / "intermediate"),
        "SM_INPUT_DIR": str(ml / "input"),
        "SM_INPUT_CONFIG_DIR": str(config),
        "SM_INPUT_DATA_CONFIG": json.dumps(input_config),
        "SM_CHANNELS": json.dumps(sorted(definition.channels)),
        "SM_MODULE_DIR": str(code),
        "SM_USER_ENTRY_POINT": definition.entry_point or "",
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_NUM_GPUS": "0",
        "SM_HOSTS": json.dumps(["algo-1"]),
        "SM_CURRENT_HOST": "algo-1",
        "SM_CURRENT_INSTANCE_TYPE": definition.instance_type or "local",
        "SM_TRAINING_ENV": json.dumps(
            {
                "hyperparameters": {k: hyperparameter_value(v) for k, v in hps.items()},
                "model_dir": str(model),
                "output_data_dir": str(output_data),
                "channel_input_dirs": {n: str(data / n) for n in definition.channels},
                "current_host": "algo-1",
                "hosts": ["algo-1"],
                "num_cpus": os.cpu_count() or 1,
                "num_gpus": 0,
            }
        ),
    }
    for name in definition.channels:
        env[f"SM_CHANNEL_{name.upper().replace('-', '_').replace('.', '_')}"] = str(data / name)
    for k, v in hps.items():
        env[f"SM_HP_{k.upper().replace('-', '_').replace('.', '_')}"] = _env_text(
            hyperparameter_value(v)
        )
    if definition.checkpoint is not None:
        checkpoint_dir(ml).mkdir(exist_ok=True)
        env["SM_CHECKPOINT_DIR"] = str(checkpoint_dir(ml))
    return code, env
