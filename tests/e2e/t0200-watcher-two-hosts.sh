#!/usr/bin/env bash
# Two simulated hosts (two dockerd, two registrators advertising 127.0.0.2
# and 127.0.0.3) feed one watcher and one HAProxy through ZooKeeper.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1 d2

app=$(sd_free_port)
app2=$(sd_free_port)
lb=$(sd_free_port)
run() { # run DOCKERD NAME ADDRESS [PORT]
	local port=${4:-$app}
	sd_run_web "$1" "$2" "$3" "$port"
}
sd_label_registrator r1 127.0.0.2 d1
sd_label_registrator r2 127.0.0.3 d2
run d1 c1 127.0.0.2
run d2 c2 127.0.0.3
sd_wait_for "both registered" 30 sd_zk_count_is /smartdock/services/web 2

# The first haproxy.cfg comes from --once; HAProxy starts on it; then the
# watcher follows, reloading HAProxy through its master CLI.
sd_watcher_config "$SD_TMP/once.json" "$(sd_zk_service "$lb" /smartdock/services/web)" '"do_reloads": false'
"$SD_BIN/smartdock-watcher" --check -c "$SD_TMP/once.json"
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
grep -q "server 127.0.0.2_${app}_" "$SD_TMP/haproxy.cfg" || sd_fail "no c1 in $(cat "$SD_TMP/haproxy.cfg")"
sd_haproxy_start "$SD_TMP/haproxy.cfg"
sd_watcher_config "$SD_TMP/watcher.json" "$(sd_zk_service "$lb" /smartdock/services/web)" \
	"\"reload_command\": \"$(sd_haproxy_reload_cmd)\""
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"

url=http://127.0.0.1:$lb/
sd_wait_for "both hosts answer through haproxy" 30 sd_all_answer "$url" c1 c2
# ZooKeeper only, no metrics, no digest auth: libcurl, libmicrohttpd (and the ~30
# libraries behind them) and libcrypto are never loaded.
for lib in libcurl libmicrohttpd libgnutls libcrypto; do
	if sd_maps_library watcher $lib; then sd_fail "a ZooKeeper-only watcher has $lib mapped"; fi
done

sd_docker d1 stop c1 >/dev/null
sd_wait_for "only c2 answers" 30 sd_all_answer "$url" c2

run d1 c3 127.0.0.2
sd_docker d1 rm c1 >/dev/null
run d2 c4 127.0.0.3 "$app2"
sd_wait_for "c3 and c4 registered" 30 sd_zk_count_is /smartdock/services/web 3
sd_wait_for "all three answer" 30 sd_all_answer "$url" c2 c3 c4

# ZooKeeper goes away: HAProxy keeps serving what it had.
sd_zk_stop
sd_wait_for "watcher noticed" 30 sd_log_has watcher "disconnected"
sd_all_answer "$url" c2 c3 c4 || sd_fail "haproxy lost backends while ZooKeeper was down: $(cat "$SD_TMP/answers.last")"
# A change meanwhile: c4 stops (its registrator cannot tell ZooKeeper yet).
sd_docker d2 stop c4 >/dev/null
sd_zk_start
sd_wait_for "c4 gone after ZooKeeper is back" 60 sd_all_answer "$url" c2 c3

# Somebody else's garbage beside good nodes: skipped, neighbours served.
sd_zkctl create /smartdock/services/web/garbage_ 'not json {' sequential >/dev/null
sd_zkctl create /smartdock/services/web/hostile_ '{"host":"127.0.0.9\nbind :1","port":80}' sequential >/dev/null
sd_wait_for "garbage skipped" 30 sd_log_has watcher "skipping znode /smartdock/services/web/garbage_"
sd_wait_for "hostile skipped" 30 sd_log_has watcher "skipping znode /smartdock/services/web/hostile_"
sd_all_answer "$url" c2 c3 || sd_fail "good backends not served beside garbage: $(cat "$SD_TMP/answers.last")"
haproxy -c -q -f "$SD_TMP/haproxy.cfg" || sd_fail "haproxy.cfg invalid"
if grep -q "127.0.0.9" "$SD_TMP/haproxy.cfg"; then sd_fail "hostile znode reached haproxy.cfg"; fi

# A burst: 100 registrations within a few milliseconds (every create sent
# at once) are coalesced into a write and a reload or two, never one each.
# The first listing ZooKeeper answers is applied at once; on a loaded machine
# the creates still arriving come in a second listing (31 then 102 in one
# run at load 11), and a listing that races the last creates can add a third.
writes0=$(grep -c "wrote $SD_TMP/haproxy.cfg" "$SD_TMP/watcher.log" || true)
reloads0=$(grep -c "reloaded haproxy (reload #" "$SD_TMP/watcher.log" || true)
for i in $(seq 100); do
	echo "/smartdock/services/web/burst_ {\"host\":\"127.0.0.4\",\"port\":$((20000 + i)),\"name\":\"burst$i\"}"
done >"$SD_TMP/burst"
sd_bg burst "$SD_ZKCTL" "$SD_ZK_ADDR" bulk-create "$SD_TMP/burst" ephemeral sequential hold
has_102() { [ "$(grep -c '^[[:space:]]*server ' "$SD_TMP/haproxy.cfg")" = 102 ]; }
sd_wait_for "all 100 in haproxy.cfg" 30 has_102
reloaded_once_more() { [ "$(grep -c "reloaded haproxy (reload #" "$SD_TMP/watcher.log")" -ge $((reloads0 + 1)) ]; }
sd_wait_for "reloaded" 30 reloaded_once_more
writes=$(($(grep -c "wrote $SD_TMP/haproxy.cfg" "$SD_TMP/watcher.log") - writes0))
reloads=$(($(grep -c "reloaded haproxy (reload #" "$SD_TMP/watcher.log") - reloads0))
sd_log "burst of 100: $writes write(s), $reloads reload(s); $(grep created "$SD_TMP/burst.log")"
[ "$writes" -ge 1 ] && [ "$writes" -le 3 ] && [ "$reloads" -le "$writes" ] || sd_fail "a burst of 100 made $writes writes and $reloads reloads"
sd_kill burst TERM
sd_log "ok"
