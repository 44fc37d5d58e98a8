"""A real S3 API server on loopback for the tests: moto's server, in a process of its own.

It is a subprocess rather than moto's in-process server so that other processes the tests
start (sagetune's own server, training scripts) can talk to it too. The same port also serves
moto's STS (``get_caller_identity``) and the other AWS APIs moto implements.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class S3Server:
    """``python -m moto.server`` on a free loopback port, started by :meth:`start` (or
    ``with``), stopped by :meth:`stop`; :attr:`endpoint` is its URL and :attr:`env` the AWS_*
    variables that point boto3 at it with dummy credentials."""

    def __init__(self, startup_timeout: float = 30.0) -> None:
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log_dir = tempfile.TemporaryDirectory(prefix="moto-")
        self.log = Path(self._log_dir.name) / "moto.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """What a client needs to use this server (S3 through ``AWS_ENDPOINT_URL_S3``)."""
        return {
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }

    def start(self) -> S3Server:
        # The port is free when chosen but may be taken before moto binds it: try a few.
        for _ in range(3):
            self.port = free_port()
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
                )
            if self._wait_until_up():
                return self
            self.stop()
        raise RuntimeError(f"moto's server did not start; its log:\n{self.log.read_text()}")

    def _wait_until_up(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=2):
                    return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        return False

    def reset(self) -> None:
        """Forget every bucket and object (moto's ``/moto-api/reset``)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self.process = None

    def close(self) -> None:
        self.stop()
        self._log_dir.cleanup()

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
