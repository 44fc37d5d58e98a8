"""Fuzzed requests through ``sagetune serve``: only the service's documented errors come out.

Signed requests (SigV4, as boto3 signs them) carry hypothesis-mutated bodies to the real HTTP
endpoint: CreateHyperParameterTuningJob mutated from valid requests (the strategies of
``tests/mutations.py``), also as non-JSON bytes, non-object JSON and deeply nested JSON, and
the describe, list, stop and delete operations with mutated arguments. Every answer is 200 with
a JSON object or a 4xx whose JSON names one of the documented ``__type``s with a message;
never a 5xx or a dropped connection. A rejected request leaves the store's tuning jobs as they
were, and the server is alive at the end. Accepted creates run a script that exits at once
and are stopped as soon as they are created.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import mutations
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jobs import local_command_request, two_definitions_request
from test_boto3 import KEY_ID, SECRET, Server, script_request

from sagetune import api, service
from sagetune.store import open_store

DOCUMENTED = {
    "ValidationException",
    "ResourceNotFound",
    "ResourceInUse",
    "ResourceLimitExceeded",
    "SerializationException",
    "UnknownOperationException",
    "RequestEntityTooLargeException",
}
TRAIN = "print('validation:auc=0.5', flush=True)\n"
SEED = "fuzz-seed"
FUZZ = settings(
    max_examples=mutations.examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class Fuzzed:
    """The server, a signed HTTP client and a view of its store."""

    def __init__(self, server: Server):
        self.server = server
        self.http = httpx.Client(timeout=10)
        self.store = open_store(server.store_url)
        self.created: list[str] = []

    def post(self, operation: str, body: bytes) -> httpx.Response:
        """Send ``body`` signed; assert the answer keeps to the contract."""
        url = self.server.url + "/"
        request = AWSRequest(
            method="POST",
            url=url,
            data=body,
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"SageMaker.{operation}",
            },
        )
        SigV4Auth(Credentials(KEY_ID, SECRET), "sagemaker", "us-east-1").add_auth(request)
        res = self.http.post(url, content=body, headers=dict(request.headers.items()))
        assert res.headers.get("content-type") == "application/x-amz-json-1.1", res.text
        answer = res.json()
        assert isinstance(answer, dict), res.text
        if res.status_code != 200:
            assert 400 <= res.status_code < 500, res.text
            assert answer.get("__type") in DOCUMENTED, res.text
            assert isinstance(answer.get("message"), str) and answer["message"], res.text
        return res

    def names(self) -> list[str]:
        return sorted(r.name for r in self.store.list_tuning_jobs())


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    folder = tmp_path_factory.mktemp("fuzz-served")
    (folder / "train.py").write_text(TRAIN)
    (folder / "src").mkdir()
    (folder / "src" / "train.py").write_text(TRAIN)
    mutations.hostile_files(folder)
    store_url = f"sqlite:///{folder / 'fuzz.db'}"
    store = open_store(store_url)
    service.create_tuning_job(store, local_command_request(SEED), base_dir=folder)
    service.run_tuning_job(store, SEED)  # a finished job with training jobs to describe
    store.close()
    server = Server(folder, store_url)
    server.start()
    f = Fuzzed(server)
    try:
        yield f
    finally:
        _clean_up(f)
        server.stop()
        f.store.close()
        f.http.close()


def _clean_up(f: Fuzzed) -> None:
    """Stop what the fuzz created, wait for it to end and delete it."""
    for name in f.created:
        f.post(
            "StopHyperParameterTuningJob",
            json.dumps({"HyperParameterTuningJobName": name}).encode(),
        )
    deadline = time.time() + 30
    left = set(f.created)
    while left and time.time() < deadline:
        for record in f.store.list_tuning_jobs():
            if record.name in left and record.status.finished:
                f.post(
                    "DeleteHyperParameterTuningJob",
                    json.dumps({"HyperParameterTuningJobName": record.name}).encode(),
                )
                left.discard(record.name)
        left &= set(f.names())
        time.sleep(0.2)
    assert not left, f"tuning jobs that did not end: {sorted(left)}"


def _bases(server: Server) -> list[dict[str, Any]]:
    """Valid requests that run one training job of a script that exits at once."""
    scripted = script_request(server, "fuzz-create", 1)
    scripted["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] = 1
    local = local_command_request("fuzz-create", 1)
    two = two_definitions_request("fuzz-create")
    two["HyperParameterTuningJobConfig"]["ResourceLimits"] = {
        "MaxNumberOfTrainingJobs": 1,
        "MaxParallelTrainingJobs": 1,
    }
    return [scripted, local, two]


NESTED = "nested-placeholder"


def create_body(data: st.DataObject, bases: list[dict[str, Any]]) -> bytes:
    kind = data.draw(
        st.sampled_from(["mutated", "mutated", "mutated", "nested", "bytes", "not an object"]),
        label="kind",
    )
    if kind == "bytes":
        return data.draw(
            st.binary(max_size=64)
            | st.sampled_from([b"{", b'{"a": }', b"\xff\xfe{}", b"[" * 100_000, b"{" * 50_000]),
            label="bytes",
        )
    if kind == "not an object":
        return json.dumps(data.draw(mutations.SCALARS | st.lists(mutations.SCALARS))).encode()
    req = mutations.mutated(data, bases)
    if data.draw(st.sampled_from([False, False, False, True]), label="new name"):
        req["HyperParameterTuningJobName"] = f"fuzz-{data.draw(st.integers(0, 10**6))}"
    if kind == "nested":
        place = data.draw(st.sampled_from(sorted(req)), label="nested member") if req else "x"
        req[place] = NESTED
        depth = data.draw(st.sampled_from([20, 33, 200, 900, 5_000, 100_000]), label="depth")
        opener, closer = data.draw(st.sampled_from([("[", "]"), ('{"a": ', "}")]), label="kind")
        nested = opener * depth + "0" + closer * depth
        return json.dumps(req).replace(f'"{NESTED}"', nested).encode()
    return json.dumps(req).encode()


@FUZZ
@given(data=st.data())
def test_a_mutated_create_gets_a_documented_answer_and_a_rejected_one_changes_nothing(
    fuzzed: Fuzzed, data: st.DataObject
) -> None:
    body = create_body(data, _bases(fuzzed.server))
    before = fuzzed.names()
    res = fuzzed.post("CreateHyperParameterTuningJob", body)
    event(f"create: {res.json().get('__type', res.status_code)}")
    if res.status_code == 200:
        name = json.loads(body)["HyperParameterTuningJobName"]
        assert res.json()["HyperParameterTuningJobArn"].endswith(f"/{name}")
        fuzzed.created.append(name)
        fuzzed.post(
            "StopHyperParameterTuningJob",
            json.dumps({"HyperParameterTuningJobName": name}).encode(),
        )
        assert fuzzed.names() == sorted([*before, name])
    else:
        assert fuzzed.names() == before


def _token(offset: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(offset).encode()).decode()


GOOD_TOKENS = [_token({"offset": o}) for o in (1, 3)]
ODD_TOKENS = [_token({"offset": o}) for o in (-1, -(10**6), 10**30, 10**400, 1.5, "2", None)] + [
    _token(float("inf")),
    _token({"offset": float("nan")}),
    _token([1]),
    _token("x"),
    *["", "%%%", "not base64!", "eyJvZmZzZXQiOiAx"],
]


def _member_value(fuzzed: Fuzzed, member: str, shape: Any, odd: bool) -> Any:
    """A value the service accepts for ``member`` or, when ``odd``, likely one it refuses."""
    if member.endswith("Name") and shape.type_name == "string":
        known = [SEED, *fuzzed.created]
        if "Training" in member and "Tuning" not in member:
            known = [j.name for j in fuzzed.store.list_training_jobs(SEED)]
        if not odd:
            return st.sampled_from(known)
        return st.sampled_from(["nope", "", "x" * 5000, "\ud800", "a\x00b"]) | mutations.VALUES
    if member == "NextToken":
        return (
            st.sampled_from(ODD_TOKENS) | mutations.SCALARS if odd else st.sampled_from(GOOD_TOKENS)
        )
    if getattr(shape, "enum", None):
        return mutations.SCALARS if odd else st.sampled_from(list(shape.enum))
    if shape.type_name == "integer":
        if odd:
            return st.sampled_from([-5, 0, 101, *mutations.HUGE]) | mutations.SCALARS
        return st.integers(1, 100)
    if shape.type_name == "timestamp":
        if odd:
            return st.sampled_from([*mutations.HUGE, "2024-01-01T00:00:00Z"]) | mutations.SCALARS
        return st.floats(0, 2e9) | st.sampled_from([time.time()])
    return mutations.VALUES if odd else st.text(max_size=8)


OPERATIONS = sorted(set(api.OPERATIONS) - {"CreateHyperParameterTuningJob"})


@FUZZ
@given(data=st.data())
def test_the_other_operations_with_mutated_arguments_get_documented_answers(
    fuzzed: Fuzzed, data: st.DataObject
) -> None:
    operation = data.draw(
        st.sampled_from([*OPERATIONS, *OPERATIONS, *OPERATIONS, "CreateModel", "", "A/../B"]),
        label="operation",
    )
    request: dict[str, Any] = {}
    if operation in api.OPERATIONS:
        shape = api._model().operation_model(operation).input_shape
        for member, member_shape in shape.members.items():
            required = member in shape.required_members
            how = data.draw(st.sampled_from(["absent", "absent", "good", "odd"]), label=member)
            if how != "absent" or required:
                value = _member_value(fuzzed, member, member_shape, odd=how == "odd")
                request[member] = data.draw(value, label=f"{member} value")
    if data.draw(st.booleans(), label="extra"):
        request[data.draw(st.sampled_from(mutations.MEMBERS), label="extra member")] = data.draw(
            mutations.VALUES, label="extra value"
        )
    if (
        operation == "DeleteHyperParameterTuningJob"
        and request.get("HyperParameterTuningJobName") == SEED
    ):
        request["HyperParameterTuningJobName"] = "nope"  # the seed stays for the other examples
    before = fuzzed.names()
    res = fuzzed.post(operation, json.dumps(request).encode())
    event(f"{operation}: {res.json().get('__type', res.status_code)}")
    if operation == "DeleteHyperParameterTuningJob" and res.status_code == 200:
        assert fuzzed.names() == [n for n in before if n != request["HyperParameterTuningJobName"]]
    else:
        assert fuzzed.names() == before


def test_the_server_is_alive_after_the_fuzz(fuzzed: Fuzzed) -> None:
    proc = fuzzed.server.proc
    assert proc is not None and proc.poll() is None
    res = fuzzed.post("ListHyperParameterTuningJobs", b'{"MaxResults": 100}')
    assert res.status_code == 200
    assert SEED in [
        s["HyperParameterTuningJobName"] for s in res.json()["HyperParameterTuningJobSummaries"]
    ]
