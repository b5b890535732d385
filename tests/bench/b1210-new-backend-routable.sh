#!/usr/bin/env bash
# Watcher benchmark (issue 12, "a new backend routable in 3 ms"): from a
# registration written to the first request answered by that backend
# through HAProxy, on the ZooKeeper path and on the etcd path, with the
# floor of this machine measured in the same run.
#
#   bash tests/bench/b1210-new-backend-routable.sh           # 50 trials per path
#   BENCH_TRIALS=20 BENCH_PATHS=zk bash tests/bench/b1210-new-backend-routable.sh
#
# Method: one service "web" (mode http, no health checks) with one backend
# "old" already in HAProxy; the watcher runs with the runtime API (stats
# socket, master-worker HAProxy reloaded by USR2 as in b1100) and -v. The
# client (tests/bench/routable.c) serves the backends itself and sends
# requests to HAProxy back to back, a fresh connection each, no gap. Per
# trial, after a quiet 300 ms, it writes one registration (an ephemeral
# sequential znode, or an etcd key) and takes the time until a request is
# answered by that backend; then deletes it. The floor per trial is a watch
# of its own on a second session/stream firing for the same write, plus an
# "add server" + "enable server" on the stats socket timed just before.
# Figures: p50/p99/max of write sent → first answer, and of the floor; the
# watcher's -v stage timings of the last trial are printed too.
. "$(dirname "$0")/bench-lib.sh"
sd_need_root
sd_need_cmd haproxy java etcd
bench_build
cmake --build "$SMARTDOCK_BUILD_DIR" -j2 --target routable >/dev/null || sd_fail "cannot build routable"
sd_setup

TRIALS=${BENCH_TRIALS:-50}
PATHS=${BENCH_PATHS:-zk etcd}
sd_log "$(bench_machine)"
cfg=$SD_TMP/haproxy.cfg
sock=$SD_TMP/haproxy.sock

one_path() {
	local kind=$1 lb svc reg path base disc
	lb=$(sd_free_port)
	base=$(sd_free_port)
	# the trial ports follow base: reserve them
	for ((i = 1; i <= TRIALS; i++)); do _sd_reserve_port $((base + i)) || true; done
	if [ "$kind" = zk ]; then
		sd_zk_start
		sd_zkctl create /bench '' >/dev/null
		sd_zkctl create /bench/web '' >/dev/null
		reg=$SD_ZK_ADDR path=/bench/web
		disc="{\"method\": \"zookeeper\", \"hosts\": [\"$SD_ZK_ADDR\"], \"path\": \"$path\"}"
	else
		sd_etcd_start
		reg=$SD_ETCD_ENDPOINT path=/bench/web
		disc="{\"method\": \"etcd\", \"endpoints\": [\"$SD_ETCD_ENDPOINT\"], \"path\": \"$path\"}"
	fi
	svc="{\"web\": {\"discovery\": $disc,
	        \"haproxy\": {\"port\": $lb, \"bind_address\": \"127.0.0.1\", \"listen\": [\"mode http\"]}}}"
	sd_watcher_config "$SD_TMP/once.json" "$svc" "\"do_reloads\": false, \"socket_file_path\": \"$sock\""
	"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json" >>"$SD_TMP/once.log" 2>&1
	sd_haproxy_start "$cfg"
	sd_watcher_config "$SD_TMP/watcher-$kind.json" "$svc" \
		"\"reload_command\": \"kill -USR2 $(sd_haproxy_pid)\", \"socket_file_path\": \"$sock\""
	sd_bg "watcher-$kind" "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher-$kind.json"
	sd_wait_for "runtime API confirmed" 60 sd_log_has "watcher-$kind" "runtime: stats socket .* answers from haproxy pid"
	local reloads0 pid0
	reloads0=$(sd_watcher_reloads "watcher-$kind")
	pid0=$(sd_hap_worker_pid "$sock")
	"$SD_BIN/tests/routable" "$kind" "$reg" "$path" "$lb" "$sock" web "$TRIALS" "$base" \
		>"$SD_TMP/routable-$kind.out" 2>"$SD_TMP/routable-$kind.err" ||
		sd_fail "routable $kind failed: $(cat "$SD_TMP/routable-$kind.err")"
	local reloads pid1
	reloads=$(($(sd_watcher_reloads "watcher-$kind") - reloads0))
	pid1=$(sd_hap_worker_pid "$sock")
	[ "$pid0" = "$pid1" ] || reloads="$reloads (worker pid changed)"
	local sent ack floor watch ae
	sent=$(awk '/^trial/ { print $4 / 1000 }' "$SD_TMP/routable-$kind.out")
	ack=$(awk '/^trial/ { print $6 / 1000 }' "$SD_TMP/routable-$kind.out")
	watch=$(awk '/^trial/ { print $8 / 1000 }' "$SD_TMP/routable-$kind.out")
	ae=$(awk '/^trial/ { print $10 / 1000 }' "$SD_TMP/routable-$kind.out")
	floor=$(awk '/^trial/ { print ($8 + $10) / 1000 }' "$SD_TMP/routable-$kind.out")
	local s a f w e
	s=$(bench_stats "$sent") a=$(bench_stats "$ack") f=$(bench_stats "$floor") w=$(bench_stats "$watch") e=$(bench_stats "$ae")
	{
		echo
		echo "== $SD_TEST_NAME ($kind): $TRIALS trials; ms p50 / p99 / max (n)"
		bench_machine
		echo "  write sent → first answer by it: $s"
		echo "  write acknowledged → first answer: $a"
		echo "  floor (own watch fired + add/enable): $f"
		echo "    own watch fired after the write: $w"
		echo "    add server + enable server: $e"
		echo "  reloads during the trials: $reloads; $(grep '^requests' "$SD_TMP/routable-$kind.out")"
		grep -E 'reloading instead|falling back|not adopting' "$SD_TMP/watcher-$kind.log" | sed 's/^/    why: /' | head -n 3
		echo "  stages of the last trial (watcher -v):"
		grep -E 'watch fired|listed|read .* after the watch|backends read and decoded|render:|runtime: planned|answered .* into its batch|etcd .*(event|watch)|stage' \
			"$SD_TMP/watcher-$kind.log" | tail -n 12 | sed 's/^/    /'
	} | tee -a "$SD_TMP/report"
	read -r p50 p99 max _ <<<"$s"
	bench_result "$kind.sent_to_answer_ms.p50" "$p50" ms
	bench_result "$kind.sent_to_answer_ms.p99" "$p99" ms
	bench_result "$kind.sent_to_answer_ms.max" "$max" ms
	read -r p50 p99 max _ <<<"$f"
	bench_result "$kind.floor_ms.p50" "$p50" ms
	bench_result "$kind.floor_ms.p99" "$p99" ms
	bench_result "$kind.reloads" "${reloads%% *}" count
	sd_kill "watcher-$kind" TERM
	sd_haproxy_stop
	if [ "$kind" = zk ]; then sd_zk_stop; else sd_etcd_stop; fi
}

for p in $PATHS; do one_path "$p"; done
cat "$SD_TMP/results"
sd_log "done"
