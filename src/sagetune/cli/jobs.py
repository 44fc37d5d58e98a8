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
from sagetune.control import stop_tuning_job
from sagetune.errors import ValidationError
from sagetune.naming import tuning_job_arn
from sagetune.spec import load_spec
from sagetune.status import TuningJobStatus
from sagetune.store.records import FINISHED

JOB_NAME = click.option(
    "--hyper-parameter-tuning-job-name",
    "name",
    required=True,
    metavar="NAME",
    help="The tuning job's name.",
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
            text = path.read_text()
        except FileNotFoundError:
            raise ValidationError(f"request: no such file {str(path)!r}") from None
        except OSError as exc:
            raise ValidationError(f"request: cannot read {str(path)!r}: {exc.strerror}") from None
        base = path.resolve().parent
        yaml_input = yaml_input or path.suffix.lower() in (".yaml", ".yml")
    try:
        data = yaml.safe_load(text) if yaml_input else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "YAML" if yaml_input else "JSON"
        raise ValidationError(f"request: not valid {kind}: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError(f"request: must be an object, got {type(data).__name__}")
    return data, base


def _print_notices(spec: Any) -> None:
    for notice in spec.notices:
        click.echo(f"note: {notice}", err=True)


@main.command("create-hyper-parameter-tuning-job")
@click.option(
    "--cli-input-json", metavar="JSON", help="The request: file://request.json or inline JSON."
)
@click.option("--cli-input-yaml", metavar="YAML", help="The request as YAML (file:// or inline).")
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
    if cli_input_json and cli_input_yaml:
        raise ValidationError("--cli-input-json and --cli-input-yaml: give one, not both")
    request: dict[str, Any] = {}
    base = Path.cwd()
    if cli_input_json or cli_input_yaml:
        request, base = load_request(
            cli_input_json or cli_input_yaml or "", yaml_input=bool(cli_input_yaml)
        )
    for key, raw in (
        ("HyperParameterTuningJobConfig", config),
        ("TrainingJobDefinition", definition),
    ):
        if raw is not None:
            request[key] = load_request(raw)[0]
    if name:
        request["HyperParameterTuningJobName"] = name
    store = get_store(ctx)
    spec = service.create_tuning_job(store, request, base_dir=base)
    _print_notices(spec)
    background.start(store, spec.name, base)
    echo_json({"HyperParameterTuningJobArn": tuning_job_arn(spec.name)})


@main.command("describe-hyper-parameter-tuning-job")
@JOB_NAME
@store_option
@click.pass_context
def describe(ctx: click.Context, name: str) -> None:
    """The DescribeHyperParameterTuningJob answer, as JSON."""
    echo_json(service.describe(get_store(ctx), name))


def _backend(ctx: click.Context) -> api.Backend:
    return api.Backend(get_store(ctx))


def _list(
    ctx: click.Context,
    operation: str,
    key: str,
    request: dict[str, Any],
    max_results: int | None,
    next_token: str | None,
) -> dict[str, Any]:
    """One page when --max-results or --next-token is given (with its NextToken), else every
    page, as the AWS CLI pages by itself."""
    backend = _backend(ctx)
    request = {k: v for k, v in request.items() if v is not None}
    if max_results is not None or next_token is not None:
        page = {"MaxResults": max_results, "NextToken": next_token}
        return api.call(backend, operation, {**request, **{k: v for k, v in page.items() if v}})
    items: list[Any] = []
    token = None
    while True:
        answer = api.call(
            backend,
            operation,
            {**request, "MaxResults": 100, **({"NextToken": token} if token else {})},
        )
        items += answer[key]
        token = answer.get("NextToken")
        if token is None:
            return {key: items}


MAX_RESULTS = click.option(
    "--max-results", type=click.IntRange(1, 100), help="One page of at most this many."
)
NEXT_TOKEN = click.option("--next-token", metavar="TOKEN", help="The page after a NextToken.")


@main.command("list-hyper-parameter-tuning-jobs")
@click.option(
    "--sort-by",
    type=click.Choice(["Name", "Status", "CreationTime"]),
    default="CreationTime",
    show_default=True,
)
@click.option(
    "--sort-order",
    type=click.Choice(["Ascending", "Descending"]),
    default="Descending",
    show_default=True,
)
@click.option("--name-contains", metavar="TEXT", help="Only names containing TEXT (any case).")
@click.option("--status-equals", type=click.Choice(STATUSES))
@MAX_RESULTS
@NEXT_TOKEN
@store_option
@click.pass_context
def list_tuning_jobs(
    ctx: click.Context,
    sort_by: str,
    sort_order: str,
    name_contains: str | None,
    status_equals: str | None,
    max_results: int | None,
    next_token: str | None,
) -> None:
    """ListHyperParameterTuningJobs, as JSON."""
    request = {
        "SortBy": sort_by,
        "SortOrder": sort_order,
        "NameContains": name_contains,
        "StatusEquals": status_equals,
    }
    key = "HyperParameterTuningJobSummaries"
    op = "ListHyperParameterTuningJobs"
    echo_json(_list(ctx, op, key, request, max_results, next_token))


@main.command("list-training-jobs-for-hyper-parameter-tuning-job")
@JOB_NAME
@click.option(
    "--sort-by",
    type=click.Choice(["Name", "CreationTime", "Status", "FinalObjectiveMetricValue"]),
    default="Name",
    show_default=True,
    help="FinalObjectiveMetricValue lists only jobs with an objective value, as SageMaker does.",
)
@click.option(
    "--sort-order",
    type=click.Choice(["Ascending", "Descending"]),
    default="Ascending",
    show_default=True,
)
@click.option("--status-equals", type=click.Choice(STATUSES))
@MAX_RESULTS
@NEXT_TOKEN
@store_option
@click.pass_context
def list_training_jobs(
    ctx: click.Context,
    name: str,
    sort_by: str,
    sort_order: str,
    status_equals: str | None,
    max_results: int | None,
    next_token: str | None,
) -> None:
    """ListTrainingJobsForHyperParameterTuningJob, as JSON."""
    request = {
        "HyperParameterTuningJobName": name,
        "SortBy": sort_by,
        "SortOrder": sort_order,
        "StatusEquals": status_equals,
    }
    op = "ListTrainingJobsForHyperParameterTuningJob"
    echo_json(_list(ctx, op, "TrainingJobSummaries", request, max_results, next_token))


@main.command("describe-training-job")
@click.option("--training-job-name", "name", required=True, metavar="NAME")
@store_option
@click.pass_context
def describe_training(ctx: click.Context, name: str) -> None:
    """The DescribeTrainingJob answer, as JSON."""
    echo_json(api.call(_backend(ctx), "DescribeTrainingJob", {"TrainingJobName": name}))


@main.command("stop-hyper-parameter-tuning-job")
@JOB_NAME
@store_option
@click.pass_context
def stop(ctx: click.Context, name: str) -> None:
    """Stop a tuning job: it becomes Stopping, its training jobs stop, then Stopped."""
    stop_tuning_job(get_store(ctx), name)


@main.command("tune")
@click.argument("request_file", metavar="REQUEST")
@click.option("--name", metavar="NAME", help="Overrides HyperParameterTuningJobName.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Live table (default: when stderr is a terminal).",
)
@store_option
@click.pass_context
def tune(ctx: click.Context, request_file: str, name: str | None, progress: bool | None) -> None:
    """Run a CreateHyperParameterTuningJob request (JSON or YAML) in the foreground."""
    request, base = load_request(request_file)
    if name:
        request["HyperParameterTuningJobName"] = name
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
    """Continue a tuning job whose tuner died: finished jobs are kept, interrupted ones
    replaced."""
    _run(get_store(ctx), name, progress)


def _run(store: Any, name: str, progress: bool | None) -> None:
    show = sys.stderr.isatty() if progress is None else progress
    record = service.run_tuning_job(store, name, show_progress=show)
    jobs = store.list_training_jobs(name)
    best = load_spec(record).best_training_job(jobs)
    click.echo(f"{name}: {record.status} ({len(jobs)} training jobs)")
    if best is not None:
        click.echo(f"best training job: {best.name}  objective = {best.objective}")
        click.echo("hyperparameters: " + json.dumps(best.hyperparameters))
    if record.failure_reason:
        click.echo(f"failure reason: {record.failure_reason}")
    if record.status == TuningJobStatus.Failed:  # scripts and CI can tell a failed tuning job
        sys.exit(1)


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
        table.add_column(col)
    for r in store.list_tuning_jobs():
        jobs = store.list_training_jobs(r.name)
        spec = load_spec(r)
        best = spec.best_training_job(jobs)
        total = spec.max_jobs
        table.add_row(
            r.name,
            r.status,
            spec.strategy,
            f"{sum(j.finished for j in jobs)}/{total}",
            "" if best is None else f"{best.objective:.6g}",
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
        )
    Console(width=int(os.environ.get("COLUMNS", "120"))).print(table)
