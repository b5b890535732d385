#!/usr/bin/env bash
# tests/run.sh: install what the tests need, build with sanitizers, run them.
#
#   tests/run.sh              unit tests, then end-to-end tests
#   tests/run.sh unit         unit tests only
#   tests/run.sh e2e          end-to-end tests only (needs root)
#   tests/run.sh e2e -R t0001 extra arguments go to ctest
#
# Works from any directory. On a fresh Debian 12 run it as root: missing
# packages are installed with apt-get (and their services kept stopped; the
# tests start their own servers in temp dirs). The build goes to build-test/.
# Exits non-zero if anything fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
build=$root/build-test
start=$SECONDS

mode=all
case ${1:-} in
unit | e2e | all)
	mode=$1
	shift
	;;
esac

log() { printf 'run.sh: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- packages

packages=(build-essential cmake pkg-config libzookeeper-mt-dev libcurl4-openssl-dev libssl-dev
	libcjson-dev libmicrohttpd-dev libcmocka-dev mandoc debhelper prometheus systemd jq zookeeper etcd-server haproxy docker.io
	busybox-static curl wrk iproute2 procps)
# Missing ones are installed with their services kept stopped (the tests
# start their own servers in temp dirs): see tests/lib/deps.sh.
. "$root/tests/lib/deps.sh"
SD_DEPS_NAME=run.sh sd_install_packages "${packages[@]}" || exit

# ---------------------------------------------------------------- build

# Sanitizers: stop at the first error with a stack trace; report leaks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_leaks=1:print_stacktrace=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-print_suppressions=0}

log "configuring $build"
if ! cmake -S "$root" -B "$build" -DSMARTDOCK_SANITIZE=ON; then
	echo "run.sh: FAILED: cmake configure (total $((SECONDS - start))s)"
	exit 1
fi
log "building"
if ! cmake --build "$build" -j2; then
	echo "run.sh: FAILED: build (total $((SECONDS - start))s)"
	exit 1
fi

# ---------------------------------------------------------------- tests

results=()
failed=0
run_label() {
	local label=$1 t0=$SECONDS rc=0
	shift
	log "running $label tests"
	ctest --test-dir "$build" --output-on-failure -L "^$label\$" "$@" || rc=$?
	if [ $rc = 0 ]; then
		results+=("$label PASS ($((SECONDS - t0))s)")
	else
		results+=("$label FAIL ($((SECONDS - t0))s)")
		failed=1
	fi
}

case $mode in
all)
	run_label unit "$@"
	run_label e2e "$@"
	;;
*) run_label "$mode" "$@" ;;
esac

summary=$(printf '%s, ' "${results[@]}")
if [ $failed = 0 ]; then
	echo "run.sh: OK: ${summary%, } (total $((SECONDS - start))s)"
else
	echo "run.sh: FAILED: ${summary%, } (total $((SECONDS - start))s)"
fi
exit $failed
