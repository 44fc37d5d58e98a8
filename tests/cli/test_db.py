"""``sagetune db current`` and ``sagetune db upgrade`` on a SQLite file and on PostgreSQL."""

from __future__ import annotations

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


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_db_current_then_upgrade_then_current(url: str) -> None:
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
