#!/usr/bin/env bash
# A reload that does not take effect is seen and sent again; a reload never
# goes out before the last one is seen to have taken effect.
#
# CI once lost a USR2: the watcher reloaded twice within 500 ms, HAProxy
# 2.6's master (still busy with the first) never ran the second, and the
# watcher took the first reload's worker for the second's: a new server
# never reached HAProxy. Here the reload command drops one reload (exits 0
# and sends nothing), as that master did.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk

lb=$(sd_free_port)
sock=$SD_TMP/haproxy.sock
sd_zkctl mkdirs /smartdock/services/web >/dev/null
web1=$(sd_free_port) web2=$(sd_free_port)
sd_hello_start web1 127.0.0.2 "$web1"
sd_hello_start web2 127.0.0.3 "$web2"
reg() { # reg NAME HOST PORT [OPTIONS]: the znode NAME's registration
	echo "{\"host\":\"$2\",\"port\":$3,\"name\":\"$1\"${4:+,\"haproxy_server_options\":\"$4\"}}"
}
sd_zkctl create /smartdock/services/web/web1 "$(reg web1 127.0.0.2 "$web1")" >/dev/null

services=$(
	cat <<JSON
{"web": {"discovery": {"method": "zookeeper", "hosts": ["$SD_ZK_ADDR"], "path": "/smartdock/services/web"},
         "haproxy": {"port": $lb, "bind_address": "127.0.0.1", "listen": ["mode http"]}}}
JSON
)
sd_watcher_config "$SD_TMP/once.json" "$services" "\"do_reloads\": false, \"socket_file_path\": \"$sock\""
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
sd_haproxy_start "$SD_TMP/haproxy.cfg"
lose=$SD_TMP/lose-next-reload
cat >"$SD_TMP/reload.sh" <<SH
#!/bin/sh
echo "\$(date +%T.%N) reload" >>"$SD_TMP/reloads.log"
if [ -e "$lose" ]; then rm -f "$lose"; echo "  lost" >>"$SD_TMP/reloads.log"; exit 0; fi
kill -USR2 $(sd_haproxy_pid)
SH
chmod +x "$SD_TMP/reload.sh"
sd_watcher_config "$SD_TMP/watcher.json" "$services" \
	"\"reload_command\": \"$SD_TMP/reload.sh\", \"socket_file_path\": \"$sock\""
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
sd_wait_for "runtime API confirmed" 30 sd_log_has watcher "runtime: stats socket .* answers from haproxy pid"
sd_wait_for "web answers from web1" 30 sd_all_answer "http://127.0.0.1:$lb/" web1

# slim (maxconn) of SERVER in backend web, as the running HAProxy has it
slim_is() { # slim_is SERVER_PREFIX VALUE
	# (-1: "show stat web" would pick the frontend of that name)
	sd_hap_cli "$sock" "show stat -1 4 -1" | awk -F, -v p="$1" -v v="$2" \
		'$1 == "web" && index($2, p) == 1 { found = 1; ok = ($7 == v) } END { exit !(found && ok) }'
}

# ---- 1. the reload is lost: seen at the deadline, and sent again
worker=$(sd_hap_worker_pid "$sock")
touch "$lose"
# new options on a kept server: only a reload puts them into effect
sd_zkctl set /smartdock/services/web/web1 "$(reg web1 127.0.0.2 "$web1" "maxconn 50")" >/dev/null
sd_wait_for "HAProxy runs maxconn 50" 60 slim_is web1_ 50
sd_log_has watcher "runtime: haproxy pid $worker still answers on .* after the reload: the reload did not take effect" ||
	sd_fail "the lost reload was not logged"
sd_log_has watcher "haproxy did not take reload #[0-9]+; .*reloading again" || sd_fail "no word of the second reload"
[ "$(sd_hap_worker_pid "$sock")" != "$worker" ] || sd_fail "still the first worker"
[ ! -e "$lose" ] || sd_fail "the reload command never ran"

# ---- 2. back to back: a reload waits until the last one took effect, so
# HAProxy ends on the newest config. Two changes that each need a reload,
# the second while the first reloads.
sd_zkctl set /smartdock/services/web/web1 "$(reg web1 127.0.0.2 "$web1" "maxconn 60")" >/dev/null
sd_wait_for "first reload" 30 bash -c "[ \$(grep -c 'reloaded haproxy' '$SD_TMP/watcher.log') -ge 3 ]"
sd_zkctl create /smartdock/services/web/web2 "$(reg web2 127.0.0.3 "$web2" "maxconn 70")" >/dev/null
sd_wait_for "HAProxy runs web1 at maxconn 60" 60 slim_is web1_ 60
sd_wait_for "HAProxy runs web2 at maxconn 70" 60 slim_is web2_ 70
sd_wait_for "web answers from web1 and web2" 30 sd_all_answer "http://127.0.0.1:$lb/" web1 web2
haproxy -c -q -f "$SD_TMP/haproxy.cfg" || sd_fail "haproxy.cfg invalid"
sd_log "ok"
