"""A read-only store (``?mode=ro``): every read command answers, every write (the CLI's, the
dashboard's stop) fails with one clear line, an older schema asks for an upgrade by a writer,
and the file is left byte for byte as it was.

Tests here may run as root, whom file permissions do not stop: SQLite's own read-only mode
is what is tested; a file or folder this process cannot write is opened the same way.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from cli_helpers import request, sagetune, write_request, write_script
from fastapi.testclient import TestClient

from sagetune import HyperparameterTuner, service
from sagetune.dashboard import create_app
from sagetune.errors import StoreNotWritable
from sagetune.store import open_store
from sagetune.store.migrations import HEAD

NAME = "ro"
OLD_STORE = Path(__file__).parents[1] / "store" / "fixtures" / "store-6b94b04.db"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A SQLite store holding one finished tuning job, and its read-only URL."""
    folder = tmp_path_factory.mktemp("read-only")
    write_script(folder / "src")
    db = folder / "s.db"
    sagetune(
        "tune", str(write_request(folder, request(NAME, max_jobs=2))), store=str(db), check=True
    )
    return db, f"sqlite:///{db}?mode=ro"


def _digest(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest()


def _job(db: Path) -> str:
    return open_store(str(db)).list_training_jobs(NAME)[0].name


READS = [
    ("ls",),
    ("list-hyper-parameter-tuning-jobs",),
    ("describe-hyper-parameter-tuning-job", "--hyper-parameter-tuning-job-name", NAME),
    (
        "list-training-jobs-for-hyper-parameter-tuning-job",
        "--hyper-parameter-tuning-job-name",
        NAME,
    ),
    ("list-training-jobs",),
    ("describe-training-job", "--training-job-name", "{job}"),
    ("logs", "{job}"),
    ("cost", NAME),
    ("report", NAME, "-o", "{out}/report.html"),
    ("plot", NAME, "-k", "convergence", "-o", "{out}/plot.png"),
]


@pytest.mark.parametrize("args", READS, ids=[r[0] for r in READS])
def test_every_read_command_works_on_a_read_only_store(
    stored: tuple[Path, str], tmp_path: Path, args: tuple[str, ...]
) -> None:
    db, ro = stored
    before = _digest(db)
    argv = [a.format(job=_job(db), out=tmp_path) for a in args]
    res = sagetune(*argv, store=ro, timeout=120)
    assert res.returncode == 0, res.stderr
    written = [p for p in tmp_path.iterdir() if p.stat().st_size > 0]
    expected = "validation:auc=" if args[0] == "logs" else NAME
    assert written if "-o" in args else expected in res.stdout, res.stdout
    assert _digest(db) == before


WRITES = [
    ("delete-hyper-parameter-tuning-job", "--hyper-parameter-tuning-job-name", NAME),
    ("tune", "{request}"),
]


@pytest.mark.parametrize("args", WRITES, ids=[w[0] for w in WRITES])
def test_every_write_fails_with_one_clear_line(
    stored: tuple[Path, str], tmp_path: Path, args: tuple[str, ...]
) -> None:
    db, ro = stored
    before = _digest(db)
    write_script(tmp_path / "src")
    req = write_request(tmp_path, request("another", max_jobs=1))
    argv = [a.format(job=_job(db), request=req) for a in args]
    res = sagetune(*argv, store=ro, timeout=120)
    assert "Traceback" not in res.stderr, res.stderr
    errors = [line for line in res.stderr.splitlines() if not line.startswith("note: ")]
    assert res.returncode == 2, res.stderr
    assert errors == [
        f"StoreNotWritable: the store {db} is read-only: it can be read, not written (open "
        f"it without ?mode=ro, with write permission on the file and its folder)"
    ]
    assert _digest(db) == before
    assert [j.name for j in open_store(str(db)).list_tuning_jobs()] == [NAME]


def test_a_missing_read_only_store_is_not_created(tmp_path: Path) -> None:
    res = sagetune("ls", store=f"sqlite:///{tmp_path / 'none.db'}?mode=ro", timeout=60)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "ResourceNotFound: the store" in res.stderr and "does not exist" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_dashboard_and_analytics_read_a_read_only_store(stored: tuple[Path, str]) -> None:
    db, ro = stored
    before = _digest(db)
    client = TestClient(create_app(ro))
    answer = client.get("/api/tuning-jobs")
    assert answer.status_code == 200 and NAME in answer.text
    assert client.get(f"/api/tuning-jobs/{NAME}/training-jobs").status_code == 200
    frame = HyperparameterTuner.attach(NAME, store=ro).analytics().dataframe()
    assert len(frame) == 2
    with pytest.raises(StoreNotWritable, match="is read-only"):
        open_store(ro).update_tuning_job(NAME, failure_reason="x")
    assert _digest(db) == before


def test_the_dashboards_stop_on_a_read_only_store_answers_why(tmp_path: Path) -> None:
    write_script(tmp_path / "src")
    db = tmp_path / "s.db"
    writer = open_store(str(db))
    service.create_tuning_job(writer, request("running", max_jobs=1), base_dir=tmp_path)
    before = _digest(db)
    client = TestClient(create_app(f"sqlite:///{db}?mode=ro"), raise_server_exceptions=False)
    answer = client.post("/api/tuning-jobs/running/stop", headers={"X-Sagetune-Action": "stop"})
    assert answer.status_code == 409, answer.text
    assert answer.json() == {
        "detail": f"the store {db} is read-only: it can be read, not written (open it without "
        f"?mode=ro, with write permission on the file and its folder)"
    }
    assert _digest(db) == before
    assert writer.get_tuning_job("running").status == "InProgress"


def test_a_read_only_store_with_an_older_schema_asks_for_an_upgrade(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    shutil.copyfile(OLD_STORE, db)
    before = _digest(db)
    for verb in ("ls", "list-training-jobs"):
        res = sagetune(verb, store=f"sqlite:///{db}?mode=ro", timeout=60)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert res.stderr.splitlines() == [
            f"StoreNotWritable: the store {db} has an older schema (no revision; this "
            f"sagetune's is {HEAD}) and is opened read-only: a writer must upgrade it first "
            f"(sagetune db upgrade --store URL, without ?mode=ro, with write permission on the "
            f"file and its folder)"
        ]
    assert _digest(db) == before
    assert sagetune("db", "upgrade", store=str(db), timeout=60).returncode == 0
    res = sagetune("ls", store=f"sqlite:///{db}?mode=ro", timeout=60)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
