"""Errors raised to users.

`ValidationError` mirrors SageMaker's ValidationException: every problem found in a request is
reported at once, each prefixed with the field path it concerns and the rule it breaks.
"""

from __future__ import annotations

from collections.abc import Iterable


class ValidationError(ValueError):
    """A request or argument breaks a rule; nothing was stored or changed.

    Attributes:
        errors: one ``"<field path>: <rule>"`` line per problem found.
    """

    def __init__(self, errors: str | Iterable[str]):
        self.errors: list[str] = [errors] if isinstance(errors, str) else list(errors)
        n = len(self.errors)
        super().__init__(
            "; ".join(self.errors)
            if n <= 1
            else f"{n} validation errors:\n  " + "\n  ".join(self.errors)
        )


class ResourceNotFound(LookupError):
    """A tuning job or training job of that name is not in the store."""


class ResourceInUse(RuntimeError):
    """The resource exists already, or another process is working on it."""


class ResourceLimitExceeded(RuntimeError):
    """A limit on how many resources may exist at once was reached; nothing was created."""


def service_error_type(exc: BaseException) -> str | None:
    """The SageMaker API's ``__type`` for an error sagetune raises to users (None for others)."""
    for kind, name in (
        (ValidationError, "ValidationException"),
        (ResourceNotFound, "ResourceNotFound"),
        (ResourceInUse, "ResourceInUse"),
        (ResourceLimitExceeded, "ResourceLimitExceeded"),
    ):
        if isinstance(exc, kind):
            return name
    return None


class StoreUnavailable(RuntimeError):
    """The store's database could not be reached within the retry budget
    (``SAGETUNE_STORE_RETRY_SECONDS``); nothing of the failed operation is half done."""


class LeaseLost(RuntimeError):
    """Another tuner took a tuning job over while this process could not reach the store, or
    was suspended, for longer than its lease: this process must write nothing more for that
    job (the store's record is the new tuner's) and stop."""


class StoreNotWritable(StoreUnavailable):
    """The store can be read but not written: it was opened read-only (``?mode=ro``, a file
    or folder without write permission) or its disk is full. Nothing of the failed write is
    stored; a tuner stops as when the store is unreachable."""


class ExecutorUnavailable(RuntimeError):
    """Where a tuning job's training jobs run can no longer be reached (its Ray cluster went
    away): the tuning job is stopped with the reason, its running jobs recorded interrupted,
    and ``sagetune resume`` takes it up again once the cluster is back."""
