#!/usr/bin/env bash
# dockerd restarted: the registrator reconnects with backoff and resynchronises
# in full; a container removed while the engine was away leaves the registry,
# one that came back (restart policy) is registered.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1

p1=$(sd_free_port)
p2=$(sd_free_port)
sd_registrator_config "$SD_TMP/reg.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}'
sd_docker d1 run -d --network host --name keep --restart always -l smartdock.service=keep \
	-l smartdock.port="$p1" smartdock/hello /bin/hello 127.0.0.2 "$p1" keep >/dev/null
sd_docker d1 run -d --network host --name gone -l smartdock.service=gone \
	-l smartdock.port="$p2" smartdock/hello /bin/hello 127.0.0.2 "$p2" gone >/dev/null

sd_registrator reg "$SD_TMP/reg.json"
sd_wait_for "keep registered" 30 sd_zk_count_is /smartdock/services/keep 1
sd_wait_for "gone registered" 30 sd_zk_count_is /smartdock/services/gone 1

# The engine goes away: the registrator notices and keeps retrying.
sd_dockerd_stop d1
sd_wait_for "stream end noticed" 30 sd_log_has reg "events stream ended"
sd_dockerd_start d1
sd_wait_for "reconnected" 60 sd_log_has reg "connected \\(API .*\\)"
# keep comes back by its restart policy; gone stays stopped.
sd_wait_for "keep running again" 60 sh -c "[ \"\$($SD_DOCKER_CLI -H $DOCKER_HOST_d1 inspect -f '{{.State.Running}}' keep)\" = true ]"
sd_wait_for "gone deregistered" 30 sd_zk_count_is /smartdock/services/gone 0
sd_wait_for "keep registered after the restart" 30 sd_zk_count_is /smartdock/services/keep 1

# Removed while the engine is away: gone from the registry after reconnecting.
sd_dockerd_stop d1
sd_dockerd_start d1
sd_wait_for "keep running again" 60 sh -c "[ \"\$($SD_DOCKER_CLI -H $DOCKER_HOST_d1 inspect -f '{{.State.Running}}' keep)\" = true ]"
sd_docker d1 rm -f keep >/dev/null
sd_wait_for "keep deregistered" 30 sd_zk_count_is /smartdock/services/keep 0
sd_registrator_alive() { sd_alive reg; }
sd_registrator_alive || sd_fail "the registrator died"
sd_log "ok"
