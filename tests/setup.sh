#!/usr/bin/env bash
# Installs what the tests need beyond Python packages: a headless Chromium for the dashboard's
# browser tests (Debian's package; Playwright drives it, it never downloads a browser), and
# PostgreSQL's server binaries for the store tests (tests/pg_server.py starts its own server in
# a temporary folder; the package's own cluster is not used).
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium (Debian package) for the browser tests..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is not installed and cannot be installed here; browser tests will fail" >&2
  fi
fi

if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing postgresql (Debian package) for the store tests..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL (initdb) is not installed and cannot be installed here; store tests will fail" >&2
  fi
fi

# The SageMaker Python SDK v2, as a user's notebook would have it, in an interpreter of its own:
# it is a client of sagetune's endpoint (tests/sdk/), and its pins (packaging<25, ...) must not
# reach sagetune's environment.
SDK_VERSION="2.257.7"
SDK_VENV=".venv-sdk"
if ! "$SDK_VENV/bin/python" -c "import sagemaker, sys; sys.exit(sagemaker.__version__ != '$SDK_VERSION')" 2>/dev/null; then
  echo "installing the SageMaker Python SDK $SDK_VERSION into $SDK_VENV for the client tests..."
  "${PYTHON:-python3}" -m venv "$SDK_VENV"
  "$SDK_VENV/bin/python" -m pip install -q --upgrade pip
  "$SDK_VENV/bin/python" -m pip install -q "sagemaker==$SDK_VERSION"
fi
