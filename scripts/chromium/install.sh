#!/usr/bin/env bash
# Installs what the report's browser check needs: Debian's chromium, driven headless by
# playwright-core (which never downloads a browser of its own). Idempotent and fast when
# chromium is present. Without root or apt-get it installs nothing and exits 0: the browser
# check is then skipped locally, and fails loudly under CI (see tests/helpers/browser.ts).
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium: not installed and this is not root with apt-get;" \
    "the report's browser check will be skipped, or fail under CI=true" \
    "(install Debian's chromium to run it)." >&2
  exit 0
fi

echo "chromium: installing chromium from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null

if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium: installation finished but 'chromium' is still not on PATH" >&2
  exit 1
fi
