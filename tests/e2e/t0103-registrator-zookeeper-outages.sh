#!/usr/bin/env bash
# ZooKeeper session expiry (the registrator frozen past its session timeout)
# and a ZooKeeper restart: registrations come back, never twice.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1

p1=$(sd_free_port)
p2=$(sd_free_port)
sd_registrator_config "$SD_TMP/reg.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}' 4000
for i in 1 2; do
	port=$([ $i = 1 ] && echo "$p1" || echo "$p2")
	sd_docker d1 run -d --network host --name "c$i" -l smartdock.service=web \
		-l smartdock.port="$port" smartdock/hello /bin/hello 127.0.0.2 "$port" "c$i" >/dev/null
done
sd_registrator reg "$SD_TMP/reg.json"
sd_wait_for "both registered" 30 sd_zk_count_is /smartdock/services/web 2
first=$(sd_zkctl ls /smartdock/services/web | head -1)
owner=$(sd_zkctl owner "/smartdock/services/web/$first")

# Expiry: freeze the registrator well past its 4 s session timeout.
sd_kill reg STOP
sd_wait_for "session expired on the server" 30 sd_zk_count_is /smartdock/services/web 0
sd_kill reg CONT
sd_wait_for "expiry noticed" 30 sd_log_has reg "opening a new session"
sd_wait_for "re-registered" 30 sd_zk_count_is /smartdock/services/web 2
now=$(sd_zkctl ls /smartdock/services/web | head -1)
[ "$(sd_zkctl owner "/smartdock/services/web/$now")" != "$owner" ] || sd_fail "same session after expiry?"

# ZooKeeper down for a few seconds (less than the session timeout), then back.
before=$(sd_zkctl ls /smartdock/services/web)
sd_zk_stop
sd_wait_for "disconnection noticed" 30 sd_log_has reg "disconnected"
sd_zk_start
sd_wait_for "reconnected" 60 sh -c "grep -c 'zookeeper .*: connected' '$SD_TMP/reg.log' | grep -qv '^1$'"
sd_wait_for "both registered after the outage" 30 sd_zk_count_is /smartdock/services/web 2
sleep_free_samples=10
for _ in $(seq $sleep_free_samples); do
	sd_zk_count_is /smartdock/services/web 2 || sd_fail "web count $(sd_zk_count /smartdock/services/web)"
done
after=$(sd_zkctl ls /smartdock/services/web)
sd_log "before the outage: $(echo $before); after: $(echo $after)"
sd_log "ok"
