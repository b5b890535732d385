#!/usr/bin/env bash
# SIGHUP to the registrator: the config is read again and only the
# difference is applied. One service added, one removed, one changed (its
# weight), one unchanged; requests run through HAProxy all along. Zero
# failed requests, and the znodes that stay are the same znodes (czxid and
# owner session unchanged). Nerve services (host:port entries of the same
# file) get the same treatment. A config that does not validate, or one
# that moves the registry, is refused and the running state kept. The
# outcome is in `status --json` each time.
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
nerve_json() { # NAME PORT [WEIGHT]: a Nerve service checking a hello container
	echo "\"$1\": {\"host\": \"127.0.0.2\", \"port\": $2, \"zk_hosts\": [$(sd_zk_hosts_json)],
	  \"zk_path\": \"/nerve/$1\", \"check_interval\": 0.5, \"checks\": [{\"type\": \"tcp\"}]${3:+, \"weight\": $3}}"
}
sd_registrator_config "$SD_TMP/v1.json" 127.0.0.2 "$DOCKER_HOST_d1" \
	"{$(svc_json stay "$p_stay"), $(svc_json web "$p_web" 10), $(svc_json api "$p_api"),
	  $(nerve_json n_stay "$p_stay"), $(nerve_json n_web "$p_web" 10), $(nerve_json n_gone "$p_api")}"
sd_registrator_config "$SD_TMP/v2.json" 127.0.0.2 "$DOCKER_HOST_d1" \
	"{$(svc_json stay "$p_stay"), $(svc_json web "$p_web" 20), $(svc_json new "$p_new"),
	  $(nerve_json n_stay "$p_stay"), $(nerve_json n_web "$p_web" 20), $(nerve_json n_new "$p_new")}"
sed -i "1s#{#{\"instance_id\": \"h1\", \"control_socket\": \"$SD_TMP/reg.sock\",#" "$SD_TMP/v1.json" "$SD_TMP/v2.json"
# last_reload's FIELD from `status --json` (python3 reads the JSON).
last_reload() {
	"$SD_BIN/smartdock-registrator" status -c "$SD_TMP/reg.json" --json |
		python3 -c "import json,sys; r=json.load(sys.stdin).get('last_reload', {}); print(r.get('$1', ''))"
}
cp "$SD_TMP/v1.json" "$SD_TMP/reg.json"
sd_registrator reg "$SD_TMP/reg.json"
for svc in stay web api; do
	sd_wait_for "$svc registered" 30 sd_zk_count_is /smartdock/services/$svc 1
done
for svc in n_stay n_web n_gone; do
	sd_wait_for "nerve $svc registered" 30 sd_zk_count_is /nerve/$svc 1
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
before_n_stay=$(sd_zkctl czxids /nerve/n_stay)
before_n_web=$(sd_zkctl czxids /nerve/n_web)
sd_log "before: stay $before_stay; web $before_web; n_stay $before_n_stay; n_web $before_n_web"

# The reload: api removed, new added, web re-weighted, stay unchanged.
cp "$SD_TMP/v2.json" "$SD_TMP/reg.json"
sd_kill reg HUP
sd_wait_for "reload logged" 30 sd_log_has reg \
	"SIGHUP: reload applied: 2 registered, 2 withdrawn, 2 updated in place, 2 unchanged"
[ "$(last_reload outcome)" = applied ] || sd_fail "status: last_reload $(last_reload outcome)"
[ "$(last_reload counts)" = "{'registered': 2, 'withdrawn': 2, 'updated': 2, 'unchanged': 2}" ] ||
	sd_fail "status: counts $(last_reload counts)"
sd_wait_for "new registered" 30 sd_zk_count_is /smartdock/services/new 1
sd_wait_for "api withdrawn" 30 sd_zk_count_is /smartdock/services/api 0
sd_wait_for "web weight 20" 30 bash -c "'$SD_ZKCTL' '$SD_ZK_ADDR' dump /smartdock/services/web | grep -q '\"weight\":20'"
[ "$(sd_zkctl czxids /smartdock/services/stay)" = "$before_stay" ] ||
	sd_fail "stay's znode was recreated: $before_stay -> $(sd_zkctl czxids /smartdock/services/stay)"
[ "$(sd_zkctl czxids /smartdock/services/web)" = "$before_web" ] ||
	sd_fail "web's znode was recreated: $before_web -> $(sd_zkctl czxids /smartdock/services/web)"
# Nerve services: the same, node by node.
sd_wait_for "nerve n_new registered" 30 sd_zk_count_is /nerve/n_new 1
sd_wait_for "nerve n_gone withdrawn" 30 sd_zk_count_is /nerve/n_gone 0
sd_wait_for "n_web weight 20" 30 bash -c "'$SD_ZKCTL' '$SD_ZK_ADDR' dump /nerve/n_web | grep -q '\"weight\":20'"
[ "$(sd_zkctl czxids /nerve/n_stay)" = "$before_n_stay" ] ||
	sd_fail "n_stay's znode was recreated: $before_n_stay -> $(sd_zkctl czxids /nerve/n_stay)"
[ "$(sd_zkctl czxids /nerve/n_web)" = "$before_n_web" ] ||
	sd_fail "n_web's znode was recreated: $before_n_web -> $(sd_zkctl czxids /nerve/n_web)"

# A config that does not validate: refused, logged, nothing changes.
echo '{"advertise_host": "127.0.0.2", "registry": ' >"$SD_TMP/reg.json"
sd_kill reg HUP
sd_wait_for "bad config refused" 30 sd_log_has reg "SIGHUP: reload refused, the running config is kept: .*malformed JSON"
cp "$SD_TMP/reg.json" "$SD_TMP/bad.json"
cp "$SD_TMP/v2.json" "$SD_TMP/reg.json" # for `status -c` to find the socket
[ "$(last_reload outcome)" = refused ] || sd_fail "status after a refusal: $(last_reload outcome)"
last_reload error | grep -q "malformed JSON" || sd_fail "status error: $(last_reload error)"
# A config that moves the registry: refused too.
sed "s#\"/smartdock/services\"#\"/elsewhere\"#" "$SD_TMP/v2.json" >"$SD_TMP/reg.json"
sd_kill reg HUP
sd_wait_for "registry change refused" 30 sd_log_has reg "reload refused.*the registry changed"
for svc in stay web new; do
	sd_zk_count_is /smartdock/services/$svc 1 || sd_fail "$svc lost after a refused reload"
done
for svc in n_stay n_web n_new; do
	sd_zk_count_is /nerve/$svc 1 || sd_fail "nerve $svc lost after a refused reload"
done
[ "$(sd_zkctl czxids /smartdock/services/stay)" = "$before_stay" ] || sd_fail "stay recreated"
[ "$(sd_zkctl czxids /nerve/n_stay)" = "$before_n_stay" ] || sd_fail "n_stay recreated"
sd_alive reg || sd_fail "the registrator died"

sd_wait_for "more requests" 30 sd_load_at_least load_stay "$(($(sd_load_count load_stay) + 20))"
sd_load_stop load_stay
sd_load_stop load_web
failed=$(sd_load_failures load_stay; sd_load_failures load_web)
[ -z "$failed" ] || sd_fail "failed requests: $failed"
sd_log "requests: stay $(sd_load_count load_stay), web $(sd_load_count load_web), none failed"
sd_kill reg TERM
sd_log "ok"
