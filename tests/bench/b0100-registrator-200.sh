#!/usr/bin/env bash
# Registrator benchmark: 200 containers started on one dockerd as fast as it
# allows, each registered by label; then all stopped.
#
#   bash tests/bench/b0100-registrator-200.sh
#   BENCH_CONTAINERS=50 BENCH_PARALLEL=4 bash tests/bench/b0100-registrator-200.sh
#
# Reports: first `docker run` → all znodes present; per container, Docker's
# `start` event (its timeNano) → the znode's ctime (ZooKeeper's clock; same
# machine, same clock) as p50/p99/max; then first `docker stop` → no znode
# left, and per container Docker's `kill` event → the registrator's
# "deregistered" log line (the delete's reply). The registrator's peak RSS
# (VmHWM) and CPU time (utime+stime) over the whole run.
#
# Containers: `--network host`, labels smartdock.service=bench and
# smartdock.port=PORT, each running `/bin/hello 127.0.0.2 PORT NAME` (exits at
# once on SIGTERM). dockerd uses vfs storage (tests/lib/lib.sh), so `docker
# run` copies the image's rootfs each time: on 2 cores the start rate is
# dockerd's, not the registrator's.
# bench-lib.sh points SMARTDOCK_BUILD_DIR at build-bench and sources tests/lib.
. "$(dirname "$0")/bench-lib.sh"
sd_need_root
bench_build
sd_setup

N=${BENCH_CONTAINERS:-200}
PAR=${BENCH_PARALLEL:-4}
DIR=/smartdock/services/bench
sd_log "$(bench_machine)"
sd_zk_start
sd_dockerd_start d1
sd_image d1

mapfile -t ports < <(bench_ports "$N")
sd_registrator_config "$SD_TMP/reg.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}'
"$SD_BIN/smartdock-registrator" --check -c "$SD_TMP/reg.json"
# BENCH_WRAP: a command to run the registrator under (heaptrack -o FILE, ...)
read -r -a wrap <<<"${BENCH_WRAP:-}"
sd_bg reg "${wrap[@]}" "$SD_BIN/smartdock-registrator" -v -c "$SD_TMP/reg.json"
sd_wait_for "registrator connected to docker" 60 sd_log_has reg "docker .*: connected"
reg_pid=$(sd_pid reg)
[ -n "${BENCH_WRAP:-}" ] && reg_pid=$(pgrep -n -f "smartdock-registrator -v -c $SD_TMP/reg.json")
read -r idle_hwm _ < <(bench_proc_mem "$reg_pid")
bench_proc_smaps "$reg_pid" idle

# One "PORT NAME" line per container; xargs runs PAR `docker run` at a time.
for ((i = 0; i < N; i++)); do echo "${ports[i]} b$i"; done >"$SD_TMP/containers"
export SD_TMP SD_DOCKER_CLI
run_one() {
	DOCKER_HOST=unix://$SD_TMP/d1/docker.sock DOCKER_CONFIG=$SD_TMP/.docker "$SD_DOCKER_CLI" \
		run -d --network host --name "$2" -l smartdock.service=bench -l smartdock.port="$1" \
		smartdock/hello /bin/hello 127.0.0.2 "$1" "$2" >/dev/null
}
stop_one() {
	DOCKER_HOST=unix://$SD_TMP/d1/docker.sock DOCKER_CONFIG=$SD_TMP/.docker "$SD_DOCKER_CLI" \
		stop -t 10 "$1" >/dev/null
}
export -f run_one stop_one

# Docker's events, streamed from before the first run (`docker events --since`
# afterwards would replay only the daemon's last 256 events; --since here
# covers the moment the stream takes to connect).
sd_bg events env "DOCKER_HOST=$DOCKER_HOST_d1" "DOCKER_CONFIG=$SD_TMP/.docker" "$SD_DOCKER_CLI" events \
	--since "$(date +%s)" --filter type=container --filter event=start --filter event=kill \
	--format '{{index .Actor.Attributes "smartdock.port"}} {{.Action}} {{.TimeNano}}'

# ---------------------------------------------------------------- start
t_run0=$(bench_now_ms)
sd_log "starting $N containers, $PAR at a time"
xargs -P "$PAR" -L 1 bash -c 'run_one "$@"' _ <"$SD_TMP/containers"
t_run_done=$(bench_now_ms)
sd_log "all $N docker run returned after $((t_run_done - t_run0)) ms"
sd_wait_for "$N znodes" 120 sd_zk_count_is "$DIR" "$N"

# znode ctimes and start events, joined on the port
sd_wait_for "$N start events" 60 bash -c "[ \$(grep -c ' start ' '$SD_TMP/events.log') -ge $N ]"
sd_zkctl ctimes "$DIR" | awk '{ split($1, a, "_"); print a[2], $2 }' | sort >"$SD_TMP/ctimes"
awk '$2 == "start" { print $1, substr($3, 1, length($3) - 6) }' "$SD_TMP/events.log" | sort >"$SD_TMP/starts"
join "$SD_TMP/starts" "$SD_TMP/ctimes" >"$SD_TMP/start_lat"
[ "$(wc -l <"$SD_TMP/start_lat")" = "$N" ] ||
	sd_fail "joined $(wc -l <"$SD_TMP/start_lat") start events with znodes, expected $N"
first_start=$(awk '{ print $2 }' "$SD_TMP/starts" | sort -n | head -1)
last_start=$(awk '{ print $2 }' "$SD_TMP/starts" | sort -n | tail -1)
last_ctime=$(awk '{ print $2 }' "$SD_TMP/ctimes" | sort -n | tail -1)
read -r s_p50 s_p99 s_max _ < <(bench_stats "$(awk '{ print $3 - $2 }' "$SD_TMP/start_lat")")
# the registrator's side: when it read each start event (its debug log line)
sd_docker d1 ps --no-trunc --format '{{.ID}} {{.Label "smartdock.port"}}' |
	awk '{ print substr($1, 1, 12), $2 }' | sort >"$SD_TMP/ids"
grep -E " docker event start container=" "$SD_TMP/reg.log" | awk '
	{ ts = $1; sub(/Z$/, "", ts); id = $NF; sub(/.*=/, "", id); if (!seen[id]++) print id, ts }' |
	while read -r id ts; do
		echo "$id $(date -u -d "${ts/T/ } UTC" +%s%3N)"
	done | sort >"$SD_TMP/ev_seen"
join "$SD_TMP/ids" "$SD_TMP/ev_seen" | awk '{ print $2, $3 }' | sort >"$SD_TMP/ev_seen_port"
join "$SD_TMP/starts" "$SD_TMP/ev_seen_port" >"$SD_TMP/ev_lat"
read -r e_p50 e_p99 e_max e_n < <(bench_stats "$(awk '{ print $3 - $2 }' "$SD_TMP/ev_lat")")

read -r hwm_up _ < <(bench_proc_mem "$reg_pid")
# Resident once the registrations have settled: the registrator gives the
# heap's free pages back a second after container changes.
sleep 2
read -r _ rss_up < <(bench_proc_mem "$reg_pid")
bench_proc_smaps "$reg_pid" registered
cpu_up=$(bench_proc_cpu_ms "$reg_pid")

# ---------------------------------------------------------------- stop
t_stop0=$(bench_now_ms)
sd_log "stopping $N containers, $PAR at a time"
awk '{ print $2 }' "$SD_TMP/containers" | xargs -P "$PAR" -L 1 bash -c 'stop_one "$1"' _ &
stop_pid=$!
sd_wait_for "no znode left" 300 sd_zk_count_is "$DIR" 0
t_zero=$(bench_now_ms)
wait "$stop_pid"
t_stop_done=$(bench_now_ms)

# kill events → "deregistered ... znode=DIR/127.0.0.2_PORT_..." log lines
sd_wait_for "$N kill events" 60 bash -c "[ \$(grep -c ' kill ' '$SD_TMP/events.log') -ge $N ]"
awk '$2 == "kill" && !seen[$1]++ { print $1, substr($3, 1, length($3) - 6) }' "$SD_TMP/events.log" | sort >"$SD_TMP/kills"
grep "deregistered .* znode=$DIR/" "$SD_TMP/reg.log" | awk -v t="$(date -u -d "@$((t_stop0 / 1000))" +%Y-%m-%dT%H:%M:%S)" '
	substr($1, 1, 19) >= t {
		ts = $1; sub(/Z$/, "", ts); z = $NF; sub(/.*\//, "", z); split(z, a, "_"); print a[2], ts
	}' | while read -r port ts; do
	echo "$port $(date -u -d "${ts/T/ } UTC" +%s%3N)"
done | sort >"$SD_TMP/dereg"
join "$SD_TMP/kills" "$SD_TMP/dereg" >"$SD_TMP/stop_lat"
read -r k_p50 k_p99 k_max k_n < <(bench_stats "$(awk '{ print $3 - $2 }' "$SD_TMP/stop_lat")")
last_dereg=$(awk '{ print $2 }' "$SD_TMP/dereg" | sort -n | tail -1)

read -r hwm rss < <(bench_proc_mem "$reg_pid")
bench_proc_smaps "$reg_pid" end
cpu=$(bench_proc_cpu_ms "$reg_pid")

# ---------------------------------------------------------------- report
bench_result containers "$N" count
bench_result docker_run_all_ms $((t_run_done - t_run0)) ms
bench_result first_run_to_all_znodes_ms $((last_ctime - t_run0)) ms
bench_result start_events_span_ms $((last_start - first_start)) ms
bench_result start_to_znode_p50_ms "$s_p50" ms
bench_result start_to_znode_p99_ms "$s_p99" ms
bench_result start_to_znode_max_ms "$s_max" ms
bench_result start_to_event_read_p50_ms "$e_p50" ms
bench_result start_to_event_read_p99_ms "$e_p99" ms
bench_result start_to_event_read_max_ms "$e_max" ms
bench_result first_stop_to_zero_znodes_ms $((last_dereg - t_stop0)) ms
bench_result docker_stop_all_ms $((t_stop_done - t_stop0)) ms
bench_result kill_to_deregistered_p50_ms "$k_p50" ms
bench_result kill_to_deregistered_p99_ms "$k_p99" ms
bench_result kill_to_deregistered_max_ms "$k_max" ms
bench_result kill_to_deregistered_n "$k_n" count
bench_result vmhwm_idle_kib "$idle_hwm" KiB
bench_result vmhwm_kib "$hwm" KiB
bench_result vmrss_registered_kib "$rss_up" KiB
bench_result vmrss_end_kib "$rss" KiB
bench_result cpu_after_start_ms "$cpu_up" ms
bench_result cpu_total_ms "$cpu" ms
{
	echo
	echo "== $SD_TEST_NAME: $N containers, $PAR parallel docker run/stop"
	bench_machine
	echo "first docker run → all $N znodes:        $((last_ctime - t_run0)) ms (docker run ×$N took $((t_run_done - t_run0)) ms; start events spread over $((last_start - first_start)) ms)"
	echo "start event → znode ctime, per container: p50 $s_p50 ms, p99 $s_p99 ms, max $s_max ms"
	echo "  of which start event → registrator reads it (its log, ms): p50 $e_p50 ms, p99 $e_p99 ms, max $e_max ms ($e_n joined)"
	echo "first docker stop → zero znodes:         $((last_dereg - t_stop0)) ms (the last \"deregistered\" log line; seen by polling after $((t_zero - t_stop0)) ms; docker stop ×$N took $((t_stop_done - t_stop0)) ms)"
	echo "kill event → deregistered, per container: p50 $k_p50 ms, p99 $k_p99 ms, max $k_max ms ($k_n joined)"
	echo "registrator VmHWM: $idle_hwm KiB idle, $hwm_up KiB after $N registrations, $hwm KiB at the end"
	echo "registrator VmRSS: $rss_up KiB 2 s after $N registrations, $rss KiB at the end"
	echo "registrator CPU (utime+stime): $cpu_up ms after the starts, $cpu ms in all"
	cat "$SD_TMP/results"
} | tee -a "$SD_TMP/report"
if [ -n "${BENCH_WRAP:-}" ]; then # the registrator alone, so the wrapper writes its data
	kill -TERM "$reg_pid"
	sd_wait_for "the wrapped registrator done" 120 bash -c "! kill -0 $(sd_pid reg) 2>/dev/null"
fi
sd_log "done"
