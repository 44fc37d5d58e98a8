"""Shared fixtures: every test gets its own SQLite file and SAGETUNE_HOME; tests that need S3
get moto's server (``s3_server``, one per session) and an environment pointing at it
(``s3_env``); tests that need PostgreSQL get a server (``pg_server``, one per session) and a
fresh empty database of it (``pg_url``)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from pg_server import PostgresServer
from s3_server import S3Server


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGETUNE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SAGETUNE_STORE", raising=False)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tuning.db'}"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 (and STS) server on a loopback port, one process for the whole session."""
    with S3Server() as server:
        yield server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the tests' own on a loopback port, one for the whole session.

    A machine without PostgreSQL fails these tests with the reason (``tests/setup.sh``
    installs it); they are never skipped."""
    with PostgresServer() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database on the session's server, dropped after the test."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@dataclass
class S3Env:
    """The S3 server as a test sees it: ``endpoint``, the ``env`` already set in
    ``os.environ`` (hand it to subprocesses), and helpers to lay out buckets with boto3.

    moto serves STS on the same port: set ``AWS_ENDPOINT_URL_STS`` to ``endpoint`` for
    ``get_caller_identity`` (account ``123456789012``)."""

    endpoint: str
    env: dict[str, str]
    _client: Any = field(default=None, repr=False)

    def client(self) -> Any:
        """A boto3 S3 client of the server, this test's own (not sagetune's)."""
        if self._client is None:  # building one takes a while: once per test
            self._client = boto3.session.Session().client("s3", endpoint_url=self.endpoint)
        return self._client

    def bucket(self, name: str, objects: Mapping[str, bytes | str] | None = None) -> str:
        """Creates bucket ``name`` holding ``objects`` (key -> content); returns its name."""
        s3 = self.client()
        s3.create_bucket(Bucket=name)
        for key, body in (objects or {}).items():
            self.put(name, key, body)
        return name

    def put(self, bucket: str, key: str, body: bytes | str) -> None:
        """Writes one object (creating or replacing it)."""
        data = body.encode() if isinstance(body, str) else body
        self.client().put_object(Bucket=bucket, Key=key, Body=data)


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Env]:
    """A clean S3 server (every bucket removed) and the AWS_* environment pointing at it,
    without any profile or credentials file of the machine's."""
    s3_server.reset()
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    env = s3_server.env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield S3Env(endpoint=s3_server.endpoint, env=dict(env))
