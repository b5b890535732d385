# shellcheck shell=bash
# tests/bench/bench-lib.sh: what only the tests/bench/bNNNN-*.sh benchmarks
# need. It sources tests/lib/lib.sh and tests/lib/smartdock.sh itself (after
# choosing SMARTDOCK_BUILD_DIR, which lib.sh reads when sourced), so a
# benchmark sources this file alone and everything else is the tests' own.
#
# Benchmarks default to a release build without sanitizers in build-bench
# (built here if missing). Results go to stdout as "RESULT name value unit"
# lines (and to $BENCH_RESULTS when set, appended), then a readable table.

SD_BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SMARTDOCK_BUILD_DIR=${SMARTDOCK_BUILD_DIR:-$(cd "$SD_BENCH_DIR/../.." && pwd)/build-bench}
# shellcheck source=../lib/lib.sh
. "$SD_BENCH_DIR/../lib/lib.sh"
# shellcheck source=../lib/smartdock.sh
. "$SD_BENCH_DIR/../lib/smartdock.sh"

# bench_build: configure and build the release binaries the benchmarks use.
# Only the daemons and zkctl: the unit tests are not needed here (and at -O3
# test_syn_config.c trips -Werror=format-truncation, 2026-11-25).
bench_build() {
	local src out bin=$SMARTDOCK_BUILD_DIR
	src=$(cd "$SD_BENCH_DIR/../.." && pwd)
	if [ ! -f "$bin/CMakeCache.txt" ]; then
		cmake -S "$src" -B "$bin" -DCMAKE_BUILD_TYPE=Release -DSMARTDOCK_SANITIZE=OFF >/dev/null
	fi
	if ! out=$(cmake --build "$bin" -j2 --target smartdock-registrator smartdock-watcher zkctl 2>&1); then
		# a half-edited tree must not stop a benchmark of what was built
		# before; say so loudly
		if [ -x "$bin/smartdock-registrator" ] && [ -x "$bin/smartdock-watcher" ] && [ -x "$bin/tests/zkctl" ]; then
			tail -n 5 <<<"$out" >&2
			sd_log "WARNING: build failed; benchmarking the binaries already in $bin (built $(date -r "$bin/smartdock-watcher" '+%F %T'))"
		else
			echo "$out" >&2
			sd_fail "cannot build the benchmark binaries in $bin"
		fi
	fi
}

# bench_ports N: reserve N TCP ports the way sd_free_port does (a lock file
# each in /tmp/sd-ports, released at teardown), with one `ss` for all of
# them; print them, one a line.
bench_ports() {
	local want=$1 lo=10000 hi eph_lo port got=0 used tries=0
	read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range
	hi=$((eph_lo - 1))
	used=" $(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u | tr '\n' ' ') "
	port=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
	while [ $got -lt "$want" ]; do
		tries=$((tries + 1))
		[ $tries -gt $((want * 20 + 1000)) ] && sd_fail "bench_ports: cannot find $want free ports"
		port=$((port + 1))
		[ $port -ge $hi ] && port=$lo
		[[ $used == *" $port "* ]] && continue
		_sd_reserve_port "$port" || continue
		echo "$port"
		got=$((got + 1))
	done
}

# bench_now_ms: wall-clock ms since the epoch.
bench_now_ms() {
	local ns
	ns=$(date +%s%N)
	echo $((ns / 1000000))
}

# bench_log_ms LINE: the epoch ms of a smartdock log line
# ("2026-11-25T07:57:37.123Z INFO  watcher: ...").
bench_log_ms() {
	local ts=${1%% *}
	ts=${ts%Z}
	date -u -d "${ts/T/ } UTC" +%s%3N
}

# bench_proc_mem PID: "VmHWM_KiB VmRSS_KiB" of a running process.
bench_proc_mem() {
	awk '/^VmHWM:/ { h = $2 } /^VmRSS:/ { r = $2 } END { print h, r }' "/proc/$1/status"
}

# bench_proc_rss_split PID: "RssAnon_KiB RssFile_KiB" of a running process:
# its heap and other private memory, and the pages of its binary and
# libraries (which a lazy dlopen, not a smaller heap, brings down).
bench_proc_rss_split() {
	awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } END { print a, f }' "/proc/$1/status"
}

# bench_proc_smaps PID TAG: with BENCH_SMAPS=DIR, keeps a copy of the
# process's /proc/PID/smaps and status as DIR/TAG.smaps and DIR/TAG.status
# (what the resident memory is made of: heap, stacks, each library).
bench_proc_smaps() {
	[ -n "${BENCH_SMAPS:-}" ] || return 0
	mkdir -p "$BENCH_SMAPS"
	cat "/proc/$1/smaps" >"$BENCH_SMAPS/$2.smaps" 2>/dev/null || true
	cat "/proc/$1/status" >"$BENCH_SMAPS/$2.status" 2>/dev/null || true
	# and glibc's own account of its heap (needs gdb; stops the process for
	# a moment, which on a loaded machine can outlast a short ZooKeeper
	# session)
	if command -v gdb >/dev/null; then
		gdb -p "$1" -batch -ex "set \$f = (void *)fopen(\"$BENCH_SMAPS/$2.malloc_info\", \"w\")" \
			-ex 'call (int)malloc_info(0, $f)' -ex 'call (int)fclose($f)' >/dev/null 2>&1 || true
	fi
}

# bench_proc_cpu_ms PID: utime + stime of a running process, in ms.
bench_proc_cpu_ms() {
	local tck
	tck=$(getconf CLK_TCK)
	# the command name (field 2) may contain spaces: count from after ")"
	sed 's/.*) //' "/proc/$1/stat" | awk -v t="$tck" '{ print int(($12 + $13) * 1000 / t) }'
}

# bench_stats LIST: "p50 p99 max n" of whitespace-separated numbers
# (nearest-rank percentiles).
bench_stats() {
	tr -s ' \n' '\n' <<<"$1" | grep -E '^-?[0-9.]+$' | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - - 0"; exit }
			p50 = int(NR * 0.50 + 0.999999); p99 = int(NR * 0.99 + 0.999999)
			if (p50 < 1) p50 = 1
			if (p99 < 1) p99 = 1
			print v[p50], v[p99], v[NR], NR
		}'
}

# bench_median_range LIST: "median min max n" (median of an even count: the
# mean of the two middle values).
bench_median_range() {
	tr -s ' \n' '\n' <<<"$1" | grep -E '^-?[0-9.]+$' | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - - 0"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR], NR
		}'
}

# bench_result NAME VALUE UNIT: one machine-readable line.
bench_result() {
	local line="RESULT $SD_TEST_NAME.$1 $2 $3"
	echo "$line" >>"$SD_TMP/results"
	[ -n "${BENCH_RESULTS:-}" ] && echo "$line" >>"$BENCH_RESULTS"
	return 0
}

# bench_machine: one line about the machine, and the load before we start.
bench_machine() {
	local hv zv
	hv=$(haproxy -v 2>/dev/null | awk 'NR == 1 { print $3 }')
	zv=$(dpkg-query -W -f '${Version}' zookeeper 2>/dev/null || echo '?')
	local rev
	rev=$(git -C "$SD_BENCH_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')
	git -C "$SD_BENCH_DIR" diff --quiet HEAD -- ../../common ../../registrator ../../watcher 2>/dev/null || rev="$rev+changes"
	echo "smartdock $rev, binaries $SMARTDOCK_BUILD_DIR ($(date -r "$SMARTDOCK_BUILD_DIR/smartdock-watcher" '+%F %T' 2>/dev/null))"
	echo "machine: nproc=$(nproc) kernel=$(uname -r) haproxy=$hv zookeeper=$zv docker=$(dpkg-query -W -f '${Version}' docker.io 2>/dev/null || echo '?') load=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
}
