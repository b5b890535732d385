#!/usr/bin/env bash
# tests/lint/systemd-verify.sh: `systemd-analyze verify` accepts the units in
# deploy/systemd/ without a single complaint (it only warns about an unknown or
# misspelt setting, so any output fails the test).
#
# PID 1 here need not be systemd: the units are verified offline in a temp
# root holding this machine's unit library, the units and stand-ins for the
# binaries they name (verify checks that ExecStart= is executable).
set -euo pipefail
root=${SMARTDOCK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze missing"; exit 1; }
tmp=$(mktemp -d /tmp/sd-verify.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/usr/lib/systemd" "$tmp/etc/systemd/system" "$tmp/usr/bin"
cp -a /usr/lib/systemd/system "$tmp/usr/lib/systemd/"
units=()
for u in "$root"/deploy/systemd/*.service; do
	cp "$u" "$tmp/etc/systemd/system/"
	units+=("$tmp/etc/systemd/system/${u##*/}")
	for exe in $(sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p' "$u"); do
		mkdir -p "$tmp$(dirname "$exe")"
		printf '#!/bin/sh\n' >"$tmp$exe"
		chmod +x "$tmp$exe"
	done
done
rc=0
out=$(systemd-analyze verify --man=no --root="$tmp" "${units[@]}" 2>&1) || rc=$?
if [ $rc != 0 ] || [ -n "$out" ]; then
	echo "FAIL: systemd-analyze verify (exit $rc):"
	echo "$out"
	exit 1
fi
echo "systemd-analyze verify: ${#units[@]} units clean"
