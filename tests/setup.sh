#!/usr/bin/env bash
# Installs what the tests need beyond Python packages: a headless Chromium for the dashboard's
# browser tests (Debian's package; Playwright drives it, it never downloads a browser).
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
