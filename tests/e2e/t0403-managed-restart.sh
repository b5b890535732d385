#!/usr/bin/env bash
# Managed mode: the watcher runs HAProxy (master-worker, master CLI) itself.
# Killed with SIGKILL, HAProxy is back within a couple of seconds, serving
# the same servers from haproxy.cfg; the next change reloads it through the
# master CLI, the one after goes through the runtime API again. When the
# watcher stops, HAProxy is soft-stopped with it.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1

lb=$(sd_free_port)
sock=$SD_TMP/haproxy.sock
msock=$SD_TMP/haproxy.cfg.master.sock
run() { # run NAME
	local port
	port=$(sd_free_port)
	sd_run_web d1 "$1" 127.0.0.2 "$port"
}
sd_label_registrator r1 127.0.0.2 d1
run c1
sd_wait_for "c1 registered" 30 sd_zk_count_is /smartdock/services/web 1

sd_watcher_config "$SD_TMP/watcher.json" "$(sd_zk_service "$lb" /smartdock/services/web)" \
	"\"managed\": true, \"socket_file_path\": \"$sock\""
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
url=http://127.0.0.1:$lb/
sd_wait_for "c1 answers" 30 sd_all_answer "$url" c1
master_pid() { sd_hap_cli "$msock" "show proc" 2>/dev/null | awk '$2 == "master" { print $1 }'; }
master=$(master_pid)
[ -n "$master" ] || sd_fail "no master answers on $msock"
[ "$(ps -o ppid= -p "$master" | tr -d ' ')" = "$(sd_pid watcher)" ] || sd_fail "haproxy master $master is not the watcher's child"
grep -q "expose-fd listeners" "$SD_TMP/haproxy.cfg" || sd_fail "no expose-fd listeners on the stats socket"

# SIGKILL the master (its worker exits with it): back within a couple of seconds.
new_master_serving() {
	local m
	m=$(master_pid)
	[ -n "$m" ] && [ "$m" != "$master" ] && sd_get "$url" | grep -qx "Hello from c1"
}
t0=$(date +%s%N)
kill -KILL "$master"
# The issue asks for "a second or two"; the deadline leaves room for a loaded CI machine.
sd_wait_for "haproxy back and serving c1" 5 new_master_serving
sd_log "haproxy back in $((($(date +%s%N) - t0) / 1000000)) ms (master $master -> $(master_pid))"
sd_log_has watcher "managed haproxy: master pid $master was killed by signal 9" || sd_fail "death not logged"

# After a restart the watcher does not trust what it had: one reload...
r0=$(sd_watcher_reloads watcher)
run c2
sd_wait_for "c1 and c2 answer" 30 sd_all_answer "$url" c1 c2
reloads_are() { [ "$(sd_watcher_reloads watcher)" = "$1" ]; } # evaluated at every poll
sd_wait_for "reloaded once" 30 reloads_are $((r0 + 1))
sd_wait_for "runtime API confirmed after the reload" 30 sd_log_has watcher "reloaded haproxy \(reload #$((r0 + 1))\)"
confirmations() { grep -c 'runtime: stats socket .* answers from haproxy pid' "$SD_TMP/watcher.log" || true; }
confirmed_at_least() { [ "$(confirmations)" -ge "$1" ]; }
sd_wait_for "runtime API confirmed again" 30 confirmed_at_least 2
# ... then the runtime API again.
pid=$(sd_hap_worker_pid "$sock")
run c3
sd_wait_for "c1, c2 and c3 answer" 30 sd_all_answer "$url" c1 c2 c3
[ "$(sd_hap_worker_pid "$sock")" = "$pid" ] || sd_fail "adding c3 reloaded haproxy"
[ "$(sd_watcher_reloads watcher)" = $((r0 + 1)) ] || sd_fail "adding c3 reloaded haproxy"

# The watcher stops: HAProxy soft-stops with it.
master=$(master_pid)
sd_kill watcher TERM
sd_log_has watcher "soft-stopping master pid $master" || sd_fail "no soft stop logged"
gone() { ! kill -0 "$master" 2>/dev/null || [ "$(awk '{ print $3 }' "/proc/$master/stat" 2>/dev/null)" = Z ]; }
sd_wait_for "haproxy master exited" 30 gone
sd_log "ok"
