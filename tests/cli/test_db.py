"""``sagetune db current`` and ``sagetune db upgrade`` on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from sagetune.cli import main
from sagetune.store import open_store
from sagetune.store.migrations import HEAD


@pytest.fixture(params=["sqlite-file", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 's.db'}"


def fails(*args: str) -> str:
    """The one line a verb that failed printed (exit code 2, no traceback)."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_db_current_then_upgrade_then_current(url: str) -> None:
    if url.startswith("sqlite"):  # no file yet: said so, and not created
        failed = CliRunner().invoke(main, ["db", "current", "--store", url])
        path = url.removeprefix("sqlite:///")
        assert (failed.exit_code, failed.output.strip()) == (
            2,
            f"ResourceNotFound: no store at {path}: sagetune db upgrade creates one",
        )
        assert not Path(path).exists()
    else:  # an empty database
        assert run("db", "current", "--store", url).strip() == (
            f"none (an empty store, or one from before migrations; head is {HEAD})"
        )
    out = run("--store", url, "db", "upgrade")
    assert out.strip().endswith(f": at revision {HEAD} (head)")
    assert "sagetune-test" not in out  # a PostgreSQL password is not printed
    assert run("db", "current", "--store", url).strip() == f"{HEAD} (head)"
    store = open_store(url)  # what the verb made is a store at head
    assert store.list_tuning_jobs() == []
    store.close()
    assert run("db", "upgrade", "--store", url).strip().endswith("(head)")  # idempotent


def test_db_verbs_read_sagetune_store(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGETUNE_STORE", url)
    run("db", "upgrade")
    assert run("db", "current").strip() == f"{HEAD} (head)"


@pytest.mark.parametrize("verb", ["current", "upgrade"])
def test_db_verbs_on_an_unreachable_server_say_so_in_one_line(verb: str) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://someone:secret@127.0.0.1:{port}/sagetune"
    line = fails("db", verb, "--store", url)
    assert line.startswith(
        f"StoreUnavailable: cannot reach the store at "
        f"postgresql+psycopg://someone:***@127.0.0.1:{port}/sagetune: "
    ), line
    assert "refused" in line and "secret" not in line


@pytest.mark.parametrize("verb", ["current", "upgrade"])
def test_db_verbs_on_a_database_that_does_not_exist_say_so(verb: str, pg_url: str) -> None:
    url = pg_url.rsplit("/", 1)[0] + "/no_such_database"
    line = fails("db", verb, "--store", url)
    assert line.startswith("StoreUnavailable: cannot reach the store at "), line
    assert 'database "no_such_database" does not exist' in line, line


def test_db_upgrade_on_a_sqlite_file_that_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "a-folder.db").mkdir()  # a folder where the file should be
    url = f"sqlite:///{tmp_path / 'a-folder.db'}"
    line = fails("db", "upgrade", "--store", url)
    assert line.startswith(f"StoreUnavailable: cannot reach the store at {url}: "), line
    assert "unable to open database file" in line, line
