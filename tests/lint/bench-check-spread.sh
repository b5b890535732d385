#!/usr/bin/env bash
# tests/lint/bench-check-spread.sh: b1300's pairing of check start times
# (tests/bench/check-spread.sh) on literal request logs. Its first version
# paired the first start with nothing (a max of 1.8e12 ms) and, under mawk,
# printed every epoch-ms time as 1.7645e+12 (a p50 of 0 ms).
set -euo pipefail
root=${SMARTDOCK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
spread=$root/tests/bench/check-spread.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "bench-check-spread: $*" >&2; exit 1; }

# Service 0 (whose id compares equal to an unset awk variable) on one server,
# services 1 and 10 interleaved on another; one start before the window, one
# after it, and lines that are not check starts.
cat >"$dir/srv0.log" <<'LOG'
hello: srv0 listening on 127.0.0.2:18000
1764500000.100 request GET /health?s=0 200
1764500001.000 request GET /health?s=0 200
1764500001.503 request GET /health?s=0 200
1764500002.010 request GET /health?s=0 200
1764500002.100 request GET / 200
LOG
cat >"$dir/srv1.log" <<'LOG'
1764500001.001 request GET /health?s=1 200
1764500001.002 request GET /health?s=10 200
1764500001.502 request GET /health?s=1 200
1764500001.540 request GET /health?s=10 200
1764500002.003 request GET /health?s=1 200
1764500002.041 request GET /health?s=10 200
1764500009.000 request GET /health?s=10 200
LOG
# window [1764500000.500, 1764500003.000]: deviations from 500 ms are
# s0: 3, 7; s1: 1, 1; s10: 38, 1
got=$("$spread" 1764500000500 1764500003000 500 "$dir/srv0.log" "$dir/srv1.log")
[ "$got" = "6 1 38 38 1" ] || fail "expected \"6 1 38 38 1\" (n p50 p99 max min), got \"$got\""

# nothing in the window: zeros, not an error
got=$("$spread" 1764500100000 1764500200000 500 "$dir/srv0.log")
[ "$got" = "0 0 0 0 0" ] || fail "empty window: got \"$got\""
echo "bench check spread: pairing and percentiles as expected"
