#!/usr/bin/env bash
# Watcher benchmark (issue 11): one service with 20,000 children in
# ZooKeeper, then one more child. How long from the last of the 20,000
# znodes written until haproxy.cfg names every server (max_servers_per_service
# is raised above N for this), and from the one
# more znode until it is applied (haproxy.cfg names it and HAProxy has it,
# through the runtime API when it is on); the watcher's CPU for that one
# change and its memory.
#
#   bash tests/bench/b1100-watcher-20000-children.sh
#   BENCH_CHILDREN=40000 bash tests/bench/b1100-watcher-20000-children.sh
#
# Method: ZooKeeper 3.8 and HAProxy 2.6 on loopback, the watcher running
# with a stats socket (runtime API) and the service's path present and empty;
# zkctl bulk-create writes the children (ephemeral sequential, pipelined on
# one session, held open) as Nerve JSON pointing at 127.0.0.2:20000+i, no
# health checks. Once the watcher has applied them and is idle, one more
# znode is created with zkctl.
. "$(dirname "$0")/bench-lib.sh"
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_need_root
sd_need_cmd haproxy java
bench_build
sd_setup

N=${BENCH_CHILDREN:-20000}
sd_log "$(bench_machine)"
sd_zk_start
sd_zkctl create /bench '' >/dev/null
sd_zkctl create /bench/big '' >/dev/null
lb=$(sd_free_port)
sock=$SD_TMP/haproxy.sock
cfg=$SD_TMP/haproxy.cfg

servers_in_cfg() { grep -c '^[[:space:]]*server ' "$cfg" 2>/dev/null || echo 0; }
cfg_has() { [ "$(servers_in_cfg)" = "$1" ]; }
hap_has() { # hap_has N: the running HAProxy has N servers in backend web
	[ "$(sd_hap_servers "$sock" web | wc -l)" = "$1" ]
}

for ((i = 1; i <= N; i++)); do
	printf '/bench/big/n_ {"host":"127.0.0.2","port":%d,"name":"n%d"}\n' $((20000 + i)) "$i"
done >"$SD_TMP/nodes"

svc="{\"web\": {\"discovery\": {\"method\": \"zookeeper\", \"hosts\": [\"$SD_ZK_ADDR\"], \"path\": \"/bench/big\"},
         \"haproxy\": {\"port\": $lb, \"bind_address\": \"127.0.0.1\", \"listen\": [\"mode http\"]}}}"
sd_watcher_config "$SD_TMP/once.json" "$svc" "\"do_reloads\": false, \"socket_file_path\": \"$sock\""
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
sd_haproxy_start "$cfg"
# above the default bound of 10,000 servers per service, so all are served
sd_watcher_config "$SD_TMP/watcher.json" "$svc" \
	"\"reload_command\": \"kill -USR2 $(sd_haproxy_pid)\", \"socket_file_path\": \"$sock\", \"max_servers_per_service\": $((N + 1000))"
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
sd_wait_for "runtime API confirmed" 60 sd_log_has watcher "runtime: stats socket .* answers from haproxy pid"

# 20,000 children at once
sd_bg writer "$SD_ZKCTL" "$SD_ZK_ADDR" bulk-create "$SD_TMP/nodes" ephemeral sequential hold
sd_wait_for "znodes written" 300 sd_log_has writer "^created $N failed 0 "
wline=$(grep '^created ' "$SD_TMP/writer.log")
last_ms=$(awk '{ print $8 }' <<<"$wline")
sd_wait_for "haproxy.cfg names $N servers" 600 cfg_has "$N"
full_ms=$(bench_now_ms)
sd_wait_for "HAProxy has $N servers" 600 hap_has "$N"
serving_ms=$(bench_now_ms)
sleep 3 # idle: restart_interval over, nothing in flight
reloads0=$(sd_watcher_reloads watcher)
pid=$(sd_pid watcher)
cpu0=$(bench_proc_cpu_ms "$pid")

# one more
t0=$(bench_now_ms)
sd_zkctl create /bench/big/one_ "{\"host\":\"127.0.0.3\",\"port\":20000,\"name\":\"one\"}" >/dev/null
sd_wait_for "HAProxy has the new server" 300 sd_hap_has_server "$sock" web "^one 127\.0\.0\.3:20000 "
t_hap=$(bench_now_ms)
sd_wait_for "haproxy.cfg names it" 300 cfg_has $((N + 1))
t_cfg=$(bench_now_ms)
cpu1=$(bench_proc_cpu_ms "$pid")
reloads1=$(sd_watcher_reloads watcher)
read -r hwm rss < <(bench_proc_mem "$pid")
how=runtime
[ "$reloads1" = "$reloads0" ] || how="reload ($((reloads1 - reloads0)))"

{
	echo
	echo "== $SD_TEST_NAME: $N children in one service, then one more"
	bench_machine
	echo "last of $N znodes written → haproxy.cfg names all: $((full_ms - last_ms)) ms; → HAProxy has all: $((serving_ms - last_ms)) ms"
	echo "one more znode → HAProxy has it: $((t_hap - t0)) ms ($how); → haproxy.cfg names it: $((t_cfg - t0)) ms"
	echo "watcher CPU for the one change: $((cpu1 - cpu0)) ms; VmHWM $hwm KiB, VmRSS $rss KiB"
	bench_result "initial_to_cfg_ms" $((full_ms - last_ms)) ms
	bench_result "initial_to_haproxy_ms" $((serving_ms - last_ms)) ms
	bench_result "one_more_to_haproxy_ms" $((t_hap - t0)) ms
	bench_result "one_more_to_cfg_ms" $((t_cfg - t0)) ms
	bench_result "one_more_watcher_cpu_ms" $((cpu1 - cpu0)) ms
	bench_result "vmhwm_kib" "$hwm" KiB
	cat "$SD_TMP/results"
} | tee -a "$SD_TMP/report"
sd_kill writer TERM
sd_log "done"
