"""``CheckpointConfig`` for script training jobs: the local checkpoint folder and its sync.

A training job's checkpoint folder is ``<job folder>/checkpoints``, the local equivalent of
SageMaker's ``/opt/ml/checkpoints``; the script finds it in ``SM_CHECKPOINT_DIR``. Before
each start of the job's process, what ``CheckpointConfig.S3Uri`` holds is synced down into it;
whenever the process ends (completed, failed, stopped, or reclaimed by a simulated spot
interruption) the folder is synced up to ``S3Uri``.

Each training job of a tuning job has its own folder under ``S3Uri``,
``<S3Uri>/<training job name>`` (:func:`job_uri`), so that a job never resumes from the
checkpoints of another job, trained with other hyperparameters.

``S3Uri`` may be a local path (relative ones from the request file's folder), a ``file://``
URL, or an ``s3://`` URI; :mod:`sagetune.s3` syncs all three alike: new and changed files
are copied, nothing is deleted, as ``aws s3 sync`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sagetune import s3

CHECKPOINT_FOLDER = "checkpoints"
SAGEMAKER_CHECKPOINT_PATH = "/opt/ml/checkpoints"


class CheckpointSyncError(Exception):
    """A checkpoint sync failed; the message names the URI (the job's failure reason)."""


@dataclass(frozen=True)
class CheckpointSettings:
    """A validated ``CheckpointConfig``.

    Attributes:
        uri: ``S3Uri`` as given (an ``s3://`` URI, a ``file://`` URL or a path).
        base_dir: the folder relative paths are read from (the request file's).
        local_path: ``LocalPath`` as given. A local job always keeps its checkpoints in
            ``<job folder>/checkpoints`` (``SM_CHECKPOINT_DIR``), whatever it says.
    """

    uri: str
    base_dir: Path
    local_path: str | None = None


def job_uri(settings: CheckpointSettings, training_job_name: str) -> str:
    """Where one training job's checkpoints are kept: ``<S3Uri>/<training job name>``."""
    return f"{settings.uri.rstrip('/')}/{training_job_name}"


def checkpoint_dir(job_dir: Path) -> Path:
    """The job's checkpoint folder (the local ``/opt/ml/checkpoints``)."""
    return job_dir / CHECKPOINT_FOLDER


def parse_checkpoint_config(
    raw: Any, base_dir: Path, path: str, errors: list[str]
) -> CheckpointSettings | None:
    """Validate ``CheckpointConfig`` (None when absent or invalid; errors are appended).

    The service model check has already required ``S3Uri`` and typed both members.
    """
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        errors.append(f"{path}: must be an object {{S3Uri, LocalPath}}, got {raw!r:.80}")
        return None
    uri = raw.get("S3Uri")
    if not isinstance(uri, str) or not uri:
        errors.append(f"{path}.S3Uri: is required (an s3:// URI, a file:// URL or a path)")
        return None
    scheme = urlparse(uri).scheme
    if scheme not in ("", "file", "s3"):
        errors.append(
            f"{path}.S3Uri: {scheme}:// locations cannot be used locally; give an s3:// URI, "
            f"a file:// URL or a local path, got {uri!r}"
        )
        return None
    local_path = raw.get("LocalPath")
    if local_path is not None and not isinstance(local_path, str):
        errors.append(f"{path}.LocalPath: must be a string, got {local_path!r:.80}")
        return None
    return CheckpointSettings(uri, base_dir, local_path)


def sync_down(uri: str, local_dir: Path, *, base_dir: Path | None = None) -> int:
    """Bring what ``uri`` holds into ``local_dir``; the number of files copied.

    Raises:
        CheckpointSyncError: naming the URI.
    """
    local_dir.mkdir(parents=True, exist_ok=True)
    try:
        return s3.sync_down(uri, local_dir, base_dir=base_dir)
    except Exception as exc:  # noqa: BLE001 - any failure fails the job, with its reason
        raise CheckpointSyncError(
            f"ClientError: could not download the checkpoints from {uri!r}: {exc}"
        ) from exc


def sync_up(local_dir: Path, uri: str, *, base_dir: Path | None = None) -> int:
    """Copy ``local_dir``'s new or changed files to ``uri``; the number of files copied.

    Raises:
        CheckpointSyncError: naming the URI.
    """
    try:
        return s3.sync_up(local_dir, uri, base_dir=base_dir)
    except Exception as exc:  # noqa: BLE001 - any failure fails the job, with its reason
        raise CheckpointSyncError(
            f"ClientError: could not upload the checkpoints to {uri!r}: {exc}"
        ) from exc
