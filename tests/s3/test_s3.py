"""sagetune.s3 against a real S3 API (moto's server on loopback) and the local file system."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagetune import s3
from sagetune.s3 import StorageError


class Calls:
    """Counts the S3 operations sagetune's client of this thread sends."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        self.names.append(model.name)

    def count(self, name: str) -> int:
        return self.names.count(name)


@pytest.fixture
def calls(s3_env: Any) -> Iterator[Calls]:
    counter = Calls()
    events = s3.client().meta.events
    events.register("before-call.s3", counter)
    yield counter
    events.unregister("before-call.s3", counter)


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- URIs -------------------------------------------------------------------------------------


def test_split_and_local_path(tmp_path: Path) -> None:
    assert s3.is_s3("s3://b/k") and not s3.is_s3("/data") and not s3.is_s3("file:///x")
    assert s3.split_s3("s3://bucket/some/prefix/") == ("bucket", "some/prefix/")
    assert s3.split_s3("s3://bucket") == ("bucket", "")
    for bad in ("s3://", "s3:///key", "s3://b!d/key", "/local"):
        with pytest.raises(StorageError, match="s3://|not an s3"):
            s3.split_s3(bad)
    assert s3.local_path("file:///data/x%20y") == Path("/data/x y")
    assert s3.local_path("data/train", tmp_path) == tmp_path / "data" / "train"
    assert s3.local_path("/abs", tmp_path) == Path("/abs")
    with pytest.raises(StorageError, match="unsupported scheme 'http'"):
        s3.local_path("http://example.com/x")
    with pytest.raises(StorageError, match="another host"):
        s3.local_path("file://server/share/x")


# --- input channels ---------------------------------------------------------------------------


def test_s3_prefix_downloads_a_nested_prefix(s3_env: Any, tmp_path: Path) -> None:
    s3_env.bucket(
        "data",
        {
            "train/a.csv": "a",
            "train/sub/b.csv": "b",
            "train/sub/deeper/c.csv": "c",
            "train/empty-folder/": "",  # a console "folder": never a file
            "validation/v.csv": "v",
        },
    )
    dest = tmp_path / "job1" / "input" / "data" / "train"
    n = s3.fetch_channel("s3://data/train", dest, cache_dir=tmp_path / "cache")
    assert n == 3
    assert files_under(dest) == {"a.csv": b"a", "sub/b.csv": b"b", "sub/deeper/c.csv": b"c"}
    # The same with a trailing slash, and a partial last segment ("tr") as SageMaker matches it.
    for uri in ("s3://data/train/", "s3://data/tr"):
        other = tmp_path / uri.rsplit("/", 1)[-1] / "train"
        assert s3.fetch_channel(uri, other, cache_dir=tmp_path / "cache") == 3
        assert files_under(other) == files_under(dest)


def test_s3_prefix_naming_one_object_keeps_its_name(s3_env: Any, tmp_path: Path) -> None:
    s3_env.bucket("data", {"sets/train.csv": "1,2\n", "sets/test.csv": "3,4\n"})
    dest = tmp_path / "train"
    assert s3.fetch_channel("s3://data/sets/train.csv", dest, cache_dir=tmp_path / "c") == 1
    assert files_under(dest) == {"train.csv": b"1,2\n"}


def test_manifest_file(s3_env: Any, tmp_path: Path) -> None:
    s3_env.bucket("data", {"raw/x/1.bin": b"\x01", "raw/y/2.bin": b"\x02", "raw/z/3.bin": b"\x03"})
    manifest = [{"prefix": "s3://data/raw/"}, "x/1.bin", "z/3.bin"]
    s3_env.bucket("meta", {"train.manifest": json.dumps(manifest)})
    dest = tmp_path / "train"
    n = s3.fetch_channel(
        "s3://meta/train.manifest", dest, data_type="ManifestFile", cache_dir=tmp_path / "c"
    )
    assert n == 2
    assert files_under(dest) == {"x/1.bin": b"\x01", "z/3.bin": b"\x03"}

    s3_env.put("meta", "bad.manifest", json.dumps([{"prefix": "s3://data/raw/"}, "y/missing"]))
    with pytest.raises(StorageError, match=r"s3://data/raw/y/missing: no such object"):
        s3.fetch_channel(
            "s3://meta/bad.manifest", tmp_path / "bad", data_type="ManifestFile", cache_dir=tmp_path
        )
    s3_env.put("meta", "odd.manifest", json.dumps({"prefix": "s3://data/raw/"}))
    with pytest.raises(StorageError, match=r"s3://meta/odd.manifest: a manifest is a JSON array"):
        s3.fetch_channel(
            "s3://meta/odd.manifest", tmp_path / "odd", data_type="ManifestFile", cache_dir=tmp_path
        )


def test_local_manifest_with_a_local_prefix(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "x").mkdir(parents=True)
    (raw / "x" / "1.txt").write_text("one")
    (raw / "2.txt").write_text("two")
    manifest = tmp_path / "train.manifest"
    manifest.write_text(json.dumps([{"prefix": raw.as_uri() + "/"}, "x/1.txt", "2.txt"]))
    dest = tmp_path / "job" / "train"
    n = s3.fetch_channel(
        manifest.as_uri(), dest, data_type="ManifestFile", cache_dir=tmp_path / "cache"
    )
    assert n == 2 and files_under(dest) == {"x/1.txt": b"one", "2.txt": b"two"}


def test_augmented_manifest_and_unknown_types_are_refused(tmp_path: Path) -> None:
    for data_type, message in [
        ("AugmentedManifestFile", "S3DataType AugmentedManifestFile is not supported locally"),
        ("Prefix", "unknown S3DataType 'Prefix'"),
    ]:
        with pytest.raises(StorageError, match=f"s3://b/m: {message}"):
            s3.fetch_channel("s3://b/m", tmp_path, data_type=data_type, cache_dir=tmp_path)


def test_local_channels_are_symlinked(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("a")
    (folder / "sub" / "b.csv").write_text("b")
    dest = tmp_path / "job" / "input" / "data" / "train"
    dest.mkdir(parents=True)  # an empty placeholder is replaced
    assert s3.fetch_channel("data", dest, cache_dir=tmp_path / "c", base_dir=tmp_path) == 2
    assert dest.is_symlink() and dest.resolve() == folder.resolve()

    single = tmp_path / "one.csv"
    single.write_text("1")
    dest2 = tmp_path / "job" / "input" / "data" / "one"
    assert s3.fetch_channel(single.as_uri(), dest2, cache_dir=tmp_path / "c") == 1
    assert (dest2 / "one.csv").is_symlink() and (dest2 / "one.csv").read_text() == "1"

    with pytest.raises(StorageError, match="missing: no such file or folder"):
        s3.fetch_channel("missing", tmp_path / "x", cache_dir=tmp_path, base_dir=tmp_path)


# --- the cache --------------------------------------------------------------------------------


def test_a_second_fetch_is_served_from_the_cache(s3_env: Any, calls: Calls, tmp_path: Path) -> None:
    s3_env.bucket("data", {"train/a.csv": "a" * 1000, "train/b/c.csv": "c"})
    cache = tmp_path / "tuning-job-cache"
    job1 = tmp_path / "job1" / "train"
    job2 = tmp_path / "job2" / "train"

    assert s3.fetch_channel("s3://data/train/", job1, cache_dir=cache) == 2
    assert calls.count("GetObject") == 2
    assert s3.fetch_channel("s3://data/train/", job2, cache_dir=tmp_path / "other-cache") == 2
    assert calls.count("GetObject") == 4  # another cache: downloaded again

    before = calls.count("GetObject")
    job3 = tmp_path / "job3" / "train"
    assert s3.fetch_channel("s3://data/train/", job3, cache_dir=cache) == 2
    assert calls.count("GetObject") == before  # nothing downloaded
    assert files_under(job3) == {"a.csv": b"a" * 1000, "b/c.csv": b"c"}
    # Job folders share the cache's read-only inode instead of holding copies.
    a1, a3 = (job1 / "a.csv").stat(), (job3 / "a.csv").stat()
    assert (a1.st_ino, a1.st_dev) == (a3.st_ino, a3.st_dev) and a1.st_nlink >= 3
    assert not a3.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert not [p for p in cache.iterdir() if p.name.endswith(".part")]


def test_a_changed_object_is_fetched_again(s3_env: Any, calls: Calls, tmp_path: Path) -> None:
    s3_env.bucket("data", {"train/a.csv": "old", "train/b.csv": "same"})
    cache = tmp_path / "cache"
    s3.fetch_channel("s3://data/train", tmp_path / "job1", cache_dir=cache)
    s3_env.put("data", "train/a.csv", "new content")
    before = calls.count("GetObject")
    s3.fetch_channel("s3://data/train", tmp_path / "job2", cache_dir=cache)
    assert calls.count("GetObject") == before + 1  # only the changed one
    assert (tmp_path / "job2" / "a.csv").read_text() == "new content"
    assert (tmp_path / "job1" / "a.csv").read_text() == "old"  # an earlier job keeps its data


def test_concurrent_fetches_share_one_download(s3_env: Any, tmp_path: Path) -> None:
    body = os.urandom(3 * 1024 * 1024)
    s3_env.bucket("data", {"train/big.bin": body})
    cache = tmp_path / "cache"
    errors: list[BaseException] = []

    def fetch(i: int) -> None:
        try:
            s3.fetch_channel("s3://data/train/", tmp_path / f"job{i}", cache_dir=cache)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert [p.name.endswith(".part") for p in cache.iterdir()] == [False]
    for i in range(6):
        assert (tmp_path / f"job{i}" / "big.bin").read_bytes() == body


# --- refusals and failures --------------------------------------------------------------------


def test_keys_escaping_the_channel_folder_are_refused(s3_env: Any, tmp_path: Path) -> None:
    s3_env.bucket("data", {"train/ok.csv": "ok", "train/../../escape.csv": "x"})
    dest = tmp_path / "jobs" / "job1" / "train"
    with pytest.raises(StorageError, match=r"s3://data/train/: refusing '../../escape.csv'"):
        s3.fetch_channel("s3://data/train/", dest, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "jobs" / "escape.csv").exists()

    manifest = [{"prefix": "s3://data/train/"}, "ok.csv", "/etc/passwd"]
    s3_env.put("data", "m.manifest", json.dumps(manifest))
    with pytest.raises(StorageError, match=r"refusing '/etc/passwd'"):
        s3.fetch_channel(
            "s3://data/m.manifest", tmp_path / "m", data_type="ManifestFile", cache_dir=tmp_path
        )


def test_missing_bucket_and_empty_prefix(s3_env: Any, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"^s3://nope/train: no such bucket 'nope'$"):
        s3.fetch_channel("s3://nope/train", tmp_path / "a", cache_dir=tmp_path)
    s3_env.bucket("data", {"other/x": "x"})
    with pytest.raises(StorageError, match=r"^s3://data/train/: no objects under this prefix$"):
        s3.fetch_channel("s3://data/train/", tmp_path / "b", cache_dir=tmp_path)
    with pytest.raises(StorageError, match=r"^s3://data/missing.tar.gz: no such object$"):
        s3.fetch_file("s3://data/missing.tar.gz", tmp_path / "c.tar.gz")


def test_no_credentials(s3_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(StorageError) as info:
        s3.fetch_channel("s3://data/train", tmp_path / "a", cache_dir=tmp_path)
    message = str(info.value)
    assert message.startswith("s3://data/train: no AWS credentials found")
    assert "AWS_ACCESS_KEY_ID" in message and "AWS_PROFILE" in message
    assert "botocore" not in message and "Traceback" not in message


def test_unreachable_endpoint(s3_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from s3_server import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", closed)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(StorageError) as info:
        s3.fetch_file("s3://data/code.tar.gz", tmp_path / "code.tar.gz")
    message = str(info.value)
    assert message.startswith(f"s3://data/code.tar.gz: could not reach the S3 endpoint {closed}")
    assert "Connection refused" in message and "botocore" not in message


# --- single files -----------------------------------------------------------------------------


def test_put_and_fetch_file_round_trip_through_s3(s3_env: Any, tmp_path: Path) -> None:
    s3_env.bucket("models")
    src = tmp_path / "model.tar.gz"
    src.write_bytes(b"\x1f\x8b model")
    uri = "s3://models/out/job-001/output/model.tar.gz"
    s3.put_file(src, uri)
    got = s3.fetch_file(uri, tmp_path / "back" / "m.tar.gz")
    assert got == tmp_path / "back" / "m.tar.gz" and got.read_bytes() == src.read_bytes()
    # Into a folder: under its base name; through the cache: read-only, linked.
    (tmp_path / "dir").mkdir()
    got = s3.fetch_file(uri, tmp_path / "dir", cache_dir=tmp_path / "cache")
    assert got == tmp_path / "dir" / "model.tar.gz" and got.read_bytes() == src.read_bytes()
    # A URI ending in "/" takes the file's name.
    s3.put_file(src, "s3://models/copies/")
    assert s3.fetch_file("s3://models/copies/model.tar.gz", tmp_path / "x").exists()


@pytest.mark.parametrize("as_url", [False, True])
def test_put_and_fetch_file_round_trip_locally(tmp_path: Path, as_url: bool) -> None:
    src = tmp_path / "sourcedir.tar.gz"
    src.write_bytes(b"code")
    where = tmp_path / "out" / "job" / "output" / "model.tar.gz"
    uri = where.as_uri() if as_url else "out/job/output/model.tar.gz"
    s3.put_file(src, uri, base_dir=tmp_path)
    assert where.read_bytes() == b"code"
    got = s3.fetch_file(uri, tmp_path / "fetched.tar.gz", base_dir=tmp_path)
    assert got.read_bytes() == b"code"
    with pytest.raises(StorageError, match="no such file"):
        s3.fetch_file("out/none.tar.gz", tmp_path / "n", base_dir=tmp_path)


# --- checkpoints ------------------------------------------------------------------------------


def write_checkpoints(folder: Path) -> None:
    (folder / "epochs").mkdir(parents=True, exist_ok=True)
    (folder / "latest.pt").write_bytes(b"weights-1")
    (folder / "epochs" / "1.pt").write_bytes(b"e1")
    (folder / "epochs" / "2.pt").write_bytes(b"e2")


def test_sync_up_uploads_only_changes_and_sync_down_restores(
    s3_env: Any, calls: Calls, tmp_path: Path
) -> None:
    s3_env.bucket("ckpt")
    local = tmp_path / "checkpoints"
    write_checkpoints(local)
    uri = "s3://ckpt/tuning/job-1/checkpoints"
    assert s3.sync_up(local, uri) == 3
    assert s3.sync_up(local, uri) == 0
    (local / "latest.pt").write_bytes(b"weights-2")  # same size, other content
    (local / "epochs" / "3.pt").write_bytes(b"e3")
    assert s3.sync_up(local, uri) == 2

    restored = tmp_path / "restored"
    assert s3.sync_down(uri, restored) == 4
    assert files_under(restored) == files_under(local)
    before = calls.count("GetObject")
    assert s3.sync_down(uri, restored) == 0  # already the same: nothing downloaded
    assert calls.count("GetObject") == before
    assert s3.sync_down("s3://ckpt/tuning/job-2/checkpoints", tmp_path / "none") == 0


def test_sync_up_multipart_objects_are_not_uploaded_again(s3_env: Any, tmp_path: Path) -> None:
    s3_env.bucket("ckpt")
    local = tmp_path / "checkpoints"
    local.mkdir()
    (local / "big.pt").write_bytes(os.urandom(9 * 1024 * 1024))  # above the multipart threshold
    assert s3.sync_up(local, "s3://ckpt/c/") == 1
    head = s3_env.client().head_object(Bucket="ckpt", Key="c/big.pt")
    assert head["ETag"].endswith('-2"')
    assert s3.sync_up(local, "s3://ckpt/c/") == 0


def test_sync_locally(tmp_path: Path) -> None:
    local = tmp_path / "checkpoints"
    write_checkpoints(local)
    assert s3.sync_up(local, "mirror", base_dir=tmp_path) == 3
    assert s3.sync_up(local, "mirror", base_dir=tmp_path) == 0
    (local / "latest.pt").write_bytes(b"weights-2")
    assert s3.sync_up(local, (tmp_path / "mirror").as_uri()) == 1
    restored = tmp_path / "restored"
    assert s3.sync_down("mirror", restored, base_dir=tmp_path) == 3
    assert files_under(restored) == files_under(local)
    assert s3.sync_down("nothing-here", restored, base_dir=tmp_path) == 0
