#!/usr/bin/env bash
# Registrator against real ZooKeeper and dockerd: what is registered, and
# that a stop removes the znode while the container is still shutting down.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1
sd_image_tag d1 smartdock/web:latest
sd_image_tag d1 smartdock/other:latest

web_port=$(sd_free_port)
api_port=$(sd_free_port)
other_port=$(sd_free_port)
sd_registrator_config "$SD_TMP/reg.json" 127.0.0.2 "$DOCKER_HOST_d1" \
	"{\"web\": {\"image_name\": \"smartdock/web\", \"container_port\": $web_port}}"
"$SD_BIN/smartdock-registrator" --check -c "$SD_TMP/reg.json"

# One matching by image and port, one by labels, one matching nothing.
sd_docker d1 run -d --network host --name web1 smartdock/web /bin/hello 127.0.0.2 "$web_port" web1 --ignore-term
sd_docker d1 run -d --network host --name api1 -l smartdock.service=api -l smartdock.port="$api_port" \
	-l smartdock.weight=7 smartdock/other /bin/hello 127.0.0.2 "$api_port" api1
sd_docker d1 run -d --network host --name other1 smartdock/other /bin/hello 127.0.0.2 "$other_port" other1

# --dry-run --once prints what would be registered and touches nothing.
"$SD_BIN/smartdock-registrator" --dry-run --once -c "$SD_TMP/reg.json" >"$SD_TMP/dry.out"
grep -q "\"service\":\"web\"" "$SD_TMP/dry.out" || sd_fail "dry run misses web: $(cat "$SD_TMP/dry.out")"
grep -q "\"service\":\"api\"" "$SD_TMP/dry.out" || sd_fail "dry run misses api"
[ "$(wc -l <"$SD_TMP/dry.out")" = 2 ] || sd_fail "dry run printed $(wc -l <"$SD_TMP/dry.out") lines"
[ "$(sd_zk_count /smartdock/services/web)" = 0 ] || sd_fail "dry run registered something"

sd_registrator reg "$SD_TMP/reg.json"
sd_wait_for "web registered" 30 sd_zk_count_is /smartdock/services/web 1
sd_wait_for "api registered" 30 sd_zk_count_is /smartdock/services/api 1
[ "$(sd_zkctl ls /smartdock/services | wc -l)" = 2 ] || sd_fail "unexpected services: $(sd_zkctl ls /smartdock/services)"

web_id=$(sd_container_id d1 web1)
node=$(sd_zkctl ls /smartdock/services/web)
case "$node" in
127.0.0.2_${web_port}_${web_id:0:12}_*) ;;
*) sd_fail "web znode name $node" ;;
esac
data=$(sd_zkctl get "/smartdock/services/web/$node")
echo "$data" | grep -q "\"host\":\"127.0.0.2\"" || sd_fail "web payload $data"
echo "$data" | grep -q "\"port\":$web_port" || sd_fail "web payload $data"
echo "$data" | grep -q "\"name\":\"127.0.0.2_${web_port}_${web_id:0:12}\"" || sd_fail "web payload $data"
echo "$data" | grep -q "\"container_id\":\"$web_id\"" || sd_fail "web payload $data"
api=$(sd_zkctl dump /smartdock/services/api)
echo "$api" | grep -q "\"port\":$api_port" || sd_fail "api payload $api"
echo "$api" | grep -q "\"weight\":7" || sd_fail "api payload $api"

# SIGHUP is not the stop signal: nothing is removed.
api_id=$(sd_container_id d1 api1)
sd_docker d1 kill -s HUP api1
sd_wait_for "kill HUP seen" 20 sd_log_has reg "docker event kill container=${api_id:0:12}"
sd_zk_count_is /smartdock/services/api 1 || sd_fail "docker kill -s HUP removed the api znode"

# web1 ignores SIGTERM, so `docker stop -t 3` takes 3 s; the znode must go at
# the kill event, while docker stop is still waiting. The order is read from
# the registrator's own log (deregistered before the die event), not from
# our polling, which a loaded machine can slow past the 3 s.
web_id=$(sd_container_id d1 web1)
sd_docker d1 stop -t 3 web1 >/dev/null &
stop_pid=$!
sd_wait_for "web znode removed" 20 sd_zk_count_is /smartdock/services/web 0
wait "$stop_pid"
sd_wait_for "die of web1 seen" 20 sd_log_has reg "docker event die container=${web_id:0:12}"
gone_at=$(grep -n "deregistered web .*container=${web_id:0:12}" "$SD_TMP/reg.log" | head -1 | cut -d: -f1)
died_at=$(grep -n "docker event die container=${web_id:0:12}" "$SD_TMP/reg.log" | head -1 | cut -d: -f1)
[ -n "$gone_at" ] && [ "$gone_at" -lt "$died_at" ] ||
	sd_fail "web1 was not deregistered before it died: $(grep "${web_id:0:12}" "$SD_TMP/reg.log")"
sd_log "web znode gone while docker stop was still waiting"
sd_zk_count_is /smartdock/services/api 1 || sd_fail "api znode lost"

# Starting it again registers it again.
sd_docker d1 start web1 >/dev/null
sd_wait_for "web registered again" 30 sd_zk_count_is /smartdock/services/web 1

# SIGTERM to the registrator withdraws everything at once.
sd_kill reg TERM
sd_zk_count_is /smartdock/services/web 0 || sd_fail "web znode left after SIGTERM"
sd_zk_count_is /smartdock/services/api 0 || sd_fail "api znode left after SIGTERM"
sd_log "ok"
