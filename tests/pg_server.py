"""A real PostgreSQL server on loopback for the tests: ``initdb`` into a temporary folder and
``postgres`` on a free port, in processes of their own.

The binaries come from the Debian package (``tests/setup.sh`` installs it): ``initdb`` on the
PATH or under ``/usr/lib/postgresql/<version>/bin``. PostgreSQL refuses to run as root, so when
the tests run as root the server runs as the ``postgres`` system user the package creates
(``runuser -u postgres --``), in a folder chowned to it. The server listens on 127.0.0.1 only,
its unix socket in the same folder, and trusts nobody: the tests' role logs in with a password.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

USER = "sagetune"
PASSWORD = "sagetune-test"
DATABASE = "sagetune"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed here, or its server would not start (the reason says)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_bindir() -> Path:
    """The folder of ``initdb`` and ``postgres``: the PATH's, else the newest Debian one."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # a symlink into the Debian folder, often

    def version(initdb: str) -> int:
        name = Path(initdb).parent.parent.name
        return int(name) if name.isdigit() else 0

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL is not installed: no initdb on the PATH or under "
            "/usr/lib/postgresql/*/bin (tests/setup.sh installs the postgresql package)"
        )
    return Path(candidates[-1]).parent


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, started by :meth:`start` (or ``with``).

    :attr:`url` is ``postgresql+psycopg://sagetune:...@127.0.0.1:PORT/sagetune``;
    :meth:`database_url` names another database of the same server; :meth:`create_database`
    makes a fresh empty one; :meth:`restart` stops the server and starts it again on the same
    port with the same data; :meth:`stop` ends it within ``stop_timeout`` seconds.
    """

    def __init__(self, startup_timeout: float = 60.0, stop_timeout: float = 10.0) -> None:
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.bindir = find_bindir()
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._databases = 0
        self._as: list[str] = []
        uid = None
        if os.geteuid() == 0:
            try:
                uid = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(
                    "the tests run as root and PostgreSQL refuses to: there is no 'postgres' "
                    "user to run it as (the postgresql package creates one)"
                ) from None
            self._as = ["runuser", "-u", "postgres", "--"]
        # Under /tmp (not pytest's tmp_path, which may sit in a folder postgres cannot reach).
        self._tmp = tempfile.TemporaryDirectory(prefix="sagetune-pg-")
        self.root = Path(self._tmp.name)
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "postgres.log"
        self.sockets.mkdir()
        if uid is not None:
            for path in (self.root, self.sockets):
                os.chown(path, uid.pw_uid, uid.pw_gid)
        os.chmod(self.root, 0o700)

    # urls --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.database_url(DATABASE)

    def database_url(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    # life --------------------------------------------------------------------------------
    def _run(self, argv: Sequence[str], timeout: float = 60.0, **kwargs: object) -> str:
        done = subprocess.run(
            [*self._as, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd=self.root,
            **kwargs,  # type: ignore[arg-type]
        )
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
            )
        return done.stdout

    def _psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` as the superuser over the unix socket."""
        return self._run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "postgres",
                "-h",
                str(self.sockets),
                "-p",
                str(self.port),
                "-d",
                database,
                "-c",
                sql,
            ]
        )

    def start(self) -> PostgresServer:
        started = time.monotonic()
        if not self.data.exists():
            pwfile = self.root / "superuser-password"
            pwfile.write_text(PASSWORD + "\n")
            if self._as:
                shutil.chown(pwfile, "postgres")
            self._run(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                timeout=self.startup_timeout,
            )
            fresh = True
        else:
            fresh = False
        # The port is free when chosen but may be taken before postgres binds it: try a few.
        for attempt in range(3):
            if attempt or not self.port:
                self.port = free_port()
            if self._launch(started):
                break
        else:
            raise PostgresUnavailable(f"postgres did not start; its log:\n{self._log_text()}")
        if fresh:
            self._psql(f"CREATE ROLE {USER} LOGIN CREATEDB PASSWORD '{PASSWORD}'")
            self._psql(f"CREATE DATABASE {DATABASE} OWNER {USER}")
        self.startup_seconds = time.monotonic() - started
        return self

    def _launch(self, started: float) -> bool:
        argv = [
            *self._as,
            str(self.bindir / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.sockets}",
            "-c",
            "max_connections=200",
            # A scratch server: durability is not what the tests are about.
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.root,
                start_new_session=True,
            )
        while time.monotonic() - started < self.startup_timeout:
            if self.process.poll() is not None:
                self.process = None
                return False
            ready = subprocess.run(
                [
                    str(self.bindir / "pg_isready"),
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-t",
                    "1",
                ],
                stdin=subprocess.DEVNULL,
                capture_output=True,
            )
            if ready.returncode == 0:
                return True
            time.sleep(0.05)
        self.stop()
        raise PostgresUnavailable(
            f"postgres did not answer within {self.startup_timeout:.0f}s; its log:\n"
            f"{self._log_text()}"
        )

    def _log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no log)"

    def stop(self) -> None:
        """A fast shutdown (SIGINT: sessions ended, data kept), SIGKILL if it takes too long."""
        if self.process is None:
            return
        if self.process.poll() is None:
            # With runuser, the server is a child of runuser: signal the whole session.
            try:
                os.killpg(self.process.pid, 2)
                self.process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(self.stop_timeout)
            except ProcessLookupError:
                pass
        self.process = None

    def restart(self) -> None:
        """Stop the server and start it again: same port, same data (connections are cut)."""
        self.stop()
        started = time.monotonic()
        if not self._launch(started):
            raise PostgresUnavailable(f"postgres did not start again; its log:\n{self._log_text()}")

    # databases ---------------------------------------------------------------------------
    def create_database(self, prefix: str = "t") -> str:
        """A new empty database owned by the tests' role; returns its URL.

        It collates text by ICU's ``en-US``, as servers set up with an English locale do (not
        byte by byte, as SQLite and the C locale do), so that ordering by name is tested where
        the two differ."""
        self._databases += 1
        name = f"{prefix}_{os.getpid()}_{self._databases}"
        self._psql(
            f"CREATE DATABASE {name} OWNER {USER} TEMPLATE template0 "
            "LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
        )
        return self.database_url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, ending its sessions."""
        name = url.rsplit("/", 1)[1]
        self._psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        self.stop()
        self._tmp.cleanup()

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
