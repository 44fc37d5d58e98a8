"""Reading and writing SageMaker locations: ``s3://`` URIs, ``file://`` URLs and local paths.

Training jobs read input channels, source tarballs and checkpoints from locations and write
their model archives to one. ``s3://`` goes through boto3 with the standard configuration
(``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``, profiles, credentials, region); anything else is
a local file or folder.

Input channels in File mode follow SageMaker's ``S3DataSource.S3DataType``:

- ``S3Prefix``: every object whose key starts with the prefix, each placed at its key with the
  prefix removed (the prefix's partial last segment too: ``s3://b/data/tr`` puts
  ``data/train/x.csv`` at ``x.csv``); an object the URI names exactly keeps its base name.
- ``ManifestFile``: the URI is a JSON array ``[{"prefix": "s3://b/p/"}, "rel/key", ...]``; each
  ``prefix + rel/key`` object is placed at ``rel/key``.
- ``AugmentedManifestFile`` (Pipe mode only in SageMaker) is refused.

Downloaded objects are cached per tuning job by ETag, so the many training jobs of one tuning
job download each object once and share it through hard links.
"""

from __future__ import annotations

import contextlib
import errno
import filecmp
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

DATA_TYPES = ("S3Prefix", "ManifestFile", "AugmentedManifestFile")
# s3transfer's defaults: objects larger than this are uploaded in parts of this size, which
# makes their ETag the MD5 of the parts' MD5s rather than the MD5 of the content.
_MULTIPART_CHUNK = 8 * 1024 * 1024
_READ_CHUNK = 1024 * 1024


class StorageError(Exception):
    """A location could not be read or written; the message names the URI and the reason."""


def is_s3(uri: str) -> bool:
    """Whether ``uri`` is an ``s3://`` URI (anything else is local)."""
    return uri.startswith("s3://")


_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # S3 itself judges the length


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/key/prefix`` as ``("bucket", "key/prefix")`` (the key may be empty).

    Raises:
        StorageError: not an ``s3://`` URI, or its bucket name is missing or malformed.
    """
    if not is_s3(uri):
        raise StorageError(f"{uri}: not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise StorageError(f"{uri}: the URI names no bucket (expected s3://bucket/key)")
    if not _BUCKET.fullmatch(bucket):
        raise StorageError(f"{uri}: {bucket!r} is not a valid bucket name")
    return bucket, key


def local_path(uri: str, base_dir: Path | None = None) -> Path:
    """The local path a ``file://`` URL or a path names; a relative one is taken relative to
    ``base_dir`` (when given), ``~`` is expanded.

    Raises:
        StorageError: an ``s3://`` URI, a URL of another scheme or a ``file://`` URL of
            another host.
    """
    if is_s3(uri):
        raise StorageError(f"{uri}: an s3:// URI, not a local path")
    if "://" in uri:
        parsed = urlparse(uri)
        if parsed.scheme.lower() != "file":
            raise StorageError(
                f"{uri}: unsupported scheme {parsed.scheme!r} (use s3://, file:// or a path)"
            )
        if parsed.netloc not in ("", "localhost"):
            raise StorageError(f"{uri}: file:// URLs of another host are not supported")
        path = Path(url2pathname(unquote(parsed.path)))
    else:
        path = Path(uri).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


# --- the client -------------------------------------------------------------------------------

_local = threading.local()


def _client_config() -> Config:
    # Standard retry mode (backoff with jitter, retries throttling) unless AWS_RETRY_MODE /
    # AWS_MAX_ATTEMPTS say otherwise: botocore fills keys missing here from the environment.
    retries: dict[str, Any] = {}
    if not os.environ.get("AWS_RETRY_MODE"):
        retries["mode"] = "standard"
    if not os.environ.get("AWS_MAX_ATTEMPTS"):
        retries["max_attempts"] = 4
    return Config(retries=retries, connect_timeout=10, read_timeout=60, tcp_keepalive=True)


def client() -> Any:
    """A boto3 S3 client for this thread, configured from the environment as the AWS CLI is
    (``AWS_ENDPOINT_URL_S3``, ``AWS_PROFILE``, credentials, region, ``AWS_MAX_ATTEMPTS``)."""
    # boto3 sessions are not thread-safe, so each thread gets its own; the client is rebuilt
    # when the AWS_* environment changed since (a new endpoint or profile must take effect).
    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    cached = getattr(_local, "client", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    # A missing profile or region raises here; the operations turn that into a StorageError.
    s3 = boto3.session.Session().client("s3", config=_client_config())
    _local.client = (key, s3)
    return s3


def _endpoint() -> str:
    cached = getattr(_local, "client", None)
    if cached is not None:
        return str(cached[1].meta.endpoint_url)
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or "S3"


def _connection_reason(exc: Exception) -> str:
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return "timed out"
    text = str(getattr(exc, "kwargs", {}).get("error") or exc)
    found = re.search(r"\[Errno -?\d+\][^'\">)]*", text)
    return found.group(0).strip() if found else "the connection failed"


def _storage_error(uri: str, exc: Exception) -> StorageError:
    """A botocore failure as one line naming the URI (never botocore's own text dump)."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return StorageError(
            f"{uri}: no AWS credentials found; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE to a profile in ~/.aws/config"
        )
    if isinstance(exc, ProfileNotFound):
        return StorageError(f"{uri}: {exc} (check AWS_PROFILE and ~/.aws/config)")
    if isinstance(exc, NoRegionError):
        return StorageError(f"{uri}: no AWS region configured; set AWS_DEFAULT_REGION")
    if isinstance(
        exc,
        EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError | ConnectionClosedError,
    ):
        return StorageError(
            f"{uri}: could not reach the S3 endpoint {_endpoint()}: {_connection_reason(exc)}"
        )
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        bucket = uri[len("s3://") :].partition("/")[0] if is_s3(uri) else ""
        if code == "NoSuchBucket":
            return StorageError(f"{uri}: no such bucket {bucket!r}")
        if code in ("NoSuchKey", "404", "NotFound"):
            return StorageError(f"{uri}: no such object")
        if code in ("AccessDenied", "403", "Forbidden", "AllAccessDisabled"):
            return StorageError(f"{uri}: access denied")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
            return StorageError(f"{uri}: the AWS credentials were refused ({code})")
        if code in ("PreconditionFailed", "412"):
            return StorageError(f"{uri}: the object changed while it was read; try again")
        message = err.get("Message") or f"HTTP {status}"
        return StorageError(f"{uri}: {code or 'error'}: {message}")
    if isinstance(exc, OSError):
        return StorageError(f"{uri}: {exc.strerror or exc}")
    return StorageError(f"{uri}: {exc}")


@contextlib.contextmanager
def _errors(uri: str) -> Iterator[None]:
    """Turns botocore and file system failures into a StorageError naming ``uri``."""
    try:
        yield
    except StorageError:
        raise
    except (BotoCoreError, ClientError, OSError) as exc:
        raise _storage_error(uri, exc) from None


# --- listing and downloading ------------------------------------------------------------------


def _list(bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    """Every object under ``prefix`` (all pages), folder markers left out."""
    pages = client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith("/"):
                yield obj


def _relative_key(key: str, prefix: str) -> str:
    """Where an object listed under ``prefix`` goes in the channel folder, as SageMaker
    places it: the key after the prefix, and after the rest of the prefix's last segment."""
    if key == prefix:
        return PurePosixPath(key).name
    rest = key[len(prefix) :]
    if prefix == "" or prefix.endswith("/"):
        return rest
    head, sep, tail = rest.partition("/")
    return tail if sep else PurePosixPath(key).name


def _safe_target(dest: Path, relative: str, uri: str) -> Path:
    """``dest / relative``, refused when it would land outside ``dest`` (``..``, absolute)."""
    parts = PurePosixPath(relative).parts
    if not relative or relative.startswith("/") or ".." in parts:
        raise StorageError(f"{uri}: refusing {relative!r}, which would be written outside {dest}")
    target = dest.joinpath(*parts)
    if not target.resolve().is_relative_to(dest.resolve()):
        raise StorageError(f"{uri}: refusing {relative!r}, which would be written outside {dest}")
    return target


def _temp_beside(path: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.", suffix=".part")
    os.close(fd)
    return Path(name)


def _download(
    bucket: str, key: str, path: Path, etag: str | None, *, read_only: bool = False
) -> None:
    """The object written to ``path`` through a temporary file, so that ``path`` is either
    absent or complete; with ``etag``, only that version (never a newer one under its name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(path)
    try:
        extra = {"IfMatch": etag} if etag else {}
        body = client().get_object(Bucket=bucket, Key=key, **extra)["Body"]
        with open(tmp, "wb") as out:
            for chunk in body.iter_chunks(_READ_CHUNK):
                out.write(chunk)
        if read_only:
            tmp.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# One lock per cache entry: threads of one process fetching the same object wait for the first
# one's download instead of downloading it again (processes are kept apart by the rename).
_cache_locks: dict[Path, threading.Lock] = {}
_cache_locks_guard = threading.Lock()


def _cache_lock(path: Path) -> threading.Lock:
    with _cache_locks_guard:
        return _cache_locks.setdefault(path, threading.Lock())


def _cached(bucket: str, key: str, etag: str, cache_dir: Path) -> Path:
    """The cache's read-only copy of one object version, downloaded when missing."""
    key_hash = hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:32]
    version = hashlib.sha256(etag.encode()).hexdigest()[:16]
    path = cache_dir / f"{key_hash}-{version}"
    with _cache_lock(path):
        if not path.is_file():
            # Read-only: every job's hard link shares this inode; no script may alter it.
            _download(bucket, key, path, etag, read_only=True)
    return path


def _place(cached: Path, target: Path) -> None:
    """``cached`` at ``target`` as a hard link, or a copy where linking is impossible."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.is_file():
        target.unlink()
    try:
        os.link(cached, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            raise
        _copy_atomically(cached, target)


def _fetch_object(
    bucket: str, key: str, etag: str | None, target: Path, cache_dir: Path | None
) -> None:
    if cache_dir is None:
        _download(bucket, key, target, None)
        return
    if etag is None:
        etag = client().head_object(Bucket=bucket, Key=key)["ETag"]
    _place(_cached(bucket, key, etag, cache_dir), target)


# --- public operations ------------------------------------------------------------------------


def fetch_channel(
    uri: str,
    dest: Path,
    *,
    data_type: str = "S3Prefix",
    cache_dir: Path,
    base_dir: Path | None = None,
) -> int:
    """Materialise one File-mode input channel into the folder `dest` (SageMaker's
    /opt/ml/input/data/<channel>); returns the number of files.

    S3 objects are downloaded once into ``cache_dir`` (one tuning job's cache, keyed by bucket,
    key and ETag) and hard-linked into ``dest``. A local folder becomes ``dest`` itself as a
    symlink; a local file is symlinked as ``dest/<name>``.

    Raises:
        StorageError: an unknown or unsupported ``data_type``, a missing bucket, object or
            local path, an empty prefix, a malformed manifest, a key that would land outside
            ``dest``, or any S3 failure.
    """
    if data_type not in DATA_TYPES:
        raise StorageError(
            f"{uri}: unknown S3DataType {data_type!r} (expected one of {', '.join(DATA_TYPES)})"
        )
    if data_type == "AugmentedManifestFile":
        raise StorageError(
            f"{uri}: S3DataType AugmentedManifestFile is not supported locally "
            "(SageMaker streams it in Pipe mode only)"
        )
    with _errors(uri):
        if data_type == "ManifestFile":
            return _fetch_manifest(uri, dest, cache_dir, base_dir)
        if not is_s3(uri):
            return _link_local(uri, dest, base_dir)
        bucket, prefix = split_s3(uri)
        dest.mkdir(parents=True, exist_ok=True)
        count = 0
        for obj in _list(bucket, prefix):
            target = _safe_target(dest, _relative_key(obj["Key"], prefix), uri)
            _fetch_object(bucket, obj["Key"], obj["ETag"], target, cache_dir)
            count += 1
        if count == 0:
            raise StorageError(f"{uri}: no objects under this prefix")
        return count


def _link_local(uri: str, dest: Path, base_dir: Path | None) -> int:
    source = local_path(uri, base_dir).resolve()
    if not source.exists():
        raise StorageError(f"{uri}: no such file or folder ({source})")
    if source.is_dir():
        # The folder itself, as sagetune always did: nothing is copied, however large.
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        elif dest.is_dir():
            dest.rmdir()  # an empty placeholder; a folder with content is an error
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.symlink_to(source, target_is_directory=True)
        return sum(len(files) for _, _, files in os.walk(source))
    dest.mkdir(parents=True, exist_ok=True)
    link = dest / source.name
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(source)
    return 1


def _read_manifest(uri: str, base_dir: Path | None) -> tuple[str, list[str]]:
    if is_s3(uri):
        bucket, key = split_s3(uri)
        raw = client().get_object(Bucket=bucket, Key=key)["Body"].read()
    else:
        raw = local_path(uri, base_dir).read_bytes()
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise StorageError(f"{uri}: the manifest is not JSON ({exc})") from None
    if (
        not isinstance(manifest, list)
        or not manifest
        or not isinstance(manifest[0], dict)
        or not isinstance(manifest[0].get("prefix"), str)
        or not all(isinstance(e, str) for e in manifest[1:])
    ):
        raise StorageError(
            f'{uri}: a manifest is a JSON array [{{"prefix": "s3://bucket/prefix/"}}, '
            '"relative/key", ...]'
        )
    return manifest[0]["prefix"], manifest[1:]


def _fetch_manifest(uri: str, dest: Path, cache_dir: Path, base_dir: Path | None) -> int:
    prefix, entries = _read_manifest(uri, base_dir)
    if not entries:
        raise StorageError(f"{uri}: the manifest lists no objects")
    # A relative local prefix is relative to a local manifest's folder.
    manifest_dir = None if is_s3(uri) else local_path(uri, base_dir).parent
    dest.mkdir(parents=True, exist_ok=True)
    for rel in entries:
        target = _safe_target(dest, rel, uri)
        if is_s3(prefix):
            bucket, key_prefix = split_s3(prefix)
            with _errors(prefix + rel):
                _fetch_object(bucket, key_prefix + rel, None, target, cache_dir)
        else:
            source = local_path(prefix + rel, manifest_dir or base_dir).resolve()
            if not source.is_file():
                raise StorageError(f"{uri}: {prefix + rel}: no such file ({source})")
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                target.unlink()
            target.symlink_to(source)
    return len(entries)


def fetch_file(
    uri: str, dest: Path, *, cache_dir: Path | None = None, base_dir: Path | None = None
) -> Path:
    """One object or local file (e.g. a ``sourcedir.tar.gz``) at ``dest``; an existing folder
    ``dest`` gets it under its base name. Returns the path written.

    With ``cache_dir``, an S3 object is downloaded once per ETag and hard-linked (read-only).

    Raises:
        StorageError: the object or file is missing, or any S3 failure.
    """
    with _errors(uri):
        if is_s3(uri):
            bucket, key = split_s3(uri)
            if not key or key.endswith("/"):
                raise StorageError(f"{uri}: names a prefix, not an object")
            target = dest / PurePosixPath(key).name if dest.is_dir() else dest
            _fetch_object(bucket, key, None, target, cache_dir)
            return target
        source = local_path(uri, base_dir)
        if not source.is_file():
            raise StorageError(f"{uri}: no such file ({source})")
        target = dest / source.name if dest.is_dir() else dest
        _copy_atomically(source, target)
        return target


def _copy_atomically(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(target)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def put_file(src: Path, uri: str, *, base_dir: Path | None = None) -> None:
    """``src`` uploaded to ``uri`` (S3) or copied there (local, parent folders created); a
    URI ending in ``/`` (or naming a local folder) gets it under its base name.

    Raises:
        StorageError: ``src`` is missing, or any S3 or file system failure.
    """
    with _errors(uri):
        if not src.is_file():
            raise StorageError(f"{uri}: nothing to upload, {src} is not a file")
        if is_s3(uri):
            bucket, key = split_s3(uri)
            if not key or key.endswith("/"):
                key += src.name
            client().upload_file(str(src), bucket, key)
            return
        target = local_path(uri, base_dir)
        if uri.endswith("/") or target.is_dir():
            target = target / src.name
        _copy_atomically(src, target)


def _md5_etags(path: Path) -> set[str]:
    """The ETags S3 gives ``path``'s content: the MD5 for a single-part upload, and for a
    multipart one with s3transfer's part size the MD5 of the parts' MD5s, ``-<parts>``."""
    whole = hashlib.md5(usedforsecurity=False)
    parts: list[bytes] = []
    with open(path, "rb") as f:
        while chunk := f.read(_MULTIPART_CHUNK):
            whole.update(chunk)
            parts.append(hashlib.md5(chunk, usedforsecurity=False).digest())
    etags = {f'"{whole.hexdigest()}"'}
    if len(parts) > 1:
        joined = hashlib.md5(b"".join(parts), usedforsecurity=False).hexdigest()
        etags.add(f'"{joined}-{len(parts)}"')
    return etags


def _same_as_object(path: Path, obj: dict[str, Any]) -> bool:
    # An ETag that is not an MD5 (SSE-KMS, other part sizes) never matches: the file is copied
    # again, which is wasteful but never wrong.
    return path.stat().st_size == obj["Size"] and obj["ETag"] in _md5_etags(path)


def _as_prefix(key: str) -> str:
    return key if key == "" or key.endswith("/") else key + "/"


def _local_files(folder: Path) -> Iterator[tuple[str, Path]]:
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            path = Path(root) / name
            yield path.relative_to(folder).as_posix(), path


def sync_up(local_dir: Path, uri: str, *, base_dir: Path | None = None) -> int:
    """Mirror the folder ``local_dir`` to the prefix (or local folder) ``uri``, as SageMaker
    does with checkpoints: files new or changed in size or content are uploaded, nothing
    remote is deleted. Returns the number of files uploaded.

    Raises:
        StorageError: any S3 or file system failure.
    """
    if not local_dir.is_dir():
        return 0
    count = 0
    with _errors(uri):
        if is_s3(uri):
            bucket, key = split_s3(uri)
            prefix = _as_prefix(key)
            remote = {obj["Key"]: obj for obj in _list(bucket, prefix)}
            for rel, path in _local_files(local_dir):
                obj = remote.get(prefix + rel)
                if obj is None or not _same_as_object(path, obj):
                    client().upload_file(str(path), bucket, prefix + rel)
                    count += 1
            return count
        target_dir = local_path(uri, base_dir)
        for rel, path in _local_files(local_dir):
            target = target_dir / rel
            if not target.is_file() or not filecmp.cmp(path, target, shallow=False):
                _copy_atomically(path, target)
                count += 1
        return count


def sync_down(uri: str, local_dir: Path, *, base_dir: Path | None = None) -> int:
    """Mirror the prefix (or local folder) ``uri`` into the folder ``local_dir``, as SageMaker
    restores checkpoints: files missing or different locally are downloaded; a missing prefix
    is nothing to do. Returns the number of files written.

    Raises:
        StorageError: a key that would land outside ``local_dir``, a missing bucket, or any
            S3 or file system failure.
    """
    count = 0
    with _errors(uri):
        if is_s3(uri):
            bucket, key = split_s3(uri)
            prefix = _as_prefix(key)
            for obj in _list(bucket, prefix):
                target = _safe_target(local_dir, obj["Key"][len(prefix) :], uri)
                if not target.is_file() or not _same_as_object(target, obj):
                    _download(bucket, obj["Key"], target, obj["ETag"])
                    count += 1
            return count
        source_dir = local_path(uri, base_dir)
        if not source_dir.is_dir():
            return 0
        for rel, path in _local_files(source_dir):
            target = local_dir / rel
            if not target.is_file() or not filecmp.cmp(path, target, shallow=False):
                _copy_atomically(path, target)
                count += 1
        return count
