#!/usr/bin/env bash
# SIGHUP to the watcher: the config is read again; the unchanged service
# keeps its discovery and backends and serves throughout (zero failed
# requests), a changed one restarts, a new one starts, a removed one stops,
# and HAProxy gets one validated change. A config that does not validate is
# refused and the running state kept. `status --json` shows each outcome.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1

p_stay=$(sd_free_port)
p_chg=$(sd_free_port)
p_gone=$(sd_free_port)
p_fresh=$(sd_free_port)
lb_stay=$(sd_free_port)
lb_chg=$(sd_free_port)
lb_chg2=$(sd_free_port)
lb_gone=$(sd_free_port)
lb_fresh=$(sd_free_port)
sd_label_registrator reg 127.0.0.2 d1
for svc in stay chg gone fresh; do
	port_var=p_$svc
	sd_docker d1 run -d --network host --name "${svc}1" -l smartdock.service=$svc \
		-l smartdock.port="${!port_var}" smartdock/hello /bin/hello 127.0.0.2 "${!port_var}" "${svc}1" >/dev/null
	sd_wait_for "$svc registered" 30 sd_zk_count_is /smartdock/services/$svc 1
done

v1="{$(sd_zk_named_service stay "$lb_stay"), $(sd_zk_named_service chg "$lb_chg"), $(sd_zk_named_service gone "$lb_gone")}"
v2="{$(sd_zk_named_service stay "$lb_stay"), $(sd_zk_named_service chg "$lb_chg2"), $(sd_zk_named_service fresh "$lb_fresh")}"
sd_watcher_config "$SD_TMP/once.json" "$v1" "\"do_reloads\": false"
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
sd_haproxy_start "$SD_TMP/haproxy.cfg"
sd_watcher_config "$SD_TMP/watcher.json" "$v1" "\"reload_command\": \"$(sd_haproxy_reload_cmd)\""
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
sd_wait_for "stay answers" 30 sd_all_answer "http://127.0.0.1:$lb_stay/" stay1
sd_wait_for "chg answers" 30 sd_all_answer "http://127.0.0.1:$lb_chg/" chg1
sd_wait_for "gone answers" 30 sd_all_answer "http://127.0.0.1:$lb_gone/" gone1

sd_load_start load "http://127.0.0.1:$lb_stay/"
sd_wait_for "load running" 30 sd_load_at_least load 20
watching0=$(grep -c "service stay: watching zookeeper" "$SD_TMP/watcher.log")
reloads0=$(sd_watcher_reloads watcher)

sd_watcher_config "$SD_TMP/watcher.json" "$v2" "\"reload_command\": \"$(sd_haproxy_reload_cmd)\""
cp "$SD_TMP/watcher.json" "$SD_TMP/good.json" # for `status -c` to find the socket
# last_reload's FIELD from `status --json`.
last_reload() {
	"$SD_BIN/smartdock-watcher" status -c "$SD_TMP/good.json" --json |
		python3 -c "import json,sys; r=json.load(sys.stdin).get('last_reload', {}); print(r.get('$1', ''))"
}
[ -z "$(last_reload outcome)" ] || sd_fail "status: a reload before any SIGHUP"
sd_kill watcher HUP
sd_wait_for "reload logged" 30 sd_log_has watcher \
	"SIGHUP: reload applied: 1 services kept .*, 1 started, 1 changed \(restarted\), 1 stopped"
sd_wait_for "fresh answers" 30 sd_all_answer "http://127.0.0.1:$lb_fresh/" fresh1
sd_wait_for "chg answers on its new port" 30 sd_all_answer "http://127.0.0.1:$lb_chg2/" chg1
sd_wait_for "gone's frontend closed" 30 bash -c "! curl -s --max-time 2 http://127.0.0.1:$lb_gone/ >/dev/null"
[ "$(grep -c "service stay: watching zookeeper" "$SD_TMP/watcher.log")" = "$watching0" ] ||
	sd_fail "the unchanged service's discovery was restarted"
reloads1=$(sd_watcher_reloads watcher)
[ "$reloads1" = $((reloads0 + 1)) ] || sd_fail "expected one haproxy reload, got $((reloads1 - reloads0))"
haproxy -c -q -f "$SD_TMP/haproxy.cfg" || sd_fail "haproxy.cfg invalid"
[ "$(last_reload outcome)" = applied ] || sd_fail "status: last_reload $(last_reload outcome)"
[ "$(last_reload counts)" = "{'kept': 1, 'started': 1, 'changed': 1, 'stopped': 1}" ] ||
	sd_fail "status: counts $(last_reload counts)"

# A config that does not validate: refused, state kept.
echo '{"services": {"x": {}}}' >"$SD_TMP/watcher.json"
sd_kill watcher HUP
sd_wait_for "bad config refused" 30 sd_log_has watcher "SIGHUP: reload refused, the running config is kept"
[ "$(last_reload outcome)" = refused ] || sd_fail "status after a refusal: $(last_reload outcome)"
last_reload error | grep -q "watcher.json" || sd_fail "status error: $(last_reload error)"
"$SD_BIN/smartdock-watcher" status -c "$SD_TMP/good.json" | grep -q "^last SIGHUP .*: refused: " ||
	sd_fail "human status: $("$SD_BIN/smartdock-watcher" status -c "$SD_TMP/good.json")"
sd_all_answer "http://127.0.0.1:$lb_fresh/" fresh1 || sd_fail "fresh lost after a refused reload"
sd_alive watcher || sd_fail "the watcher died"

sd_wait_for "more requests" 30 sd_load_at_least load "$(($(sd_load_count load) + 20))"
sd_load_stop load
failed=$(sd_load_failures load)
[ -z "$failed" ] || sd_fail "failed requests through the unchanged service: $failed"
sd_log "requests through stay: $(sd_load_count load), none failed"
sd_log "ok"
