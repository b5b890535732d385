#!/usr/bin/env bash
# Watcher benchmark: S services × 10 backends registered at once in
# ZooKeeper, as Nerve-format ephemeral sequential znodes; how long from the
# last znode written until haproxy.cfg names every server, until HAProxy has
# been told to reload, and until a HAProxy worker serves all of them; render
# time and the watcher's memory.
#
#   bash tests/bench/b0200-watcher-1000x10.sh            # sizes 1 100 1000, 5 runs each
#   BENCH_SIZES="100" BENCH_RUNS=6 bash tests/bench/b0200-watcher-1000x10.sh
#   BENCH_PERF=1 SD_KEEP=1 ...   # also `perf record -g` the watcher during the burst
#
# Method (as Synapse's in /work/shared/PEERS.md): ZooKeeper 3.8 and HAProxy
# 2.6 on loopback, the watcher running and idle (past restart_interval) with
# every service's path present and empty, then a test client writes all
# S×10 znodes in one go (zkctl bulk-create: all creates pipelined on one
# session). restart_interval is the default (2 s), as for Synapse. Each
# service gets its own frontend port; servers point at 127.0.0.2:20001..10
# with no health checks. HAProxy runs in master-worker mode and is reloaded
# with USR2 (reload_command), as in tests/e2e/t0200. Every run uses a fresh
# watcher, a fresh HAProxy and a fresh ZooKeeper path.
# bench-lib.sh points SMARTDOCK_BUILD_DIR at build-bench and sources tests/lib.
. "$(dirname "$0")/bench-lib.sh"
sd_need_root
sd_need_cmd haproxy java
bench_build
sd_setup

SIZES=${BENCH_SIZES:-1 100 1000}
RUNS=${BENCH_RUNS:-5}
BACKENDS=10
sd_log "$(bench_machine)"
sd_zk_start
sd_zkctl create /bench '' >/dev/null

stats_port=$(sd_free_port)

# haproxy_act: total of active servers over every backend of the HAProxy
# worker answering on the stats socket ("act" column of `show stat`).
haproxy_act() {
	local out
	out=$(
		exec 3<>"/dev/tcp/127.0.0.1/$stats_port" || exit 1
		echo "show stat -1 2 -1" >&3
		timeout 5 cat <&3
	) 2>/dev/null || return 1
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "act") c = i; next }
		c && $2 == "BACKEND" { n += $c } END { print n + 0 }' <<<"$out"
}

# write_config FILE S ROOT DO_RELOADS: the watcher's Synapse config.
write_config() {
	local file=$1 s=$2 root=$3 reloads=$4 i sep=''
	{
		echo '{"services": {'
		for ((i = 1; i <= s; i++)); do
			printf '%s"s%d": {"discovery": {"method": "zookeeper", "hosts": ["%s"], "path": "%s/s%d"},\n' \
				"$sep" "$i" "$SD_ZK_ADDR" "$root" "$i"
			printf '  "haproxy": {"port": %d, "bind_address": "127.0.0.1", "listen": ["mode http"]}}\n' \
				"${ports[i - 1]}"
			sep=','
		done
		cat <<-JSON
			},
			"haproxy": {
			  "config_file_path": "$SD_TMP/haproxy.cfg",
			  "do_writes": true,
			  "do_reloads": $reloads,
			  "reload_command": "n=\$(grep -c '^[[:space:]]*server ' $SD_TMP/haproxy.cfg); kill -USR2 \$(cat $SD_TMP/haproxy.master); echo \$(date +%s%N) \$n >> $SD_TMP/reloads",
			  "global": ["maxconn 4096", "stats socket ipv4@127.0.0.1:$stats_port level admin"],
			  "defaults": ["mode http", "timeout connect 2s", "timeout client 30s", "timeout server 30s"]
			}}
		JSON
	} >"$file"
}

# one_run S RUN: one measurement; appends "S last_to_cfg last_to_reload
# last_to_serving render_ms hwm_kib rss_kib write_ms" to $SD_TMP/runs.
one_run() {
	local s=$1 run=$2 root=/bench/s$1r$2 i j want
	want=$((s * BACKENDS))
	: >"$SD_TMP/reloads"
	# a fresh watcher: no haproxy.cfg, and no state file from the run before
	rm -f "$SD_TMP/haproxy.cfg" "$SD_TMP/haproxy.cfg.state.json"

	# the services' paths, persistent and empty
	{
		echo "$root"
		for ((i = 1; i <= s; i++)); do echo "$root/s$i"; done
	} >"$SD_TMP/dirs"
	sd_zkctl bulk-create "$SD_TMP/dirs" >/dev/null
	# the registrations: Nerve JSON, as smartdock-registrator writes them
	for ((i = 1; i <= s; i++)); do
		for ((j = 1; j <= BACKENDS; j++)); do
			printf '%s/s%d/127.0.0.2_%d_ {"host":"127.0.0.2","port":%d,"name":"s%d-%d","weight":1}\n' \
				"$root" "$i" $((20000 + j)) $((20000 + j)) "$i" "$j"
		done
	done >"$SD_TMP/nodes"

	# first haproxy.cfg from --once, HAProxy on it, then the watcher
	write_config "$SD_TMP/once.json" "$s" "$root" false
	"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json" >>"$SD_TMP/once.log" 2>&1
	# as sd_haproxy_start, but ready when the stats socket answers: its
	# `ss -p` check takes seconds per try with 1000 listeners
	mkdir -p "$SD_TMP/haproxy"
	sd_bg haproxy haproxy -W -db -f "$SD_TMP/haproxy.cfg" -S "$SD_TMP/haproxy/master.sock"
	sd_wait_for "haproxy answers on its stats socket" 60 haproxy_act
	sd_haproxy_pid >"$SD_TMP/haproxy.master"
	write_config "$SD_TMP/watcher.json" "$s" "$root" true
	local wname=watcher-s$s-r$run
	sd_bg "$wname" "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
	sd_wait_for "first render" 60 sd_log_has "$wname" "haproxy\\.cfg text"
	# idle: the first apply done and restart_interval (2 s) over
	sleep 3
	local reloads_before cpu_before zk_cpu_before checks_before
	reloads_before=$(wc -l <"$SD_TMP/reloads")
	cpu_before=$(bench_proc_cpu_ms "$(sd_pid "$wname")")
	zk_cpu_before=$(bench_proc_cpu_ms "$(sd_pid zk)")
	checks_before=$(grep -c "started haproxy -c" "$SD_TMP/$wname.log" || true)

	if [ "${BENCH_PERF:-0}" = 1 ]; then
		sd_bg "perf-s$s-r$run" perf record -q -F 999 -g -p "$(sd_pid "$wname")" -o "$SD_TMP/perf-s$s-r$run.data"
		sleep 0.5
	fi
	sd_bg "writer-s$s-r$run" "$SD_ZKCTL" "$SD_ZK_ADDR" bulk-create "$SD_TMP/nodes" ephemeral sequential hold
	sd_wait_for "znodes written" 120 sd_log_has "writer-s$s-r$run" "^created $want failed 0 "
	local wline first_ms last_ms
	wline=$(grep '^created ' "$SD_TMP/writer-s$s-r$run.log")
	first_ms=$(awk '{ print $6 }' <<<"$wline")
	last_ms=$(awk '{ print $8 }' <<<"$wline")

	# a reload of a config naming every server, then a worker serving them
	sd_wait_for "reload with all $want servers" 120 \
		awk -v n="$want" -v b="$reloads_before" 'NR > b && $2 == n { f = 1 } END { exit !f }' "$SD_TMP/reloads"
	local serving_ms=''
	local deadline=$((SECONDS + 120))
	while [ $SECONDS -lt $deadline ]; do
		if [ "$(haproxy_act)" = "$want" ]; then
			serving_ms=$(bench_now_ms)
			break
		fi
		sleep 0.02
	done
	[ -n "$serving_ms" ] || sd_fail "no HAProxy worker serves all $want servers"
	grep -c '^[[:space:]]*server ' "$SD_TMP/haproxy.cfg" | grep -qx "$want" || sd_fail "haproxy.cfg does not name all servers"

	# from the watcher's log: the render and the write of the full config
	local wlog=$SD_TMP/$wname.log full_bytes rline wrline cfg_ms render_ms reload_ns
	full_bytes=$(stat -c %s "$SD_TMP/haproxy.cfg")
	rline=$(grep -m1 "haproxy.cfg text ($full_bytes bytes)" "$wlog")
	wrline=$(grep -m1 "wrote $SD_TMP/haproxy.cfg ($full_bytes bytes)" "$wlog")
	# "render: K of N services in A us, haproxy.cfg text (B bytes) in C us"
	render_ms=$(awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^us,?$/) s += $(i - 1) } END { print int(s / 1000) }' <<<"$rline")
	cfg_ms=$(bench_log_ms "$wrline")
	reload_ns=$(awk -v n="$want" -v b="$reloads_before" 'NR > b && $2 == n { print $1; exit }' "$SD_TMP/reloads")
	local mem pid
	pid=$(sd_pid "$wname")
	mem=$(bench_proc_mem "$pid")
	local nrel
	nrel=$(($(wc -l <"$SD_TMP/reloads") - reloads_before))
	local cpu zk_cpu renders render_sum checks
	cpu=$(($(bench_proc_cpu_ms "$pid") - cpu_before))
	zk_cpu=$(($(bench_proc_cpu_ms "$(sd_pid zk)") - zk_cpu_before))
	checks=$(($(grep -c "started haproxy -c" "$wlog") - checks_before))
	# renders during the burst and their total time
	read -r renders render_sum < <(awk -v t="$(date -u -d "@$((first_ms / 1000))" +%Y-%m-%dT%H:%M:%S)" '
		/haproxy.cfg text \(/ && substr($1, 1, 19) >= t { n++; for (i = 2; i <= NF; i++) if ($i ~ /^us,?$/) s += $(i - 1) }
		END { print n + 0, int(s / 1000) }' "$wlog")
	echo "$s $((cfg_ms - last_ms)) $((reload_ns / 1000000 - last_ms)) $((serving_ms - last_ms)) $render_ms $mem $((last_ms - first_ms)) $nrel $cpu $zk_cpu $renders $render_sum $checks" >>"$SD_TMP/runs"
	sd_log "S=$s run $run: last znode → cfg $((cfg_ms - last_ms)) ms, → reload $((reload_ns / 1000000 - last_ms)) ms, → serving $((serving_ms - last_ms)) ms; render $render_ms ms; VmHWM $mem KiB; $nrel reloads"

	if [ "${BENCH_PERF:-0}" = 1 ]; then
		sd_kill "perf-s$s-r$run" INT
		sd_wait_for "perf written" 60 bash -c "! kill -0 $(sd_pid "perf-s$s-r$run") 2>/dev/null"
	fi
	sd_kill "$wname" TERM
	sd_kill "writer-s$s-r$run" TERM
	sd_haproxy_stop
}

: >"$SD_TMP/runs"
for s in $SIZES; do
	mapfile -t ports < <(bench_ports "$s")
	for ((r = 1; r <= RUNS; r++)); do
		one_run "$s" "$r"
	done
done

# ---------------------------------------------------------------- report
{
	echo
	echo "== $SD_TEST_NAME: $RUNS runs per size, $BACKENDS backends per service; median (min–max)"
	bench_machine
	printf '%-9s %-22s %-22s %-22s %-16s %-20s %-8s\n' services "last znode→cfg ms" "→reload cmd ms" "→HAProxy serving ms" "render ms" "VmHWM KiB" reloads
	for s in $SIZES; do
		col() { bench_median_range "$(awk -v s="$s" -v c="$1" '$1 == s { print $c }' "$SD_TMP/runs")"; }
		fmt() { awk '{ printf "%s (%s–%s)", $1, $2, $3 }' <<<"$1"; }
		c2=$(col 2) c3=$(col 3) c4=$(col 4) c5=$(col 5) c6=$(col 6) c7=$(col 7) c9=$(col 9) c10=$(col 10)
		printf '%-9s %-22s %-22s %-22s %-16s %-20s %-8s\n' "${s}x$BACKENDS" "$(fmt "$c2")" "$(fmt "$c3")" \
			"$(fmt "$c4")" "$(fmt "$c5")" "$(fmt "$c6")" "$(fmt "$c9")"
		read -r m lo hi _ <<<"$c2"; bench_result "s${s}.last_to_cfg_ms.median" "$m" ms; bench_result "s${s}.last_to_cfg_ms.min" "$lo" ms; bench_result "s${s}.last_to_cfg_ms.max" "$hi" ms
		read -r m lo hi _ <<<"$c3"; bench_result "s${s}.last_to_reload_ms.median" "$m" ms; bench_result "s${s}.last_to_reload_ms.min" "$lo" ms; bench_result "s${s}.last_to_reload_ms.max" "$hi" ms
		read -r m lo hi _ <<<"$c4"; bench_result "s${s}.last_to_serving_ms.median" "$m" ms; bench_result "s${s}.last_to_serving_ms.min" "$lo" ms; bench_result "s${s}.last_to_serving_ms.max" "$hi" ms
		read -r m lo hi _ <<<"$c5"; bench_result "s${s}.render_ms.median" "$m" ms; bench_result "s${s}.render_ms.max" "$hi" ms
		read -r m lo hi _ <<<"$c6"; bench_result "s${s}.vmhwm_kib.median" "$m" KiB; bench_result "s${s}.vmhwm_kib.max" "$hi" KiB
		read -r m lo hi _ <<<"$c7"; bench_result "s${s}.vmrss_kib.median" "$m" KiB
		bench_result "s${s}.write_all_ms.median" "$(col 8 | cut -d' ' -f1)" ms
		read -r m lo hi _ <<<"$c9"; bench_result "s${s}.reloads.median" "$m" count; bench_result "s${s}.reloads.max" "$hi" count
		read -r m lo hi _ <<<"$c10"; bench_result "s${s}.watcher_cpu_ms.median" "$m" ms
		bench_result "s${s}.zk_cpu_ms.median" "$(col 11 | cut -d' ' -f1)" ms
		bench_result "s${s}.renders.median" "$(col 12 | cut -d' ' -f1)" count
		bench_result "s${s}.render_total_ms.median" "$(col 13 | cut -d' ' -f1)" ms
		bench_result "s${s}.haproxy_checks.median" "$(col 14 | cut -d' ' -f1)" count
	done
	echo "(writing all znodes took: $(for s in $SIZES; do printf '%sx%s %s ms; ' "$s" "$BACKENDS" "$(bench_median_range "$(awk -v s="$s" '$1 == s { print $8 }' "$SD_TMP/runs")" | cut -d' ' -f1)"; done))"
	echo "per run: services last_to_cfg_ms last_to_reload_ms last_to_serving_ms render_ms vmhwm_kib vmrss_kib write_ms reloads watcher_cpu_ms zk_cpu_ms renders render_total_ms haproxy_checks"
	echo "(cpu, renders and checks counted from the start of the writes)"
	sed 's/^/  /' "$SD_TMP/runs"
	cat "$SD_TMP/results"
} | tee -a "$SD_TMP/report"
sd_log "done"
