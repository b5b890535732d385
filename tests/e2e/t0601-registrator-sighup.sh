#!/usr/bin/env bash
# SIGHUP to the registrator: the config is read again and only the
# difference is applied. One service added, one removed, one changed (its
# weight), one unchanged; requests run through HAProxy all along. Zero
# failed requests, and the znodes that stay are the same znodes (czxid and
# owner session unchanged). A config that does not validate, or one that
# moves the registry, is refused and the running state kept.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1
for img in stay web api new; do sd_image_tag d1 smartdock/$img:latest; done

p_stay=$(sd_free_port)
p_web=$(sd_free_port)
p_api=$(sd_free_port)
p_new=$(sd_free_port)
lb_stay=$(sd_free_port)
lb_web=$(sd_free_port)
sock=$SD_TMP/haproxy.sock
for svc in stay web api new; do
	port_var=p_$svc
	sd_docker d1 run -d --network host --name "${svc}1" "smartdock/$svc" \
		/bin/hello 127.0.0.2 "${!port_var}" "${svc}1" >/dev/null
done

svc_json() { # NAME PORT [WEIGHT]
	echo "\"$1\": {\"image_name\": \"smartdock/$1\", \"container_port\": $2${3:+, \"weight\": $3}}"
}
sd_registrator_config "$SD_TMP/v1.json" 127.0.0.2 "$DOCKER_HOST_d1" \
	"{$(svc_json stay "$p_stay"), $(svc_json web "$p_web" 10), $(svc_json api "$p_api")}"
sd_registrator_config "$SD_TMP/v2.json" 127.0.0.2 "$DOCKER_HOST_d1" \
	"{$(svc_json stay "$p_stay"), $(svc_json web "$p_web" 20), $(svc_json new "$p_new")}"
cp "$SD_TMP/v1.json" "$SD_TMP/reg.json"
sd_registrator reg "$SD_TMP/reg.json"
for svc in stay web api; do
	sd_wait_for "$svc registered" 30 sd_zk_count_is /smartdock/services/$svc 1
done
sd_zk_count_is /smartdock/services/new 0 || sd_fail "new registered before the reload"

services="{$(sd_zk_named_service stay "$lb_stay"), $(sd_zk_named_service web "$lb_web")}"
sd_watcher_config "$SD_TMP/once.json" "$services" "\"do_reloads\": false, \"socket_file_path\": \"$sock\""
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
sd_haproxy_start "$SD_TMP/haproxy.cfg"
sd_watcher_config "$SD_TMP/watcher.json" "$services" \
	"\"reload_command\": \"kill -USR2 $(sd_haproxy_pid)\", \"socket_file_path\": \"$sock\""
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
sd_wait_for "stay answers" 30 sd_all_answer "http://127.0.0.1:$lb_stay/" stay1
sd_wait_for "web answers" 30 sd_all_answer "http://127.0.0.1:$lb_web/" web1

sd_load_start load_stay "http://127.0.0.1:$lb_stay/"
sd_load_start load_web "http://127.0.0.1:$lb_web/"
sd_wait_for "load running" 30 sd_load_at_least load_stay 20
sd_wait_for "load running" 30 sd_load_at_least load_web 20

before_stay=$(sd_zkctl czxids /smartdock/services/stay)
before_web=$(sd_zkctl czxids /smartdock/services/web)
sd_log "before: stay $before_stay; web $before_web"

# The reload: api removed, new added, web re-weighted, stay unchanged.
cp "$SD_TMP/v2.json" "$SD_TMP/reg.json"
sd_kill reg HUP
sd_wait_for "reload logged" 30 sd_log_has reg \
	"SIGHUP: reload applied: 1 registered, 1 withdrawn, 1 updated in place, 1 unchanged"
sd_wait_for "new registered" 30 sd_zk_count_is /smartdock/services/new 1
sd_wait_for "api withdrawn" 30 sd_zk_count_is /smartdock/services/api 0
sd_wait_for "web weight 20" 30 bash -c "'$SD_ZKCTL' '$SD_ZK_ADDR' dump /smartdock/services/web | grep -q '\"weight\":20'"
[ "$(sd_zkctl czxids /smartdock/services/stay)" = "$before_stay" ] ||
	sd_fail "stay's znode was recreated: $before_stay -> $(sd_zkctl czxids /smartdock/services/stay)"
[ "$(sd_zkctl czxids /smartdock/services/web)" = "$before_web" ] ||
	sd_fail "web's znode was recreated: $before_web -> $(sd_zkctl czxids /smartdock/services/web)"

# A config that does not validate: refused, logged, nothing changes.
echo '{"advertise_host": "127.0.0.2", "registry": ' >"$SD_TMP/reg.json"
sd_kill reg HUP
sd_wait_for "bad config refused" 30 sd_log_has reg "SIGHUP: reload refused, the running config is kept: .*malformed JSON"
# A config that moves the registry: refused too.
sed "s#\"/smartdock/services\"#\"/elsewhere\"#" "$SD_TMP/v1.json" >"$SD_TMP/reg.json"
sd_kill reg HUP
sd_wait_for "registry change refused" 30 sd_log_has reg "reload refused.*the registry changed"
for svc in stay web new; do
	sd_zk_count_is /smartdock/services/$svc 1 || sd_fail "$svc lost after a refused reload"
done
[ "$(sd_zkctl czxids /smartdock/services/stay)" = "$before_stay" ] || sd_fail "stay recreated"
sd_alive reg || sd_fail "the registrator died"

sd_wait_for "more requests" 30 sd_load_at_least load_stay "$(($(sd_load_count load_stay) + 20))"
sd_load_stop load_stay
sd_load_stop load_web
failed=$(sd_load_failures load_stay; sd_load_failures load_web)
[ -z "$failed" ] || sd_fail "failed requests: $failed"
sd_log "requests: stay $(sd_load_count load_stay), web $(sd_load_count load_web), none failed"
sd_kill reg TERM
sd_log "ok"
