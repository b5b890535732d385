#!/usr/bin/env bash
# SIGHUP with the runtime API on: a service added before an existing one
# shifts the services' indices. After the one reload the new frontend needs,
# a new server of the existing service goes to its own backend through the
# runtime API, without a reload, and nothing lands in the new service's
# backend. (The runtime API used to keep the first config's service list:
# the change was planned against the wrong service and never applied.)
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk

p1=$(sd_free_port)
p2=$(sd_free_port)
lb_web=$(sd_free_port)
lb_api=$(sd_free_port)
sock=$SD_TMP/haproxy.sock
master_sock=$SD_TMP/haproxy/master.sock
sd_hello_start w1 127.0.0.5 "$p1"
sd_hello_start w2 127.0.0.6 "$p2"
sd_zkctl mkdirs /smartdock/services/web >/dev/null
sd_zkctl mkdirs /smartdock/services/api >/dev/null
register() { # register ADDRESS PORT NAME
	sd_zkctl create /smartdock/services/web/"$3"_ "{\"host\":\"$1\",\"port\":$2,\"name\":\"$3\"}" sequential >/dev/null
}
register 127.0.0.5 "$p1" w1

service() { # service NAME PORT
	cat <<JSON
"$1": {"discovery": {"method": "zookeeper", "hosts": ["$SD_ZK_ADDR"], "path": "/smartdock/services/$1"},
       "haproxy": {"port": $2, "bind_address": "127.0.0.1",
                   "listen": ["mode http", "option httpchk /", "http-check expect string Hello"]}}
JSON
}
v1="{$(service web "$lb_web")}"
v2="{$(service api "$lb_api"), $(service web "$lb_web")}" # "api" sorts and comes first
opts="\"socket_file_path\": \"$sock\""
sd_watcher_config "$SD_TMP/once.json" "$v1" "\"do_reloads\": false, $opts"
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
sd_haproxy_start "$SD_TMP/haproxy.cfg"
sd_watcher_config "$SD_TMP/watcher.json" "$v1" "\"reload_command\": \"kill -USR2 $(sd_haproxy_pid)\", $opts"
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
url=http://127.0.0.1:$lb_web/
sd_wait_for "w1 answers" 30 sd_all_answer "$url" w1
sd_wait_for "runtime API confirmed" 30 sd_log_has watcher "runtime: stats socket .* answers from haproxy pid"

sd_watcher_config "$SD_TMP/watcher.json" "$v2" "\"reload_command\": \"kill -USR2 $(sd_haproxy_pid)\", $opts"
reloads0=$(sd_watcher_reloads watcher)
confirmed0=$(grep -c "runtime: stats socket .* answers from haproxy pid" "$SD_TMP/watcher.log" || true)
sd_kill watcher HUP
sd_wait_for "SIGHUP applied" 30 sd_log_has watcher "SIGHUP: reload applied: 1 services kept .*, 1 started"
sd_wait_for "the api frontend is up (one reload)" 30 grep -q "^frontend api\|^listen api" "$SD_TMP/haproxy.cfg"
sd_wait_for "the reload for api done" 30 bash -c "[ \$(grep -c 'reloaded haproxy (reload #' '$SD_TMP/watcher.log') -gt $reloads0 ]"
# The next change waits for the runtime API to be confirmed on the new worker.
sd_wait_for "runtime API confirmed after the reload" 30 bash -c "[ \$(grep -c 'runtime: stats socket .* answers from haproxy pid' '$SD_TMP/watcher.log') -gt $confirmed0 ]"
marks0=$(sd_reload_marks "$sock" "$master_sock" watcher)

register 127.0.0.6 "$p2" w2
sd_wait_for "w2 in web's backend" 30 sd_hap_has_server "$sock" web "^w2_127\.0\.0\.6:$p2 127\.0\.0\.6:$p2 0 1$"
sd_wait_for "w1 and w2 answer" 30 sd_all_answer "$url" w1 w2
[ -z "$(sd_hap_servers "$sock" api)" ] || sd_fail "servers in api's backend: $(sd_hap_servers "$sock" api)"
marks=$(sd_reload_marks "$sock" "$master_sock" watcher)
[ "$marks" = "$marks0" ] || sd_fail "the add reloaded HAProxy (worker pid, master reloads, watcher reloads: $marks0 -> $marks)"
haproxy -c -q -f "$SD_TMP/haproxy.cfg" || sd_fail "haproxy.cfg invalid"
sd_alive watcher || sd_fail "the watcher died"
sd_log "ok"
