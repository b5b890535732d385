#!/usr/bin/env bash
# Watcher benchmark (issue 12, "a new backend routable in 3 ms"): from a
# registration written to the first request answered by that backend
# through HAProxy, on the ZooKeeper path and on the etcd path, with the
# floor of this machine measured in the same run.
#
#   bash tests/bench/b1210-new-backend-routable.sh           # 50 trials per path
#   BENCH_TRIALS=20 BENCH_PATHS=zk bash tests/bench/b1210-new-backend-routable.sh
#   BENCH_STORAGE=tmpfs bash tests/bench/b1210-new-backend-routable.sh  # only the tmpfs runs
#
# Each path runs twice (BENCH_STORAGE, default "disk tmpfs"): with the
# registry's data on disk, as the e2e tests and a deployment have it, then
# on a tmpfs mounted for the run, where the server's own disk syncs (the
# ZooKeeper transaction log's, etcd's WAL's: ~4.5 ms of the floor on this
# machine) cost nothing. Same servers, same client, same floor method; the
# tmpfs figures are labelled "(tmpfs)". etcd 3.4 has no --unsafe-no-fsync,
# hence tmpfs rather than ZooKeeper's forceSync=no for both.
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
# "add server" + "enable server" on the stats socket timed just before; the
# floor with routing adds the time from that enable's answer to the first
# request answered by that throwaway server (the trial's measure ends the
# same way). Figures: p50/p99/max of write sent → first answer, and of the
# floors; the failed requests placed in their trials (those before "old"
# first answered, when the watcher had not applied it yet, are counted
# apart); the watcher's -v stage timings of the last trial.
. "$(dirname "$0")/bench-lib.sh"
sd_need_root
sd_need_cmd haproxy java etcd
bench_build
cmake --build "$SMARTDOCK_BUILD_DIR" -j2 --target routable >/dev/null || sd_fail "cannot build routable"
sd_setup

TRIALS=${BENCH_TRIALS:-50}
PATHS=${BENCH_PATHS:-zk etcd}
STORAGE=${BENCH_STORAGE:-disk tmpfs}
sd_log "$(bench_machine)"
cfg=$SD_TMP/haproxy.cfg
sock=$SD_TMP/haproxy.sock

one_path() {
	local kind=$1 storage=$2 lb svc reg path base disc label server
	label=$kind server=$kind
	if [ "$storage" = tmpfs ]; then
		label=$kind-tmpfs server=$kind-tmpfs
		# the server's data dir; sd_teardown unmounts what is under $SD_TMP
		mkdir -p "$SD_TMP/$server"
		mount -t tmpfs -o size=512m tmpfs "$SD_TMP/$server" || sd_fail "cannot mount a tmpfs"
	fi
	lb=$(sd_free_port)
	base=$(sd_free_port)
	# the trial ports and the floor's follow base: reserve them
	for ((i = 1; i <= TRIALS + 1; i++)); do _sd_reserve_port $((base + i)) || true; done
	if [ "$kind" = zk ]; then
		sd_zk_start "$server"
		sd_zkctl create /bench '' >/dev/null
		sd_zkctl create /bench/web '' >/dev/null
		reg=$SD_ZK_ADDR path=/bench/web
		disc="{\"method\": \"zookeeper\", \"hosts\": [\"$SD_ZK_ADDR\"], \"path\": \"$path\"}"
	else
		sd_etcd_start "$server"
		reg=$SD_ETCD_ENDPOINT path=/bench/web
		disc="{\"method\": \"etcd\", \"endpoints\": [\"$SD_ETCD_ENDPOINT\"], \"path\": \"$path\"}"
	fi
	svc="{\"web\": {\"discovery\": $disc,
	        \"haproxy\": {\"port\": $lb, \"bind_address\": \"127.0.0.1\", \"listen\": [\"mode http\"]}}}"
	sd_watcher_config "$SD_TMP/once.json" "$svc" "\"do_reloads\": false, \"socket_file_path\": \"$sock\""
	"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json" >>"$SD_TMP/once.log" 2>&1
	sd_haproxy_start "$cfg"
	sd_watcher_config "$SD_TMP/watcher-$label.json" "$svc" \
		"\"reload_command\": \"kill -USR2 $(sd_haproxy_pid)\", \"socket_file_path\": \"$sock\""
	sd_bg "watcher-$label" "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher-$label.json"
	sd_wait_for "runtime API confirmed" 60 sd_log_has "watcher-$label" "runtime: stats socket .* answers from haproxy pid"
	local reloads0 pid0
	reloads0=$(sd_watcher_reloads "watcher-$label")
	pid0=$(sd_hap_worker_pid "$sock")
	"$SD_BIN/tests/routable" "$kind" "$reg" "$path" "$lb" "$sock" web "$TRIALS" "$base" \
		>"$SD_TMP/routable-$label.out" 2>"$SD_TMP/routable-$label.err" ||
		sd_fail "routable $kind failed: $(cat "$SD_TMP/routable-$label.err")"
	local reloads pid1
	reloads=$(($(sd_watcher_reloads "watcher-$label") - reloads0))
	pid1=$(sd_hap_worker_pid "$sock")
	[ "$pid0" = "$pid1" ] || reloads="$reloads (worker pid changed)"
	local sent ack floor watch ae route froute
	sent=$(awk '/^trial/ { print $4 / 1000 }' "$SD_TMP/routable-$label.out")
	ack=$(awk '/^trial/ { print $6 / 1000 }' "$SD_TMP/routable-$label.out")
	watch=$(awk '/^trial/ { print $8 / 1000 }' "$SD_TMP/routable-$label.out")
	ae=$(awk '/^trial/ { print $10 / 1000 }' "$SD_TMP/routable-$label.out")
	floor=$(awk '/^trial/ { print ($8 + $10) / 1000 }' "$SD_TMP/routable-$label.out")
	route=$(awk '/^trial/ { print $12 / 1000 }' "$SD_TMP/routable-$label.out")
	froute=$(awk '/^trial/ { print ($8 + $10 + $12) / 1000 }' "$SD_TMP/routable-$label.out")
	local s a f w e r fr
	s=$(bench_stats "$sent") a=$(bench_stats "$ack") f=$(bench_stats "$floor") w=$(bench_stats "$watch") e=$(bench_stats "$ae")
	r=$(bench_stats "$route") fr=$(bench_stats "$froute")
	{
		echo
		echo "== $SD_TEST_NAME ($kind, registry data on $storage): $TRIALS trials; ms p50 / p99 / max (n)"
		bench_machine
		echo "  write sent → first answer by it: $s"
		echo "  write acknowledged → first answer: $a"
		echo "  floor (own watch fired + add/enable): $f"
		echo "    own watch fired after the write: $w"
		echo "    add server + enable server: $e"
		echo "  floor with routing (+ enable answered → first answer by it): $fr"
		echo "    enable answered → first answer by it: $r"
		echo "  reloads during the trials: $reloads; $(grep '^requests' "$SD_TMP/routable-$label.out")"
		{ grep '^failure' "$SD_TMP/routable-$label.out" || true; } |
			awk '{ if (n++ < 10) print "    " $0 } END { if (n > 10) print "    (" n - 10 " more)" }'
		{ grep -E 'reloading instead|falling back|not adopting' "$SD_TMP/watcher-$label.log" || true; } |
			awk 'n++ < 3 { print "    why: " $0 }'
		echo "  stages of the last trial (watcher -v):"
		{ grep -E 'watch fired|listed|read .* after the watch|backends read and decoded|render:|runtime: planned|answered .* into its batch|etcd watch message|published' \
			"$SD_TMP/watcher-$label.log" || true; } | tail -n 12 | sed 's/^/    /'
	} | tee -a "$SD_TMP/report"
	read -r p50 p99 max _ <<<"$s"
	bench_result "$label.sent_to_answer_ms.p50" "$p50" ms
	bench_result "$label.sent_to_answer_ms.p99" "$p99" ms
	bench_result "$label.sent_to_answer_ms.max" "$max" ms
	read -r p50 p99 max _ <<<"$f"
	bench_result "$label.floor_ms.p50" "$p50" ms
	bench_result "$label.floor_ms.p99" "$p99" ms
	read -r p50 p99 max _ <<<"$fr"
	bench_result "$label.floor_routed_ms.p50" "$p50" ms
	bench_result "$label.floor_routed_ms.p99" "$p99" ms
	bench_result "$label.reloads" "${reloads%% *}" count
	sd_kill "watcher-$label" TERM
	sd_haproxy_stop
	if [ "$kind" = zk ]; then sd_zk_stop "$server"; else sd_etcd_stop "$server"; fi
}

for st in $STORAGE; do
	for p in $PATHS; do one_path "$p" "$st"; done
done
cat "$SD_TMP/results"
sd_log "done"
