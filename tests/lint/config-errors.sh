#!/usr/bin/env bash
# tests/lint/config-errors.sh: a config that cannot be loaded is reported in
# one line that names the file once, by every command that reads it (the
# daemons at start-up, --check, and the status/drain clients).
set -euo pipefail
build=${SMARTDOCK_BUILD_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# once WHAT FILE CMD...: CMD fails with exit 2 and its stderr names FILE exactly once.
once() {
	local what=$1 file=$2 rc=0
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
	local n
	n=$(grep -o -F "$file" "$tmp/err" | wc -l)
	if [ "$rc" -ne 2 ] || [ "$n" -ne 1 ]; then
		echo "FAIL $what: exit $rc, $file named $n times in: $(cat "$tmp/err")"
		fails=$((fails + 1))
	else
		echo "ok $what"
	fi
}

echo '{"services": ' >"$tmp/bad.json"
printf 'haproxy:\n  port: [\n' >"$tmp/bad.yaml"
missing=$tmp/missing.json
reg=$build/smartdock-registrator
wat=$build/smartdock-watcher

once "registrator --check, malformed" "$tmp/bad.json" "$reg" --check -c "$tmp/bad.json"
once "registrator status, malformed" "$tmp/bad.json" "$reg" status -c "$tmp/bad.json"
once "registrator status, missing" "$missing" "$reg" status -c "$missing"
once "registrator drain, missing" "$missing" "$reg" drain -c "$missing" abc
once "watcher --check, malformed" "$tmp/bad.json" "$wat" --check -c "$tmp/bad.json"
once "watcher --check, yaml" "$tmp/bad.yaml" "$wat" --check -c "$tmp/bad.yaml"
once "watcher status, missing" "$missing" "$wat" status -c "$missing"
once "watcher status, yaml" "$tmp/bad.yaml" "$wat" status -c "$tmp/bad.yaml"
[ "$fails" -eq 0 ]
