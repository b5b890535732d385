#!/usr/bin/env bash
# drain_ms: a container whose stop signal the app ignores (SIGWINCH) is
# withdrawn at docker stop, keeps running for drain_ms, then gets SIGTERM
# from the registrator and exits by it, well before docker stop's SIGKILL.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1

port=$(sd_free_port)
sd_label_registrator reg 127.0.0.2 d1
sd_docker d1 run -d --network host --name slow --stop-signal SIGWINCH \
	-l smartdock.service=web -l smartdock.port="$port" -l smartdock.drain_ms=8000 \
	smartdock/hello /bin/hello 127.0.0.2 "$port" slow >/dev/null
sd_wait_for "registered" 30 sd_zk_count_is /smartdock/services/web 1

sd_docker d1 stop -t 30 slow >/dev/null &
stop_pid=$!
sd_wait_for "withdrawn at the stop signal" 20 sd_zk_count_is /smartdock/services/web 0
sd_wait_for "drain started" 20 sd_log_has reg "draining container"
wait "$stop_pid"
sd_log_has reg "drain over: sent SIGTERM" || sd_fail "the registrator did not send SIGTERM"
# It left the registry while it still ran: the app ignores SIGWINCH and only
# the registrator's SIGTERM, logged after the withdrawal, stops it. (Read
# from the log, not by polling, which a loaded machine slows past drain_ms.)
gone_at=$(grep -n "deregistered web " "$SD_TMP/reg.log" | head -1 | cut -d: -f1)
term_at=$(grep -n "drain over: sent SIGTERM" "$SD_TMP/reg.log" | head -1 | cut -d: -f1)
[ -n "$gone_at" ] && [ "$gone_at" -lt "$term_at" ] ||
	sd_fail "the container was not withdrawn before its SIGTERM: $(cat "$SD_TMP/reg.log")"
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
