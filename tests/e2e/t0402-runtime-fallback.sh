#!/usr/bin/env bash
# A broken stats socket never costs a backend: when a runtime command fails,
# the watcher logs why, falls back to a validated reload, and HAProxy serves
# every backend discovery has. First HAProxy itself refuses a command ("add
# server" into a backend with a static balance algorithm); then the socket
# file is removed (connect fails: ENOENT) before an add; the removal that
# follows reloads as well.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1

lb=$(sd_free_port)
sock=$SD_TMP/haproxy.sock
run() { # run NAME [--ignore-term]
	local port
	port=$(sd_free_port)
	sd_run_web d1 "$1" 127.0.0.2 "$port" ${2:-}
}
sd_label_registrator r1 127.0.0.2 d1
# c1 finishes its requests after SIGTERM (it ignores it until docker stop's
# SIGKILL), as an application that shuts down cleanly would.
run c1 --ignore-term
sd_wait_for "c1 registered" 30 sd_zk_count_is /smartdock/services/web 1

lb2=$(sd_free_port)
st1=$(sd_free_port)
st2=$(sd_free_port)
sd_bg st1 "$(sd_hello_bin)" 127.0.0.6 "$st1" st1
sd_bg st2 "$(sd_hello_bin)" 127.0.0.7 "$st2" st2
sd_zkctl mkdirs /smartdock/services/st
sd_zkctl create /smartdock/services/st/st1 "{\"host\":\"127.0.0.6\",\"port\":$st1,\"name\":\"st1\"}" >/dev/null
svc=$(cat <<JSON
{"web": {"discovery": {"method": "zookeeper", "hosts": ["$SD_ZK_ADDR"], "path": "/smartdock/services/web"},
         "haproxy": {"port": $lb, "bind_address": "127.0.0.1",
                     "listen": ["mode http", "option httpchk /", "http-check expect string Hello"]}},
 "st": {"discovery": {"method": "zookeeper", "hosts": ["$SD_ZK_ADDR"], "path": "/smartdock/services/st"},
        "haproxy": {"port": $lb2, "bind_address": "127.0.0.1", "listen": ["mode http", "balance static-rr"]}}}
JSON
)
sd_watcher_config "$SD_TMP/once.json" "$svc" "\"do_reloads\": false, \"socket_file_path\": \"$sock\""
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
sd_haproxy_start "$SD_TMP/haproxy.cfg"
sd_watcher_config "$SD_TMP/watcher.json" "$svc" \
	"\"reload_command\": \"kill -USR2 $(sd_haproxy_pid)\", \"socket_file_path\": \"$sock\""
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
url=http://127.0.0.1:$lb/
sd_wait_for "c1 answers" 30 sd_all_answer "$url" c1
sd_wait_for "runtime API confirmed" 30 sd_log_has watcher "runtime: stats socket .* answers from haproxy pid"

reloads_are() { [ "$(sd_watcher_reloads watcher)" = "$1" ]; }
confirmed_at_least() { [ "$(grep -c 'runtime: stats socket .* answers from haproxy pid' "$SD_TMP/watcher.log")" -ge "$1" ]; }

# 0. HAProxy refuses "add server" in a static-rr backend: reload instead;
# the next add there reloads straight away.
r0=$(sd_watcher_reloads watcher)
sd_zkctl create /smartdock/services/st/st2 "{\"host\":\"127.0.0.7\",\"port\":$st2,\"name\":\"st2\"}" >/dev/null
sd_wait_for "refusal logged" 30 sd_log_has watcher '"add server st/st2_127\.0\.0\.7:[0-9]+ 127\.0\.0\.7:[0-9]+ id [0-9]+" failed: Backend must use a dynamic load balancing.*falling back to a validated reload'
sd_wait_for "reloaded instead" 30 reloads_are $((r0 + 1))
sd_wait_for "st1 and st2 answer" 30 sd_all_answer "http://127.0.0.1:$lb2/" st1 st2
sd_wait_for "runtime API confirmed again" 30 confirmed_at_least 2

# 1. The socket file is gone: "add server" cannot connect.
r0=$(sd_watcher_reloads watcher)
rm -f "$sock"
run c2
sd_wait_for "fallback logged" 30 sd_log_has watcher "connect to .*haproxy.sock: No such file or directory.*falling back to a validated reload"
sd_wait_for "reloaded instead" 30 reloads_are $((r0 + 1))
sd_wait_for "c1 and c2 answer" 30 sd_all_answer "$url" c1 c2
haproxy -c -q -f "$SD_TMP/haproxy.cfg" || sd_fail "haproxy.cfg invalid"
# In master-worker mode the new worker inherits the old listening socket
# (-x sockpair@): a removed socket file stays gone until HAProxy restarts.
# The watcher cannot confirm the new process, says so, and reloads from now on.
sd_wait_for "runtime API given up" 30 sd_log_has watcher "runtime: no answer from the reloaded haproxy .*changes go through reloads"

# 2. While the socket is broken, a removal reloads too, and c2 is served
# throughout.
r1=$(sd_watcher_reloads watcher)
sd_load_start load "$url"
sd_docker d1 stop -t 3 c1 >/dev/null
sd_wait_for "reloaded instead" 30 reloads_are $((r1 + 1))
sd_wait_for "only c2 answers" 30 sd_all_answer "$url" c2
n=$(sd_load_count load)
sd_wait_for "load after the reload" 30 sd_load_at_least load $((n + 20))
sd_load_stop load
failed=$(sd_load_failures load)
[ -z "$failed" ] || sd_fail "requests failed during the fallback: $(echo "$failed" | sort | uniq -c | head)"
grep -q "server 127.0.0.2_" "$SD_TMP/haproxy.cfg" || sd_fail "haproxy.cfg lost c2"
haproxy -c -q -f "$SD_TMP/haproxy.cfg" || sd_fail "haproxy.cfg invalid"
sd_log "ok"
