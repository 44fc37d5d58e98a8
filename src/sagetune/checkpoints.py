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
URL, or an ``s3://`` URI; only the last needs :mod:`sagetune.s3`, imported when it is used.
Locally a sync copies the files whose size or modification time differ from the other side's
(files are never deleted), as ``aws s3 sync`` does.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

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


def _local(uri: str, base_dir: Path | None) -> Path | None:
    """The folder a local path or ``file://`` URL names (None for an ``s3://`` URI)."""
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        return None
    local = Path(parsed.path if parsed.scheme == "file" else uri).expanduser()
    if not local.is_absolute() and base_dir is not None:
        local = base_dir / local
    return local


def _copy_changed(src: Path, dst: Path) -> int:
    """Copy every file under ``src`` whose size or mtime differs at ``dst``; the count."""
    if not src.is_dir():
        return 0
    copied = 0
    for root, _dirs, files in os.walk(src):
        for name in files:
            source = Path(root) / name
            target = dst / source.relative_to(src)
            s = source.stat()
            try:
                t = target.stat()
                if t.st_size == s.st_size and t.st_mtime_ns == s.st_mtime_ns:
                    continue
            except FileNotFoundError:
                pass
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.sagetune-partial")
            shutil.copy2(source, tmp)
            os.replace(tmp, target)
            copied += 1
    return copied


def sync_down(uri: str, local_dir: Path, *, base_dir: Path | None = None) -> int:
    """Bring what ``uri`` holds into ``local_dir``; the number of files copied.

    Raises:
        CheckpointSyncError: naming the URI.
    """
    local_dir.mkdir(parents=True, exist_ok=True)
    try:
        source = _local(uri, base_dir)
        if source is None:
            s3: Any = importlib.import_module("sagetune.s3")
            return int(s3.sync_down(uri, local_dir, base_dir=base_dir))
        return _copy_changed(source, local_dir)
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
        target = _local(uri, base_dir)
        if target is None:
            s3: Any = importlib.import_module("sagetune.s3")
            return int(s3.sync_up(local_dir, uri, base_dir=base_dir))
        target.mkdir(parents=True, exist_ok=True)
        return _copy_changed(local_dir, target)
    except Exception as exc:  # noqa: BLE001 - any failure fails the job, with its reason
        raise CheckpointSyncError(
            f"ClientError: could not upload the checkpoints to {uri!r}: {exc}"
        ) from exc
