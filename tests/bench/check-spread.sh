#!/usr/bin/env bash
# tests/bench/check-spread.sh A_MS B_MS INTERVAL_MS LOG...: how well the
# registrator keeps its check schedule, from the request logs of hello
# servers started with --log ("<unix s.ms> request GET /health?s=ID 200").
#
# For each service ID, the starts of its consecutive checks within [A_MS,
# B_MS] (epoch ms) are paired, and each interval's deviation from
# INTERVAL_MS is taken. Prints "N P50 P99 MAX MIN" of those deviations in ms
# (all 0 when there is no pair). Nerve's schedule starts a round
# check_interval after the last one ended, so the ideal deviation is one
# check's duration, never negative.
#
# Times are kept relative to A_MS: mawk prints integers past 2^31 as %.6g
# (1.7645e+12), which once made every interval 0.
set -euo pipefail
a=$1 b=$2 interval=$3
shift 3
awk -v a="$a" -v b="$b" '
	$2 == "request" && $4 ~ /^\/health\?s=/ {
		split($1, sec_ms, ".")
		t = (sec_ms[1] * 1000 - a) + sec_ms[2]
		if (t < 0 || t > b - a) next
		split($4, q, "=")
		print q[2], t
	}' "$@" | sort -k1,1n -k2,2n |
	awk -v iv="$interval" '
	NR > 1 && $1 == svc { print $2 - last - iv }
	{ svc = $1; last = $2 }' | sort -n |
	awk '
	{ v[NR] = $1 }
	END {
		if (!NR) { print 0, 0, 0, 0, 0; exit }
		i50 = int((NR * 50 + 99) / 100); i99 = int((NR * 99 + 99) / 100)
		print NR, v[i50], v[i99], v[NR], v[1]
	}'
