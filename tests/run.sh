#!/usr/bin/env bash
# tests/run.sh: install what the tests need, build with sanitizers, run them.
#
#   tests/run.sh              unit tests, a short fuzz run (5 s a target), then
#                             end-to-end tests
#   tests/run.sh unit         unit tests only
#   tests/run.sh e2e          end-to-end tests only (needs root)
#   tests/run.sh e2e -R t0001 extra arguments go to ctest
#   tests/run.sh fuzz [SECS]  builds tests/fuzz with clang into build-fuzz/ and
#                             runs every fuzz_* target for SECS seconds (30);
#                             inputs that crash are kept in build-fuzz/crashes/
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
unit | e2e | all | fuzz)
	mode=$1
	shift
	;;
esac
fuzz_seconds=5
if [ "$mode" = fuzz ]; then
	fuzz_seconds=${1:-30}
	[ $# -gt 0 ] && shift
fi

log() { printf 'run.sh: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- packages

packages=(build-essential cmake pkg-config libzookeeper-mt-dev libcurl4-openssl-dev libssl-dev
	libcjson-dev libmicrohttpd-dev libyaml-dev libc-ares-dev libcmocka-dev clang libclang-rt-14-dev mandoc debhelper prometheus systemd jq zookeeper etcd-server haproxy docker.io
	busybox-static curl wrk iproute2 procps dnsmasq)
# Missing ones are installed with their services kept stopped (the tests
# start their own servers in temp dirs): see deploy/lib/deps.sh.
. "$root/deploy/lib/deps.sh"
SD_DEPS_NAME=run.sh sd_install_packages "${packages[@]}" || exit

# Sanitizers: stop at the first error with a stack trace; report leaks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_leaks=1:print_stacktrace=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-print_suppressions=0}

# ---------------------------------------------------------------- fuzz

# Every tests/fuzz/fuzz_* target for $1 seconds, each from a copy of its seed
# corpus (tests/fuzz/corpus/<target>/, which stays as committed). A crash,
# leak or sanitizer report fails the run; its input is kept.
run_fuzz() {
	local seconds=$1 fuzz_build=$root/build-fuzz t0=$SECONDS rc=0
	log "building fuzz targets in $fuzz_build"
	if ! CC=clang cmake -S "$root" -B "$fuzz_build" -DSMARTDOCK_FUZZ=ON >/dev/null ||
		! cmake --build "$fuzz_build" -j2 >/dev/null; then
		results+=("fuzz FAIL (build)")
		failed=1
		return
	fi
	mkdir -p "$fuzz_build/crashes"
	local target name
	for target in "$fuzz_build"/tests/fuzz/fuzz_*; do
		[ -x "$target" ] || continue
		name=$(basename "$target")
		rm -rf "$fuzz_build/corpus/$name"
		mkdir -p "$fuzz_build/corpus/$name"
		cp -r "$root/tests/fuzz/corpus/$name/." "$fuzz_build/corpus/$name/" 2>/dev/null || true
		log "fuzzing $name for ${seconds}s"
		if ! "$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
			-artifact_prefix="$fuzz_build/crashes/$name-" \
			"$fuzz_build/corpus/$name" >"$fuzz_build/$name.log" 2>&1; then
			log "$name FAILED; see $fuzz_build/$name.log and $fuzz_build/crashes/$name-*"
			tail -n 30 "$fuzz_build/$name.log" >&2
			rc=1
		else
			log "$name: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$fuzz_build/$name.log" | tail -n 1)"
		fi
	done
	if [ $rc = 0 ]; then
		results+=("fuzz PASS ($((SECONDS - t0))s)")
	else
		results+=("fuzz FAIL ($((SECONDS - t0))s)")
		failed=1
	fi
}

results=()
failed=0
if [ "$mode" = fuzz ]; then
	run_fuzz "$fuzz_seconds"
	summary=$(printf '%s, ' "${results[@]}")
	[ $failed = 0 ] && echo "run.sh: OK: ${summary%, } (total $((SECONDS - start))s)" ||
		echo "run.sh: FAILED: ${summary%, } (total $((SECONDS - start))s)"
	exit $failed
fi

# ---------------------------------------------------------------- build

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

run_label() {
	local label=$1 t0=$SECONDS rc=0
	shift
	# Two at a time: every e2e script reserves its ports (sd_free_port) and
	# runs its servers from its own temp dir, so they do not collide, and
	# most of their time is spent waiting. SD_TEST_JOBS=1 runs them in turn.
	local jobs=${SD_TEST_JOBS:-2}
	log "running $label tests ($jobs at a time)"
	ctest --test-dir "$build" --output-on-failure -j "$jobs" -L "^$label\$" "$@" || rc=$?
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
	run_fuzz "$fuzz_seconds"
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
