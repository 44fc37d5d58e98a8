"""Model artifacts: ``model.tar.gz`` and ``output.tar.gz`` of each training job, and the best
job's model.

As in SageMaker, when a training job ends (Completed, or Stopped after it trained) the files
its code left in its model folder (``/opt/ml/model``; here ``<job folder>/model``) are packed
into ``model.tar.gz``, with the files at the archive's top level, and ``output/data`` into
``output.tar.gz``. Both are written to the job folder's ``output/`` and, when the training
job definition names an ``OutputDataConfig.S3OutputPath``, copied to
``{S3OutputPath}/{training job}/output/`` (S3 or a local folder). Without one, answers show
``s3://sagetune-local/{tuning job}/{training job}/output/model.tar.gz``: the placeholder bucket
``sagetune-local`` stands for the store's job folders, which is where the file is.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

MODEL_ARCHIVE = "model.tar.gz"
OUTPUT_ARCHIVE = "output.tar.gz"
LOCAL_BUCKET = "sagetune-local"


def _pack(folder: Path, archive: Path) -> None:
    """``folder``'s files at the top level of a gzipped tar, written atomically.

    Raises:
        OSError: the archive could not be written; a failed write names the archive (its
            temporary file's descriptor would name no file).
    """
    tmp: str | None = None
    try:
        archive.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=archive.parent, prefix=f".{archive.name}.")
        os.close(fd)
        with tarfile.open(tmp, "w:gz") as tar:
            if folder.is_dir():
                for child in sorted(folder.iterdir()):
                    tar.add(child, arcname=child.name)
        os.replace(tmp, archive)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(archive)) from exc
        raise
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


def pack(job_dir: Path) -> Path:
    """Pack a finished job's ``model/`` and ``output/data/``; returns ``model.tar.gz``."""
    output = job_dir / "output"
    _pack(job_dir / "output" / "data", output / OUTPUT_ARCHIVE)
    model = output / MODEL_ARCHIVE
    _pack(job_dir / "model", model)
    return model


def publish(job_dir: Path, training_job_name: str, output_path: str | None) -> None:
    """Pack the job's artifacts and copy them under ``output_path`` (when given).

    Raises:
        sagetune.s3.StorageError: the copy failed (the message names the destination).
    """
    pack(job_dir)
    upload(job_dir, training_job_name, output_path)


def upload(job_dir: Path, training_job_name: str, output_path: str | None) -> None:
    """Copy a job's packed archives under ``output_path`` (when given); for archives packed
    elsewhere (a Ray node) and brought back into the job's folder.

    Raises:
        sagetune.s3.StorageError: the copy failed (the message names the destination).
    """
    if output_path is None:
        return
    from sagetune import s3  # boto3 only for jobs that write somewhere

    output = job_dir / "output"
    prefix = f"{output_path.rstrip('/')}/{training_job_name}/output"
    for archive in (MODEL_ARCHIVE, OUTPUT_ARCHIVE):
        if (output / archive).is_file():
            s3.put_file(output / archive, f"{prefix}/{archive}")


def model_uri(output_path: str, training_job_name: str) -> str:
    """``ModelArtifacts.S3ModelArtifacts`` of a training job."""
    return f"{output_path.rstrip('/')}/{training_job_name}/output/{MODEL_ARCHIVE}"


def unpack(archive: Path, dest: Path) -> Path:
    """Unpack a ``model.tar.gz`` into ``dest`` (members that would land outside it are
    refused by tarfile's data filter)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest


def fetch_model(job_dir: Path, uri: str, dest: Path) -> Path:
    """A training job's model, unpacked into ``dest``: from its job folder when the archive
    is there, else from ``uri`` (S3 or a local path)."""
    local = job_dir / "output" / MODEL_ARCHIVE
    if not local.is_file():
        if uri.startswith(f"s3://{LOCAL_BUCKET}/"):
            raise FileNotFoundError(
                f"{uri}: the training job's model.tar.gz is not in its folder {job_dir}"
            )
        from sagetune import s3

        with tempfile.TemporaryDirectory() as tmp:
            archive = s3.fetch_file(uri, Path(tmp) / MODEL_ARCHIVE)
            return unpack(archive, dest)
    return unpack(local, dest)
