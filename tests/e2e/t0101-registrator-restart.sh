#!/usr/bin/env bash
# kill -9 of the registrator: its ephemeral znodes expire with the session;
# a restart registers everything again, and a restart that comes before the
# old session expired deletes the old session's nodes: never a duplicate.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1

p1=$(sd_free_port)
p2=$(sd_free_port)
sd_registrator_config "$SD_TMP/reg.json" 127.0.0.2 "$DOCKER_HOST_d1" \
	"{\"web\": {\"image_name\": \"smartdock/hello\", \"container_port\": $p1}}" 4000
sd_docker d1 run -d --network host --name ca smartdock/hello /bin/hello 127.0.0.2 "$p1" a >/dev/null
sd_docker d1 run -d --network host --name cb -l smartdock.service=api -l smartdock.port="$p2" \
	-l smartdock.ignore=false smartdock/hello /bin/hello 127.0.0.2 "$p2" b >/dev/null

sd_registrator reg "$SD_TMP/reg.json"
sd_wait_for "web registered" 30 sd_zk_count_is /smartdock/services/web 2
sd_wait_for "api registered" 30 sd_zk_count_is /smartdock/services/api 1
# b also runs smartdock/hello, so the web service (by image) matches it too,
# on the configured container port: the host-network rule.

# kill -9: nothing withdraws the nodes but the session timeout.
sd_kill reg KILL
sd_wait_for "znodes expired with the session" 30 sd_zk_count_is /smartdock/services/api 0
sd_zk_count_is /smartdock/services/web 0 || sd_fail "web znodes outlived the session"

sd_registrator reg "$SD_TMP/reg.json"
sd_wait_for "api back" 30 sd_zk_count_is /smartdock/services/api 1
sd_wait_for "web back" 30 sd_zk_count_is /smartdock/services/web 2

# kill -9 and restart at once: the old session's nodes are still there and
# must be replaced, not joined.
old=$(sd_zkctl ls /smartdock/services/api)
old_owner=$(sd_zkctl owner "/smartdock/services/api/$old")
sd_kill reg KILL
sd_registrator reg "$SD_TMP/reg.json"
new_node_owned() {
	local n
	n=$(sd_zkctl ls /smartdock/services/api)
	[ "$(printf '%s\n' "$n" | wc -l)" = 1 ] && [ -n "$n" ] &&
		[ "$(sd_zkctl owner "/smartdock/services/api/$n")" != "$old_owner" ]
}
sd_wait_for "api re-registered by the new session" 30 new_node_owned
sd_wait_for "stale nodes removed" 30 sd_log_has reg "removing stale znode"
# From now on there is exactly one node per instance, whatever we sample.
for _ in $(seq 20); do
	sd_zk_count_is /smartdock/services/api 1 || sd_fail "api count $(sd_zk_count /smartdock/services/api)"
	sd_zk_count_is /smartdock/services/web 2 || sd_fail "web count $(sd_zk_count /smartdock/services/web)"
done
sd_log "ok"
