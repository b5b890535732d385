#!/usr/bin/env bash
# tests/lint/man-lint.sh: `mandoc -T lint` finds nothing in man/*. References
# to pages this machine has not indexed (haproxy(1), our own before they are
# installed) depend on the machine, not on the pages, and are not counted.
set -euo pipefail
root=${SMARTDOCK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v mandoc >/dev/null || { echo "FAIL: mandoc missing (tests/run.sh installs it)"; exit 1; }
out=$(mandoc -T lint "$root"/man/*.[1-9] 2>&1 | grep -v -e 'referenced manual not found' -e 'mandoc.db' || true)
[ -z "$out" ] || { echo "$out"; exit 1; }
echo "mandoc -T lint: clean"
