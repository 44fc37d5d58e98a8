"""The SageMaker API's tuning operations: a parsed request in, a backend call, the answer out.

Each operation is one small function taking the :class:`Backend` and the request body as a
dict (what boto3 sends), returning the answer dict boto3 parses. Nothing here knows HTTP: the
server (``sagetune.server``) turns bodies into dicts and answers and errors into the wire
format; tests and other Python code call :func:`call` directly.

Errors are sagetune's exceptions, each carrying the service's ``__type``
(:func:`sagetune.errors.service_error_type`): ``ValidationError`` (ValidationException),
``ResourceNotFound``, ``ResourceInUse``, ``ResourceLimitExceeded``; an operation this module
does not serve raises :class:`UnknownOperation`.

Paging follows the service: ``MaxResults`` defaults to 10 and its bounds are read from
botocore's model of the service; ``NextToken`` is opaque (the offset into the sorted, filtered
list) and only valid with the same filters. Sort defaults are the model's documented ones.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sagetune import control, service
from sagetune.answers import describe_training_job, training_job_summary, tuning_job_summary
from sagetune.errors import ResourceLimitExceeded, ResourceNotFound, ValidationError
from sagetune.executors.base import node_of
from sagetune.naming import to_datetime, training_job_arn, tuning_job_arn
from sagetune.spec import load_spec, unreadable
from sagetune.status import TuningJobStatus
from sagetune.store import Store
from sagetune.store.records import TrainingJobRecord, TuningJobRecord

Request = Mapping[str, Any]
Answer = dict[str, Any]
T = TypeVar("T")

DEFAULT_MAX_RESULTS = 10  # the model documents 10 as the default of every list here
MAX_RUNNING_TUNING_JOBS = 100  # SageMaker's default quota of concurrent tuning jobs


class UnknownOperation(LookupError):
    """The request names an operation this service does not serve."""


def _start_detached(store: Store, name: str, cwd: Path) -> None:
    from sagetune.cli import background

    background.start(store, name, cwd)


@dataclass
class Backend:
    """What the operations work on.

    Attributes:
        store: where tuning jobs are kept.
        start_tuner: starts a tuner for a stored InProgress tuning job (by default a detached
            process, as ``create-hyper-parameter-tuning-job`` starts one).
        base_dir: the folder relative paths in requests are read from.
        max_running_tuning_jobs: at most this many tuning jobs InProgress or Stopping at once;
            one more is ResourceLimitExceeded.
    """

    store: Store
    start_tuner: Callable[[Store, str, Path], None] = _start_detached
    base_dir: Path = field(default_factory=Path.cwd)
    max_running_tuning_jobs: int = MAX_RUNNING_TUNING_JOBS


# the model ---------------------------------------------------------------------------------
@functools.cache
def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def _input_member(operation: str, member: str) -> Any:
    return _model().operation_model(operation).input_shape.members[member]


def _enum(request: Request, operation: str, member: str, default: str | None = None) -> Any:
    value = request.get(member)
    if value is None:  # absent or null: the default, as the service reads a null member
        value = default
    allowed = _input_member(operation, member).enum
    if value is not None and value not in allowed:
        raise ValidationError(f"{member}: must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _name(request: Request, member: str) -> str:
    value = request.get(member)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{member}: is required (a non-empty string), got {value!r}")
    if "\x00" in value:  # no name holds one; PostgreSQL could not even look it up
        raise ValidationError(f"{member}: must not contain NUL (\\x00) characters, got {value!r}")
    return value


def _time(request: Request, member: str) -> float | None:
    """A timestamp member: epoch seconds on the wire, a datetime from Python callers."""
    value = request.get(member)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an integer past any float: no time at all
            pass
    raise ValidationError(f"{member}: must be a timestamp, got {value!r}")


def _window(operation: str, request: Request) -> tuple[int, int]:
    """The offset (from ``NextToken``) and size (``MaxResults``) of the page asked for."""
    limits = _input_member(operation, "MaxResults").metadata
    size = request.get("MaxResults", DEFAULT_MAX_RESULTS)
    if (
        not isinstance(size, int)
        or isinstance(size, bool)
        or not limits["min"] <= size <= limits["max"]
    ):
        raise ValidationError(
            f"MaxResults: must be an integer from {limits['min']} to {limits['max']}, got {size!r}"
        )
    token = request.get("NextToken")
    offset = 0
    if token:
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(str(token).encode()))["offset"])
            if offset < 0:
                raise ValueError(offset)
        except (ValueError, KeyError, TypeError, OverflowError):
            raise ValidationError(
                "NextToken: is not a token this service gave out (pass the NextToken of the "
                "previous answer unchanged)"
            ) from None
    return offset, size


def _next_token(offset: int, size: int, more: bool) -> str | None:
    """The token of the page after the one at ``offset`` (None on the last page)."""
    if not more:
        return None
    return base64.urlsafe_b64encode(json.dumps({"offset": offset + size}).encode()).decode()


def _page(operation: str, request: Request, items: Sequence[T]) -> tuple[list[T], str | None]:
    """One page of ``items`` and the token of the next (None on the last page)."""
    offset, size = _window(operation, request)
    page = list(items[offset : offset + size])
    return page, _next_token(offset, size, offset + size < len(items))


def _store_page(
    operation: str, request: Request, read: Callable[[int, int], list[TrainingJobRecord]]
) -> tuple[list[TrainingJobRecord], str | None]:
    """One page read from the store by ``read(offset, limit)``: one more job than the page is
    asked for, to know whether there is a next page."""
    offset, size = _window(operation, request)
    jobs = read(offset, size + 1)
    return jobs[:size], _next_token(offset, size, len(jobs) > size)


def _between(value: float | None, after: float | None, before: float | None) -> bool:
    if value is None:
        return after is None and before is None
    return (after is None or value > after) and (before is None or value < before)


def _paged(answer: Answer, token: str | None) -> Answer:
    if token is not None:
        answer["NextToken"] = token
    return answer


# tuning jobs -------------------------------------------------------------------------------
def create_hyper_parameter_tuning_job(backend: Backend, request: Request) -> Answer:
    """CreateHyperParameterTuningJob: validate, store, start a tuner."""
    store = backend.store
    running = sum(
        r.status in (TuningJobStatus.InProgress, TuningJobStatus.Stopping)
        for r in store.list_tuning_jobs()
    )
    if running >= backend.max_running_tuning_jobs:
        raise ResourceLimitExceeded(
            f"at most {backend.max_running_tuning_jobs} tuning jobs may run at once; "
            f"{running} are InProgress or Stopping"
        )
    spec = service.create_tuning_job(store, request, base_dir=backend.base_dir)
    backend.start_tuner(store, spec.name, backend.base_dir)
    return {"HyperParameterTuningJobArn": tuning_job_arn(spec.name)}


def describe_hyper_parameter_tuning_job(backend: Backend, request: Request) -> Answer:
    """DescribeHyperParameterTuningJob."""
    return service.describe(backend.store, _name(request, "HyperParameterTuningJobName"))


def list_hyper_parameter_tuning_jobs(backend: Backend, request: Request) -> Answer:
    """ListHyperParameterTuningJobs: filtered, sorted (default Name, Ascending), paged."""
    op = "ListHyperParameterTuningJobs"
    sort_by = _enum(request, op, "SortBy", "Name")
    order = _enum(request, op, "SortOrder", "Ascending")
    status = _enum(request, op, "StatusEquals")
    contains = request.get("NameContains")
    created = _time(request, "CreationTimeAfter"), _time(request, "CreationTimeBefore")
    modified = _time(request, "LastModifiedTimeAfter"), _time(request, "LastModifiedTimeBefore")
    records = [
        r
        for r in backend.store.list_tuning_jobs()
        if (not contains or str(contains).lower() in r.name.lower())
        and (status is None or r.status == status)
        and _between(r.created_at, *created)
        and _between(r.last_modified_at, *modified)
    ]
    key: Callable[[TuningJobRecord], Any] = {
        "Name": lambda r: r.name,
        "Status": lambda r: (r.status, r.name),
        "CreationTime": lambda r: (r.created_at, r.name),
    }[sort_by]
    records.sort(key=key, reverse=order == "Descending")
    page, token = _page(op, request, records)
    store = backend.store
    # The counters of the whole page in one read, never the training jobs themselves.
    counts = store.training_job_counts([r.name for r in page])
    summaries = [tuning_job_summary(load_spec(r), r, counts[r.name]) for r in page]
    return _paged({"HyperParameterTuningJobSummaries": summaries}, token)


def stop_hyper_parameter_tuning_job(backend: Backend, request: Request) -> Answer:
    """StopHyperParameterTuningJob: its tuner stops the training jobs; then it is Stopped."""
    name = _name(request, "HyperParameterTuningJobName")
    record = backend.store.get_tuning_job(name)
    if record.status not in (TuningJobStatus.InProgress, TuningJobStatus.Stopping):
        raise ValidationError(
            f"HyperParameterTuningJobName: tuning job {name!r} is {record.status}; only an "
            f"InProgress tuning job can be stopped"
        )
    control.stop_tuning_job(backend.store, name)
    return {}


def delete_hyper_parameter_tuning_job(backend: Backend, request: Request) -> Answer:
    """DeleteHyperParameterTuningJob: only a finished tuning job (Completed, Failed or
    Stopped), with its training jobs and metric points; its folders stay on disk."""
    name = _name(request, "HyperParameterTuningJobName")
    record = backend.store.get_tuning_job(name)
    if not record.status.finished:
        raise ValidationError(
            f"HyperParameterTuningJobName: tuning job {name!r} is {record.status}; only a "
            f"Completed, Failed or Stopped tuning job can be deleted (stop it first)"
        )
    backend.store.delete_tuning_job(name)
    return {}


# training jobs -----------------------------------------------------------------------------
def list_training_jobs_for_hyper_parameter_tuning_job(backend: Backend, request: Request) -> Answer:
    """ListTrainingJobsForHyperParameterTuningJob (default Name, Ascending);
    FinalObjectiveMetricValue lists only jobs with an objective value, as SageMaker does."""
    op = "ListTrainingJobsForHyperParameterTuningJob"
    name = _name(request, "HyperParameterTuningJobName")
    sort_by = _enum(request, op, "SortBy", "Name")
    order = _enum(request, op, "SortOrder", "Ascending")
    status = _enum(request, op, "StatusEquals")
    store = backend.store
    spec = load_spec(store.get_tuning_job(name))
    page, token = _store_page(
        op,
        request,
        lambda offset, limit: store.training_jobs_page(
            name,
            sort_by=sort_by,
            descending=order == "Descending",
            offset=offset,
            limit=limit,
            status=status,
            with_objective=sort_by == "FinalObjectiveMetricValue",
        ),
    )
    return _paged({"TrainingJobSummaries": [training_job_summary(spec, j) for j in page]}, token)


def describe_training_job_(backend: Backend, request: Request) -> Answer:
    """DescribeTrainingJob."""
    store = backend.store
    job = store.get_training_job(_name(request, "TrainingJobName"))
    spec = load_spec(store.get_tuning_job(job.tuning_job_name))
    out = describe_training_job(
        spec,
        job,
        time.time(),
        output_path=service.output_path(job.tuning_job_name),
    )
    node = node_of(job.log_path)
    if node is not None:  # not in SageMaker's answer: the Ray node the job ran on
        out["LocalNode"] = {"IpAddress": node[0], "NodeId": node[1]}
    return out


def _secondary_status(job: TrainingJobRecord) -> str:
    return {"InProgress": "Training"}.get(job.status, job.status)


def list_training_jobs(backend: Backend, request: Request) -> Answer:
    """ListTrainingJobs over every tuning job's training jobs (default CreationTime,
    Ascending)."""
    op = "ListTrainingJobs"
    sort_by = _enum(request, op, "SortBy", "CreationTime")
    order = _enum(request, op, "SortOrder", "Ascending")
    status = _enum(request, op, "StatusEquals")
    contains = request.get("NameContains")
    created = _time(request, "CreationTimeAfter"), _time(request, "CreationTimeBefore")
    modified = _time(request, "LastModifiedTimeAfter"), _time(request, "LastModifiedTimeBefore")
    store = backend.store
    page, token = _store_page(
        op,
        request,
        lambda offset, limit: store.training_jobs_page(
            None,
            sort_by=sort_by,
            descending=order == "Descending",
            offset=offset,
            limit=limit,
            status=status,
            name_contains=str(contains) if contains else None,
            created_after=created[0],
            created_before=created[1],
            modified_after=modified[0],
            modified_before=modified[1],
        ),
    )
    summaries = [
        {
            k: v
            for k, v in {
                "TrainingJobName": j.name,
                "TrainingJobArn": training_job_arn(j.name),
                "CreationTime": to_datetime(j.created_at),
                "TrainingEndTime": to_datetime(j.ended_at),
                "LastModifiedTime": to_datetime(_last_modified(j)),
                "TrainingJobStatus": j.status,
                "SecondaryStatus": _secondary_status(j),
            }.items()
            if v is not None
        }
        for j in page
    ]
    return _paged({"TrainingJobSummaries": summaries}, token)


def _last_modified(job: TrainingJobRecord) -> float:
    return job.ended_at or job.started_at or job.created_at


def stop_training_job(backend: Backend, request: Request) -> Answer:
    """StopTrainingJob: see :func:`sagetune.control.stop_training_job`."""
    control.stop_training_job(backend.store, _name(request, "TrainingJobName"))
    return {}


# tags ------------------------------------------------------------------------------------------
_ARN_PAGE = 100  # training jobs read at a time when an ARN's name is not the stored spelling
_RESOURCE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:"
    r"(?P<kind>hyper-parameter-tuning-job|training-job)/(?P<name>.+)$"
)


def _tuning_job_of_arn(store: Store, arn: str) -> TuningJobRecord | None:
    """The tuning job an ARN names, itself or through one of its training jobs (names in
    ARNs are lower case, as the service writes them)."""
    match = _RESOURCE_ARN.match(arn)
    if match is None:
        return None
    name = match["name"]
    if match["kind"] == "hyper-parameter-tuning-job":
        # Tuning jobs are few; their training jobs may be many, so those are never all read.
        return next((r for r in store.list_tuning_jobs() if r.name.lower() == name), None)
    with contextlib.suppress(ResourceNotFound):  # most names are lower case already
        return store.get_tuning_job(store.get_training_job(name).tuning_job_name)
    # Else the jobs whose name holds it, ignoring case, a page at a time: one of them is it.
    offset = 0
    while page := store.training_jobs_page(
        None, sort_by="Name", name_contains=name, offset=offset, limit=_ARN_PAGE
    ):
        for job in page:
            if job.name.lower() == name:
                return store.get_tuning_job(job.tuning_job_name)
        offset += len(page)
    return None


def list_tags(backend: Backend, request: Request) -> Answer:
    """ListTags of a tuning job or a training job: the tuning job's ``Tags``, which SageMaker
    also adds to every training job the tuning job launches (the SageMaker SDK's ``attach``
    reads them). An ARN of any other resource, or of no stored job, is a
    ValidationException (the operation models no other error). A resource holds at most 50
    tags and ``MaxResults`` is at least 50, so every answer is one page: a ``NextToken`` is
    never given out, and one passed in is refused."""
    arn = _name(request, "ResourceArn")
    size = request.get("MaxResults")
    minimum = _input_member("ListTags", "MaxResults").metadata["min"]
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < minimum):
        raise ValidationError(f"MaxResults: must be an integer of at least {minimum}, got {size!r}")
    if request.get("NextToken"):
        raise ValidationError("NextToken: is not a token this service gave out")
    record = _tuning_job_of_arn(backend.store, arn)
    if record is None:
        raise ValidationError(f"ResourceArn: no tuning job or training job {arn!r}")
    return {"Tags": list(load_spec(record).to_request().get("Tags") or [])}


OPERATIONS: dict[str, Callable[[Backend, Request], Answer]] = {
    "CreateHyperParameterTuningJob": create_hyper_parameter_tuning_job,
    "DescribeHyperParameterTuningJob": describe_hyper_parameter_tuning_job,
    "ListHyperParameterTuningJobs": list_hyper_parameter_tuning_jobs,
    "StopHyperParameterTuningJob": stop_hyper_parameter_tuning_job,
    "DeleteHyperParameterTuningJob": delete_hyper_parameter_tuning_job,
    "ListTrainingJobsForHyperParameterTuningJob": (
        list_training_jobs_for_hyper_parameter_tuning_job
    ),
    "DescribeTrainingJob": describe_training_job_,
    "ListTrainingJobs": list_training_jobs,
    "StopTrainingJob": stop_training_job,
    "ListTags": list_tags,
}

_OPERATION_NAME = re.compile(r"^[A-Za-z]{1,64}$")


def call(backend: Backend, operation: str, request: Request) -> Answer:
    """Run one operation by its API name (``DescribeHyperParameterTuningJob``, ...).

    Raises:
        UnknownOperation: the operation is not one of :data:`OPERATIONS`.
        ValidationError, ResourceNotFound, ResourceInUse, ResourceLimitExceeded: as the
            service raises them (a request nested too deep or holding a lone surrogate is a
            ValidationError, see :func:`sagetune.spec.unreadable`); nothing is changed.
    """
    fn = OPERATIONS.get(operation) if _OPERATION_NAME.match(operation) else None
    if fn is None:
        raise UnknownOperation(f"operation {operation!r} is not served by sagetune")
    if not isinstance(request, Mapping):
        raise ValidationError(f"request: must be an object, got {type(request).__name__}")
    problem = unreadable(request)
    if problem is not None:
        raise ValidationError(problem)
    return fn(backend, request)
