"""Shared fixtures: every test gets its own SQLite file and SAGETUNE_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGETUNE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SAGETUNE_STORE", raising=False)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tuning.db'}"
