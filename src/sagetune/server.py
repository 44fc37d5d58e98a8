"""The SageMaker API on HTTP: AWS JSON 1.1, as boto3 and the SageMaker SDK speak it.

``POST /`` with ``X-Amz-Target: SageMaker.<Operation>`` and a JSON body; the answer is JSON
with timestamps as epoch seconds (what botocore's JSON parser reads). Errors are HTTP 400 (or
403 for authentication) with ``{"__type": ..., "message": ...}`` as the service sends them; a
store that stays unreachable past its retry budget is ``ServiceUnavailable`` (HTTP 503). Every
request must carry a valid SigV4 signature (:mod:`sagetune.sigv4`); a refused request changes
nothing. Operations are :mod:`sagetune.api`'s; tuning jobs created here run each in its own
detached tuner process, so they go on when the server stops, and a server that starts resumes
the InProgress ones whose tuner is gone.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sagetune import api, control
from sagetune.errors import StoreUnavailable, service_error_type
from sagetune.sigv4 import AuthError, verify
from sagetune.spec.validate import MAX_REQUEST_BYTES
from sagetune.status import TuningJobStatus
from sagetune.store import StoreVersionError

MAX_BODY_BYTES = MAX_REQUEST_BYTES
TARGET_PREFIX = "SageMaker."
CONTENT_TYPE = "application/x-amz-json-1.1"

log = logging.getLogger("sagetune.server")


def _default(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.timestamp()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _answer(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(body, default=_default),
        status_code=status,
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": secrets.token_hex(16)},
    )


def _error(code: str, message: str, status: int = 400) -> Response:
    return _answer({"__type": code, "message": message}, status)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than ``limit`` bytes (read no further)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    backend: api.Backend, keys: Mapping[str, str], max_body_bytes: int = MAX_BODY_BYTES
) -> Starlette:
    """The ASGI app serving :data:`sagetune.api.OPERATIONS` to requests signed with ``keys``.

    Raises:
        ValueError: ``keys`` is empty (every request must be signed with a known key).
    """
    if not keys:
        raise ValueError("the SageMaker endpoint needs at least one access key")
    known = dict(keys)

    async def endpoint(request: Request) -> Response:
        body = await _read_body(request, max_body_bytes)
        if body is None:
            return _error(
                "RequestEntityTooLargeException",
                f"the request body is larger than {max_body_bytes} bytes",
                413,
            )
        try:
            verify(request.method, str(request.url), request.headers, body, known)
        except AuthError as exc:
            return _error(exc.code, exc.message, exc.status)
        target = request.headers.get("x-amz-target", "")
        if request.method != "POST" or request.url.path != "/":
            return _error("UnknownOperationException", "send POST / with X-Amz-Target", 404)
        if not target.startswith(TARGET_PREFIX):
            return _error("UnknownOperationException", f"unknown X-Amz-Target {target!r}")
        try:
            payload = json.loads(body or b"{}")
        except ValueError as exc:
            return _error("SerializationException", f"the body is not JSON: {exc}")
        except RecursionError:
            return _error("SerializationException", "the body nests too deeply to be read")
        if not isinstance(payload, dict):
            return _error("SerializationException", "the body must be a JSON object")
        operation = target[len(TARGET_PREFIX) :]
        try:
            answer = await run_in_threadpool(api.call, backend, operation, payload)
        except api.UnknownOperation as exc:
            return _error("UnknownOperationException", str(exc))
        except StoreVersionError as exc:
            return _error("InternalFailure", str(exc), 500)
        except StoreUnavailable as exc:
            # The database is down past the retry budget: a service fault, which botocore
            # retries by itself (a 503 ServiceUnavailable is one of its transient errors).
            return _error("ServiceUnavailable", str(exc), 503)
        except Exception as exc:
            code = service_error_type(exc)
            if code is None:
                log.exception("%s failed", operation)
                return _error("InternalFailure", f"{type(exc).__name__}: {exc}", 500)
            return _error(code, str(exc))
        return _answer(answer)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST", "PUT"])])


def resume_orphans(backend: api.Backend) -> list[str]:
    """Start a tuner for every InProgress or Stopping tuning job whose tuner is gone (its
    lease is dead): what a restarted server does so that its jobs go on. Returns their names.

    A second tuner racing for the same job loses the lease and exits, so this is safe to run
    while another process resumes the same jobs.
    """
    resumed = []
    now = backend.store.database_time()
    for record in backend.store.list_tuning_jobs():
        if record.status not in (TuningJobStatus.InProgress, TuningJobStatus.Stopping):
            continue
        if control.lease_alive(record, now):
            continue
        backend.start_tuner(backend.store, record.name, backend.base_dir)
        resumed.append(record.name)
    return resumed


def serve(backend: api.Backend, keys: Mapping[str, str], host: str, port: int) -> None:
    """Resume orphaned tuning jobs, then serve until interrupted."""
    import uvicorn

    for name in resume_orphans(backend):
        log.warning("resumed tuning job %s (its tuner was gone)", name)
    uvicorn.run(create_app(backend, keys), host=host, port=port, log_level="warning")
