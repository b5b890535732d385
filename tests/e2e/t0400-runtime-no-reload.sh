#!/usr/bin/env bash
# Servers come and go through HAProxy's runtime API: adding, removing and
# re-weighting a backend of an existing service reloads nothing. Proof: the
# HAProxy worker answering on the stats socket keeps its pid, the master's
# reload count and the watcher's reload count stay put, and "show servers
# state" lists exactly the servers discovery has (haproxy.cfg follows).
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1

app=$(sd_free_port)
app2=$(sd_free_port)
wport=$(sd_free_port)
lb=$(sd_free_port)
sock=$SD_TMP/haproxy.sock
run() { # run NAME ADDRESS PORT
	sd_docker d1 run -d --network host --name "$1" -l smartdock.service=web -l smartdock.port="$3" \
		smartdock/hello /bin/hello "$2" "$3" "$1" >/dev/null
}
sd_label_registrator r1 127.0.0.2 d1
run c1 127.0.0.2 "$app"
sd_wait_for "c1 registered" 30 sd_zk_count_is /smartdock/services/web 1

svc=$(sd_zk_service "$lb" /smartdock/services/web)
sd_watcher_config "$SD_TMP/once.json" "$svc" "\"do_reloads\": false, \"socket_file_path\": \"$sock\", \"use_nerve_weights\": true"
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
sd_haproxy_start "$SD_TMP/haproxy.cfg"
master_sock=$SD_TMP/haproxy/master.sock
sd_watcher_config "$SD_TMP/watcher.json" "$svc" \
	"\"reload_command\": \"kill -USR2 $(sd_haproxy_pid)\", \"socket_file_path\": \"$sock\", \"use_nerve_weights\": true"
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
url=http://127.0.0.1:$lb/
sd_wait_for "c1 answers" 30 sd_all_answer "$url" c1
# The watcher's first render reloads once; then it trusts the socket.
sd_wait_for "runtime API confirmed" 30 sd_log_has watcher "runtime: stats socket .* answers from haproxy pid"

pid0=$(sd_hap_worker_pid "$sock")
reloads0=$(sd_watcher_reloads watcher)
master0=$(sd_hap_cli "$master_sock" "show proc" | awk '$2 == "master" { print $3 }')
sd_log "worker pid $pid0, watcher reloads $reloads0, master reloads $master0"
no_reload() { # no_reload WHAT
	local pid m
	pid=$(sd_hap_worker_pid "$sock")
	m=$(sd_hap_cli "$master_sock" "show proc" | awk '$2 == "master" { print $3 }')
	[ "$pid" = "$pid0" ] || sd_fail "$1: haproxy worker pid changed $pid0 -> $pid (a reload)"
	[ "$m" = "$master0" ] || sd_fail "$1: master reload count changed $master0 -> $m"
	[ "$(sd_watcher_reloads watcher)" = "$reloads0" ] || sd_fail "$1: the watcher reloaded haproxy"
	haproxy -c -q -f "$SD_TMP/haproxy.cfg" || sd_fail "$1: haproxy.cfg invalid"
}

# Add: a second container.
run c2 127.0.0.2 "$app2"
sd_wait_for "c2 in show servers state" 30 sd_hap_has_server "$sock" web "^127\.0\.0\.2_${app2}_.* 0 1$"
sd_wait_for "c1 and c2 answer" 30 sd_all_answer "$url" c1 c2
sd_log_has watcher "runtime: add server web/127\.0\.0\.2_${app2}_[0-9a-f]+_127\.0\.0\.2:${app2} 127\.0\.0\.2:${app2} id [0-9]+" ||
	sd_fail "no runtime add logged"
sd_wait_for "haproxy.cfg follows the add" 30 grep -q "server 127.0.0.2_${app2}_" "$SD_TMP/haproxy.cfg"
no_reload "add"

# Remove: c1 stops (drain, then maint and del once it has no sessions).
sd_docker d1 stop c1 >/dev/null
c1_gone() { ! sd_hap_servers "$sock" web | grep -q "^127\.0\.0\.2_${app}_"; }
sd_wait_for "c1 gone from show servers state" 30 c1_gone
sd_log_has watcher "runtime: set server web/127\.0\.0\.2_${app}_[0-9a-f]+_127\.0\.0\.2:${app} state drain" || sd_fail "no drain logged"
sd_wait_for "del logged" 30 sd_log_has watcher "runtime: del server web/127\.0\.0\.2_${app}_"
sd_wait_for "only c2 answers" 30 sd_all_answer "$url" c2
if grep -q "server 127.0.0.2_${app}_" "$SD_TMP/haproxy.cfg"; then sd_fail "haproxy.cfg still has c1"; fi
no_reload "remove"

# Weight: a registration written straight into ZooKeeper, then re-weighted.
sd_hello_start hw 127.0.0.5 "$wport"
sd_zkctl create /smartdock/services/web/hw_ "{\"host\":\"127.0.0.5\",\"port\":$wport,\"name\":\"hw\",\"weight\":10}" sequential >/dev/null
sd_wait_for "hw added with weight 10" 30 sd_hap_has_server "$sock" web "^hw_127\.0\.0\.5:$wport 127\.0\.0\.5:$wport 0 10$"
first=$(sd_zkctl ls /smartdock/services/web | grep '^hw_')
sd_zkctl create /smartdock/services/web/hw_ "{\"host\":\"127.0.0.5\",\"port\":$wport,\"name\":\"hw\",\"weight\":20}" sequential >/dev/null
sd_zkctl delete "/smartdock/services/web/$first"
sd_wait_for "hw re-weighted to 20" 30 sd_hap_has_server "$sock" web "^hw_127\.0\.0\.5:$wport 127\.0\.0\.5:$wport 0 20$"
sd_log_has watcher "runtime: set weight web/hw_127\.0\.0\.5:$wport 20" || sd_fail "no runtime set weight logged"
sd_wait_for "haproxy.cfg has weight 20" 30 grep -qE "server hw_127.0.0.5:$wport 127.0.0.5:$wport id [0-9]+ weight 20" "$SD_TMP/haproxy.cfg"
sd_wait_for "c2 and hw answer" 30 sd_all_answer "$url" c2 hw
no_reload "weight"

# What HAProxy has is what discovery has, and what a restart would read.
sd_hap_servers "$sock" web | awk '{ print $1 }' | sort >"$SD_TMP/live"
grep -oE '^\s*server [^ ]+' "$SD_TMP/haproxy.cfg" | awk '{ print $2 }' | sort >"$SD_TMP/file"
diff "$SD_TMP/live" "$SD_TMP/file" || sd_fail "haproxy's servers differ from haproxy.cfg's"
sd_log "ok"
