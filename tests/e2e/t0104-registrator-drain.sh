#!/usr/bin/env bash
# drain_ms: a container whose stop signal the app ignores (SIGWINCH) is
# withdrawn at docker stop, keeps running for drain_ms, then gets SIGTERM
# from the registrator and exits by it, well before docker stop's SIGKILL.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_need_root
sd_setup
sd_zk_start
sd_dockerd_start d1
sd_image d1

port=$(sd_free_port)
sd_registrator_config "$SD_TMP/reg.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}'
sd_registrator reg "$SD_TMP/reg.json"
sd_docker d1 run -d --network host --name slow --stop-signal SIGWINCH \
	-l smartdock.service=web -l smartdock.port="$port" -l smartdock.drain_ms=8000 \
	smartdock/hello /bin/hello 127.0.0.2 "$port" slow >/dev/null
sd_wait_for "registered" 30 sd_zk_count_is /smartdock/services/web 1

sd_docker d1 stop -t 30 slow >/dev/null &
stop_pid=$!
sd_wait_for "withdrawn at the stop signal" 10 sd_zk_count_is /smartdock/services/web 0
# drain_ms is long so that this look comes before the drain ends even when a
# loaded machine makes polling and `docker inspect` take seconds.
running=$(sd_docker d1 inspect -f '{{.State.Running}}' slow)
[ "$running" = true ] || sd_fail "the container was not running any more when it left the registry"
sd_wait_for "drain started" 10 sd_log_has reg "draining container"
wait "$stop_pid"
sd_log_has reg "drain over: sent SIGTERM" || sd_fail "the registrator did not send SIGTERM"
code=$(sd_docker d1 inspect -f '{{.State.ExitCode}}' slow)
[ "$code" = 0 ] || sd_fail "exit code $code: it was killed, not stopped by SIGTERM"

# With the default stop signal (SIGTERM) drain_ms cannot work: said once, and
# the container is withdrawn and stopped as usual.
sd_docker d1 run -d --network host --name plain -l smartdock.service=web -l smartdock.port="$port" \
	-l smartdock.drain_ms=1500 smartdock/hello /bin/hello 127.0.0.2 "$port" plain >/dev/null
sd_wait_for "plain registered" 30 sd_zk_count_is /smartdock/services/web 1
sd_docker d1 stop -t 30 plain >/dev/null
sd_zk_count_is /smartdock/services/web 0 || sd_fail "plain still registered"
sd_log_has reg "drain_ms 1500 ignored: its stop signal is SIGTERM" || sd_fail "no warning about drain_ms"
sd_log "ok"
