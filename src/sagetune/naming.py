"""Names and ARNs in SageMaker's form, with a local account and region."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime

REGION = "local"
ACCOUNT = "000000000000"


def tuning_job_arn(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/{name.lower()}"


def training_job_arn(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name.lower()}"


def training_job_name(tuning_job_name: str, seq: int) -> str:
    """``<tuning job>-<NNN>-<8 hex>`` as SageMaker names a tuning job's training jobs."""
    digest = hashlib.sha1(f"{tuning_job_name}/{seq}".encode()).hexdigest()[:8]
    return f"{tuning_job_name}-{seq:03d}-{digest}"


def name_from_base(base: str, now: float | None = None) -> str:
    """``<base>-<yymmdd-HHMMSS>-<4 hex>``, the base cut so the name fits SageMaker's 32."""
    stamp = time.strftime("%y%m%d-%H%M%S", time.gmtime(now))
    suffix = f"-{stamp}-{secrets.token_hex(2)}"
    return base[: 32 - len(suffix)].rstrip("-") + suffix


def to_datetime(t: float | None) -> datetime | None:
    """A store time as an aware UTC datetime (what boto3 returns)."""
    return None if t is None else datetime.fromtimestamp(t, tz=UTC)
