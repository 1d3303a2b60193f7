#!/usr/bin/env bash
# Installs what the OpenStack Swift test tier needs: Debian's python3-swift (with its s3api
# middleware) and memcached (tempauth keeps its tokens there). Idempotent and fast when both
# are present. Without root or apt-get it installs nothing and exits 0: the tier is then
# skipped locally, and fails loudly under CI (see tests/servers/swift.ts).
set -euo pipefail

# Debian's packages live in the system interpreter; a PATH python3 may be a pyenv/venv one.
PYTHON=/usr/bin/python3

have_swift() {
  [ -x "$PYTHON" ] && "$PYTHON" -c 'import swift' >/dev/null 2>&1 && command -v memcached >/dev/null 2>&1
}

if have_swift; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "swift-s3: python3-swift or memcached is missing and this is not root with apt-get;" \
    "the OpenStack Swift s3api test tier will be skipped, or fail under CI=true" \
    "(install python3-swift and memcached to run it)." >&2
  exit 0
fi

echo "swift-s3: installing python3-swift, memcached and curl from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3-swift memcached curl >/dev/null

# Whether or not the package started a system-wide memcached, the tests start a private one.
if ! have_swift; then
  echo "swift-s3: installation finished but '$PYTHON -c \"import swift\"' or memcached still fails" >&2
  exit 1
fi
