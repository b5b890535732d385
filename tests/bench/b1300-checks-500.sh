#!/usr/bin/env bash
# Health-check benchmark: 500 Nerve services, each with one http check every
# 0.5 s (2 checks per second each, 1000 requests per second in all) against
# 10 local hello servers, on the registrator's one loop thread.
#
#   bash tests/bench/b1300-checks-500.sh
#   BENCH_CHECKS=100 BENCH_WINDOW_S=10 bash tests/bench/b1300-checks-500.sh
#
# Reports, over a window of BENCH_WINDOW_S seconds once every service is up:
# the registrator's CPU share (utime+stime over wall time, 100% = one core),
# its peak RSS (VmHWM), the checks per second the servers saw, and how well
# the loop keeps time: for each service, the interval between the starts of
# two consecutive checks as the server logged them, less the 500 ms
# check_interval (Nerve's schedule is check_interval after the previous round
# ended, so ideally one check's duration), as p50/p99/max/min over every
# interval.
. "$(dirname "$0")/bench-lib.sh"
sd_need_root
bench_build
sd_setup

N=${BENCH_CHECKS:-500}
SERVERS=${BENCH_SERVERS:-10}
WINDOW=${BENCH_WINDOW_S:-30}
sd_log "$(bench_machine)"
sd_zk_start
hello=$(sd_hello_bin)
mapfile -t ports < <(bench_ports "$SERVERS")
for ((k = 0; k < SERVERS; k++)); do
	sd_bg "srv$k" "$hello" 127.0.0.2 "${ports[k]}" "srv$k" --log
done
for ((k = 0; k < SERVERS; k++)); do
	sd_wait_for "server $k listening" 20 sd_port_open 127.0.0.2 "${ports[k]}"
done

{
	echo "{\"instance_id\": \"bench\", \"services\": {"
	for ((i = 0; i < N; i++)); do
		[ $i -gt 0 ] && echo ","
		printf '"s%d": {"host": "127.0.0.2", "port": %d, "zk_hosts": ["%s"], "zk_path": "/bench/s%d", "check_interval": 0.5, "checks": [{"type": "http", "uri": "/health?s=%d", "timeout": 0.5}]}' \
			"$i" "${ports[i % SERVERS]}" "$SD_ZK_ADDR" "$i" "$i"
	done
	echo "}}"
} >"$SD_TMP/nerve.json"
"$SD_BIN/smartdock-registrator" --check -c "$SD_TMP/nerve.json" >/dev/null
start_ms=$(bench_now_ms)
sd_bg reg "$SD_BIN/smartdock-registrator" -c "$SD_TMP/nerve.json"
reg_pid=$(sd_pid reg)
ups() { grep -c "health: .* is up" "$SD_TMP/reg.log" || true; }
all_up() { [ "$(ups)" -ge "$N" ]; }
sd_wait_for "all $N services up" 300 all_up
up_ms=$(($(bench_now_ms) - start_ms))

# The measured window.
cpu0=$(bench_proc_cpu_ms "$reg_pid")
w0=$(bench_now_ms)
sleep "$WINDOW" # a benchmark's measuring window, not a synchronisation
cpu1=$(bench_proc_cpu_ms "$reg_pid")
w1=$(bench_now_ms)
read -r hwm rss < <(bench_proc_mem "$reg_pid")
down=$(grep -c "is down" "$SD_TMP/reg.log" || true)

# Check start times as the servers logged them, within the window, paired
# per service (tests/bench/check-spread.sh; tests/lint/bench-check-spread.sh
# tests the pairing).
checks=$(cat "$SD_TMP"/srv*.log | awk -v a="$w0" -v b="$w1" '$2 == "request" && $4 ~ /^\/health\?s=/ {
	split($1, p, "."); t = (p[1] * 1000 - a) + p[2]; if (t >= 0 && t <= b - a) n++ } END { print n + 0 }')
read -r n p50 p99 max min < <("$SD_BENCH_DIR/check-spread.sh" "$w0" "$w1" 500 "$SD_TMP"/srv*.log)
cpu_pct=$(awk -v c=$((cpu1 - cpu0)) -v w=$((w1 - w0)) 'BEGIN { printf "%.1f", c * 100 / w }')
rate=$(awk -v c="$checks" -v w=$((w1 - w0)) 'BEGIN { printf "%.0f", c * 1000 / w }')

bench_result all_up_ms "$up_ms" ms
bench_result cpu_share "$cpu_pct" percent
bench_result peak_rss "$hwm" KiB
bench_result checks_per_s "$rate" 1/s
bench_result deviation_p50 "$p50" ms
bench_result deviation_p99 "$p99" ms
bench_result deviation_max "$max" ms
bench_result deviation_min "$min" ms
cat <<REPORT

b1300: $N http checks every 0.5 s against $SERVERS local servers, ${WINDOW} s window
  all up after            $up_ms ms
  registrator CPU         $cpu_pct % of one core
  registrator peak RSS    $hwm KiB (RSS now $rss KiB)
  checks seen             $checks ($rate per second; ideal $((N * 2)))
  start-to-start deviation from 500 ms: p50 $p50 ms, p99 $p99 ms, max $max ms, min $min ms
                          over $n intervals (ideal: one check's duration, never negative)
  load                    $(uptime)
  down transitions        $down
REPORT
cat "$SD_TMP/results"
