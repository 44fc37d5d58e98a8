"""The CLI verbs for tuning jobs: the AWS CLI's sagemaker names, and friendlier ones."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table

from sagetune import api, service
from sagetune.cli import background, echo_json, get_store, main, store_option
from sagetune.cli.aws import aws_options, input_request, list_pages, paging_options
from sagetune.errors import ValidationError
from sagetune.formatting import format_value
from sagetune.naming import tuning_job_arn
from sagetune.spec import load_spec
from sagetune.spec.executor import executor_member
from sagetune.spec.validate import MAX_NESTING, MAX_REQUEST_BYTES
from sagetune.status import TuningJobStatus
from sagetune.store.records import FINISHED

# Not required by click: the name may come from --cli-input-json, and the operation says
# when it is missing.
OPTIONAL_JOB_NAME = click.option(
    "--hyper-parameter-tuning-job-name", "name", metavar="NAME", help="The tuning job's name."
)
TRAINING_JOB_NAME = click.option(
    "--training-job-name", "name", metavar="NAME", help="The training job's name."
)
STATUSES = ["InProgress", "Completed", "Failed", "Stopping", "Stopped"]


def load_request(source: str, yaml_input: bool = False) -> tuple[dict[str, Any], Path]:
    """A request from ``file://path``, a path, or inline JSON/YAML; and its base folder."""
    text, base = source, Path.cwd()
    path = Path(source[len("file://") :] if source.startswith("file://") else source)
    # Inline JSON is an object; inline YAML has a "key: value" line. Anything else names a file.
    inline = source.lstrip().startswith("{") or (yaml_input and ":" in source)
    if source.startswith("file://") or (len(source) < 4096 and (path.exists() or not inline)):
        try:
            if path.stat().st_size > MAX_REQUEST_BYTES:  # before reading it into memory
                raise ValidationError(
                    f"request: {str(path)!r} is larger than {MAX_REQUEST_BYTES} bytes, "
                    f"the limit of a request"
                )
            text = path.read_text()
        except FileNotFoundError:
            raise ValidationError(f"request: no such file {str(path)!r}") from None
        except OSError as exc:
            raise ValidationError(f"request: cannot read {str(path)!r}: {exc.strerror}") from None
        base = path.resolve().parent
        yaml_input = yaml_input or path.suffix.lower() in (".yaml", ".yml")
    kind = "YAML" if yaml_input else "JSON"
    if len(text) > MAX_REQUEST_BYTES:
        raise ValidationError(f"request: is larger than {MAX_REQUEST_BYTES} bytes, the limit")
    try:
        data = yaml.safe_load(text) if yaml_input else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValidationError(f"request: not valid {kind}: {exc}") from None
    except RecursionError:  # the parsers recurse once per level
        raise ValidationError(
            f"request: the {kind} nests lists and objects deeper than {MAX_NESTING} levels"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError(f"request: must be an object, got {type(data).__name__}")
    return data, base


def _print_notices(spec: Any) -> None:
    for notice in spec.notices:
        click.echo(f"note: {notice}", err=True)


@main.command("create-hyper-parameter-tuning-job")
@aws_options("CreateHyperParameterTuningJob")
@click.option(
    "--hyper-parameter-tuning-job-name",
    "name",
    metavar="NAME",
    help="Overrides the request's name.",
)
@click.option(
    "--hyper-parameter-tuning-job-config",
    "config",
    metavar="JSON",
    help="Overrides HyperParameterTuningJobConfig.",
)
@click.option(
    "--training-job-definition",
    "definition",
    metavar="JSON",
    help="Overrides TrainingJobDefinition.",
)
@store_option
@click.pass_context
def create(
    ctx: click.Context,
    cli_input_json: str | None,
    cli_input_yaml: str | None,
    name: str | None,
    config: str | None,
    definition: str | None,
) -> None:
    """Validate a CreateHyperParameterTuningJob request and start it in the background.

    Prints {"HyperParameterTuningJobArn": ...}; follow it with
    describe-hyper-parameter-tuning-job or `sagetune logs`.
    """
    explicit = {
        "HyperParameterTuningJobName": name or None,
        "HyperParameterTuningJobConfig": None if config is None else load_request(config)[0],
        "TrainingJobDefinition": None if definition is None else load_request(definition)[0],
    }
    request, base = input_request(
        "CreateHyperParameterTuningJob", cli_input_json, cli_input_yaml, explicit
    )
    store = get_store(ctx)
    spec = service.create_tuning_job(store, request, base_dir=base)
    _print_notices(spec)
    background.start(store, spec.name, base)
    echo_json({"HyperParameterTuningJobArn": tuning_job_arn(spec.name)})


def _backend(ctx: click.Context) -> api.Backend:
    return api.Backend(get_store(ctx))


def _call(
    ctx: click.Context,
    operation: str,
    cli_input_json: str | None,
    cli_input_yaml: str | None,
    explicit: dict[str, Any],
) -> dict[str, Any]:
    request, _ = input_request(operation, cli_input_json, cli_input_yaml, explicit)
    return api.call(_backend(ctx), operation, request)


def _list(
    ctx: click.Context,
    operation: str,
    key: str,
    explicit: dict[str, Any],
    options: dict[str, Any],
) -> None:
    """Print a list operation's answer: one page, or pages followed as the AWS CLI does."""
    request, _ = input_request(
        operation,
        options.pop("cli_input_json"),
        options.pop("cli_input_yaml"),
        {
            **explicit,
            "MaxResults": options.pop("max_results"),
            "NextToken": options.pop("next_token"),
        },
    )
    echo_json(list_pages(_backend(ctx), operation, key, request, **options))


SORT_ORDER = click.option(
    "--sort-order",
    type=click.Choice(["Ascending", "Descending"]),
    help="Default Ascending, as in SageMaker.",
)
NAME_CONTAINS = click.option(
    "--name-contains", metavar="TEXT", help="Only names containing TEXT (any case)."
)
TIME_FILTERS = [
    click.option(f"--{flag}", metavar="TIME", help=f"Only jobs {what} (ISO 8601 or epoch seconds).")
    for flag, what in (
        ("creation-time-after", "created after TIME"),
        ("creation-time-before", "created before TIME"),
        ("last-modified-time-after", "last modified after TIME"),
        ("last-modified-time-before", "last modified before TIME"),
    )
]


def time_filters(fn: Any) -> Any:
    for option in reversed(TIME_FILTERS):
        fn = option(fn)
    return fn


def _time_members(options: dict[str, Any]) -> dict[str, Any]:
    return {
        "CreationTimeAfter": options.pop("creation_time_after"),
        "CreationTimeBefore": options.pop("creation_time_before"),
        "LastModifiedTimeAfter": options.pop("last_modified_time_after"),
        "LastModifiedTimeBefore": options.pop("last_modified_time_before"),
    }


@main.command("describe-hyper-parameter-tuning-job")
@aws_options("DescribeHyperParameterTuningJob")
@OPTIONAL_JOB_NAME
@store_option
@click.pass_context
def describe(
    ctx: click.Context, cli_input_json: str | None, cli_input_yaml: str | None, name: str | None
) -> None:
    """The DescribeHyperParameterTuningJob answer, as JSON."""
    op = "DescribeHyperParameterTuningJob"
    echo_json(_call(ctx, op, cli_input_json, cli_input_yaml, {"HyperParameterTuningJobName": name}))


@main.command("list-hyper-parameter-tuning-jobs")
@aws_options("ListHyperParameterTuningJobs")
@click.option(
    "--sort-by",
    type=click.Choice(["Name", "Status", "CreationTime"]),
    help="Default Name, as in SageMaker.",
)
@SORT_ORDER
@NAME_CONTAINS
@click.option("--status-equals", type=click.Choice(STATUSES))
@time_filters
@paging_options
@store_option
@click.pass_context
def list_tuning_jobs(
    ctx: click.Context,
    sort_by: str | None,
    sort_order: str | None,
    name_contains: str | None,
    status_equals: str | None,
    **options: Any,
) -> None:
    """ListHyperParameterTuningJobs, as JSON."""
    explicit = {
        "SortBy": sort_by,
        "SortOrder": sort_order,
        "NameContains": name_contains,
        "StatusEquals": status_equals,
        **_time_members(options),
    }
    op = "ListHyperParameterTuningJobs"
    _list(ctx, op, "HyperParameterTuningJobSummaries", explicit, options)


@main.command("list-training-jobs-for-hyper-parameter-tuning-job")
@aws_options("ListTrainingJobsForHyperParameterTuningJob")
@OPTIONAL_JOB_NAME
@click.option(
    "--sort-by",
    type=click.Choice(["Name", "CreationTime", "Status", "FinalObjectiveMetricValue"]),
    help="Default Name, as in SageMaker. FinalObjectiveMetricValue lists only jobs with an "
    "objective value, as SageMaker does.",
)
@SORT_ORDER
@click.option("--status-equals", type=click.Choice(STATUSES))
@paging_options
@store_option
@click.pass_context
def list_training_jobs_for_tuning_job(
    ctx: click.Context,
    name: str | None,
    sort_by: str | None,
    sort_order: str | None,
    status_equals: str | None,
    **options: Any,
) -> None:
    """ListTrainingJobsForHyperParameterTuningJob, as JSON."""
    explicit = {
        "HyperParameterTuningJobName": name,
        "SortBy": sort_by,
        "SortOrder": sort_order,
        "StatusEquals": status_equals,
    }
    op = "ListTrainingJobsForHyperParameterTuningJob"
    _list(ctx, op, "TrainingJobSummaries", explicit, options)


@main.command("list-training-jobs")
@aws_options("ListTrainingJobs")
@click.option(
    "--sort-by",
    type=click.Choice(["Name", "CreationTime", "Status"]),
    help="Default CreationTime, as in SageMaker.",
)
@SORT_ORDER
@NAME_CONTAINS
@click.option("--status-equals", type=click.Choice(STATUSES))
@time_filters
@paging_options
@store_option
@click.pass_context
def list_all_training_jobs(
    ctx: click.Context,
    sort_by: str | None,
    sort_order: str | None,
    name_contains: str | None,
    status_equals: str | None,
    **options: Any,
) -> None:
    """ListTrainingJobs (the training jobs of every tuning job), as JSON."""
    explicit = {
        "SortBy": sort_by,
        "SortOrder": sort_order,
        "NameContains": name_contains,
        "StatusEquals": status_equals,
        **_time_members(options),
    }
    _list(ctx, "ListTrainingJobs", "TrainingJobSummaries", explicit, options)


@main.command("list-tags")
@aws_options("ListTags")
@click.option(
    "--resource-arn",
    "arn",
    metavar="ARN",
    help="A tuning job's or a training job's ARN (its tags are its tuning job's).",
)
@paging_options
@store_option
@click.pass_context
def list_tags(ctx: click.Context, arn: str | None, **options: Any) -> None:
    """ListTags, as JSON."""
    _list(ctx, "ListTags", "Tags", {"ResourceArn": arn}, options)


@main.command("describe-training-job")
@aws_options("DescribeTrainingJob")
@TRAINING_JOB_NAME
@store_option
@click.pass_context
def describe_training(
    ctx: click.Context, cli_input_json: str | None, cli_input_yaml: str | None, name: str | None
) -> None:
    """The DescribeTrainingJob answer, as JSON."""
    echo_json(
        _call(ctx, "DescribeTrainingJob", cli_input_json, cli_input_yaml, {"TrainingJobName": name})
    )


@main.command("stop-training-job")
@aws_options("StopTrainingJob")
@TRAINING_JOB_NAME
@store_option
@click.pass_context
def stop_training(
    ctx: click.Context, cli_input_json: str | None, cli_input_yaml: str | None, name: str | None
) -> None:
    """Stop an InProgress training job of a tuning job (its tuner records it Stopped)."""
    _call(ctx, "StopTrainingJob", cli_input_json, cli_input_yaml, {"TrainingJobName": name})


@main.command("stop-hyper-parameter-tuning-job")
@aws_options("StopHyperParameterTuningJob")
@OPTIONAL_JOB_NAME
@store_option
@click.pass_context
def stop(
    ctx: click.Context, cli_input_json: str | None, cli_input_yaml: str | None, name: str | None
) -> None:
    """Stop a tuning job: it becomes Stopping, its training jobs stop, then Stopped."""
    op = "StopHyperParameterTuningJob"
    _call(ctx, op, cli_input_json, cli_input_yaml, {"HyperParameterTuningJobName": name})


@main.command("delete-hyper-parameter-tuning-job")
@aws_options("DeleteHyperParameterTuningJob")
@OPTIONAL_JOB_NAME
@store_option
@click.pass_context
def delete(
    ctx: click.Context, cli_input_json: str | None, cli_input_yaml: str | None, name: str | None
) -> None:
    """Delete a Completed, Failed or Stopped tuning job, with its training jobs and metrics
    (its folders stay on disk)."""
    op = "DeleteHyperParameterTuningJob"
    _call(ctx, op, cli_input_json, cli_input_yaml, {"HyperParameterTuningJobName": name})


@main.command("tune")
@click.argument("request_file", metavar="REQUEST")
@click.option("--name", metavar="NAME", help="Overrides HyperParameterTuningJobName.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Live table (default: when stderr is a terminal).",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default=None,
    help="Where training jobs run: this machine (default) or a Ray cluster; overrides the "
    "request's LocalExecutor.",
)
@click.option(
    "--ray-address",
    metavar="ADDR",
    default=None,
    help="The Ray cluster (host:6379, ray://host:10001); default $RAY_ADDRESS. Implies "
    "--executor ray.",
)
@store_option
@click.pass_context
def tune(
    ctx: click.Context,
    request_file: str,
    name: str | None,
    progress: bool | None,
    executor: str | None,
    ray_address: str | None,
) -> None:
    """Run a CreateHyperParameterTuningJob request (JSON or YAML) in the foreground."""
    request, base = load_request(request_file)
    if name:
        request["HyperParameterTuningJobName"] = name
    if executor is not None or ray_address is not None:
        try:
            member = executor_member(executor, ray_address)
        except ValidationError as exc:
            raise click.UsageError(str(exc)) from None
        given = request.pop("LocalExecutor", None)
        if member is not None:
            if isinstance(given, dict) and "InstanceResources" in given:
                member["InstanceResources"] = given["InstanceResources"]  # still the request's
            request["LocalExecutor"] = member
    store = get_store(ctx)
    spec = service.create_tuning_job(store, request, base_dir=base)
    _print_notices(spec)
    _run(store, spec.name, progress)


@main.command("resume")
@click.argument("name")
@click.option("--progress/--no-progress", default=None)
@store_option
@click.pass_context
def resume(ctx: click.Context, name: str, progress: bool | None) -> None:
    """Continue a tuning job whose tuner died or was stopped by SIGTERM or Ctrl-C: finished
    jobs are kept, interrupted ones replaced."""
    _run(get_store(ctx), name, progress)


def _run(store: Any, name: str, progress: bool | None) -> None:
    show = sys.stderr.isatty() if progress is None else progress
    record = service.run_tuning_job(store, name, show_progress=show)
    if record.status == TuningJobStatus.InProgress:  # only when another tuner took it over
        click.echo(f"{name}: taken over by another tuner ({record.owner}), which runs it on")
        return
    jobs = store.list_training_jobs(name)
    best = load_spec(record).best_training_job(jobs)
    click.echo(f"{name}: {record.status} ({len(jobs)} training jobs)")
    if best is not None:
        click.echo(f"best training job: {best.name}  objective = {format_value(best.objective)}")
        shown = ", ".join(f"{k}={format_value(v)}" for k, v in best.hyperparameters.items())
        click.echo(f"hyperparameters: {shown}")
    if record.failure_reason:
        click.echo(f"failure reason: {record.failure_reason}")
    if record.status == TuningJobStatus.Failed:  # scripts and CI can tell a failed tuning job
        sys.exit(1)


@main.command("best-model")
@click.argument("tuning_job_name", metavar="TUNING_JOB")
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to unpack the model into (default: ./<best training job>-model).",
)
@store_option
@click.pass_context
def best_model(ctx: click.Context, tuning_job_name: str, output: Path | None) -> None:
    """Fetch and unpack the best training job's model.tar.gz."""
    from sagetune.s3 import StorageError

    store = get_store(ctx)
    try:
        record = store.get_tuning_job(tuning_job_name)
        best = load_spec(record).best_training_job(store.list_training_jobs(tuning_job_name))
        if best is None:
            raise LookupError(
                f"tuning job {tuning_job_name!r} has no training job with an objective value"
            )
        folder = service.best_model(store, tuning_job_name, output or Path(f"{best.name}-model"))
    except (LookupError, FileNotFoundError, StorageError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None
    click.echo(f"best training job: {best.name}")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        click.echo(f"  {path}")


@main.command("logs")
@click.argument("training_job_name", metavar="TRAINING_JOB")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job ends.")
@store_option
@click.pass_context
def logs(ctx: click.Context, training_job_name: str, follow: bool) -> None:
    """Print a training job's log (or a tuning job's tuner log, given its name)."""
    store = get_store(ctx)
    try:
        job = store.get_training_job(training_job_name)
        path = Path(job.log_path) if job.log_path else None
        done = lambda: store.get_training_job(training_job_name).status in FINISHED  # noqa: E731
    except LookupError:
        record = store.get_tuning_job(training_job_name)
        path = store.tuning_job_dir(record.name) / "tuner.log"
        done = lambda: store.get_tuning_job(training_job_name).status in FINISHED  # noqa: E731
    out = sys.stdout.buffer
    pos = 0
    while True:
        if path is not None and path.exists():
            with open(path, "rb") as f:
                f.seek(pos)
                chunk = f.read()
                pos += len(chunk)
                out.write(chunk)
                out.flush()
        if not follow or done():
            if follow and path is not None and path.exists() and path.stat().st_size > pos:
                continue
            break
        time.sleep(0.5)


@main.command("ls")
@store_option
@click.pass_context
def ls(ctx: click.Context) -> None:
    """A table of tuning jobs: status, progress and best objective."""
    store = get_store(ctx)
    table = Table(show_edge=False)
    for col in ("name", "status", "strategy", "jobs", "best", "created"):
        table.add_column(col, no_wrap=True)
    for r in store.list_tuning_jobs():
        # The store's counts and best job: a tuning job's training jobs are never all read.
        stats = store.training_job_stats(r.name)
        spec = load_spec(r)
        best = stats.best(spec.maximize)
        # Jobs interrupted by a dead tuner were replaced on resume: like MaxNumberOfTrainingJobs,
        # the count leaves them out (else a resumed 6-job tuning job shows 8/6).
        finished = sum(stats.by_status.get(s, 0) for s in FINISHED)
        done = finished - stats.interrupted_finished
        table.add_row(
            r.name,
            r.status,
            spec.strategy,
            f"{done}/{spec.max_jobs}",
            format_value(None if best is None else best.objective, missing=""),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
        )
    console = Console()
    if not console.is_terminal:  # piped or captured: whole lines, never cut to 80 columns
        console = Console(width=int(os.environ.get("COLUMNS", "200")))
    console.print(table)
