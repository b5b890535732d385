#!/usr/bin/env bash
# systemd's readiness protocol (Type=notify), with a $NOTIFY_SOCKET the test
# binds: the registrator says READY=1 only once Docker is listed and the
# registry written (the znode of a container that ran before it started is
# there when READY arrives), the watcher once haproxy.cfg is in effect (it
# holds that server). Both ping WATCHDOG=1 at half $WATCHDOG_USEC, send a
# STATUS= line, and STOPPING=1 at SIGTERM.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1

port=$(sd_free_port)
sd_run_web d1 web1 127.0.0.2 "$port"

# notify_has NAME PATTERN: listener NAME received a datagram matching PATTERN.
notify_has() { grep -qE "$2" "$SD_TMP/$1.log"; }

sd_bg reg-notify "$SD_BIN/tests/notify_listen" "$SD_TMP/reg.notify"
sd_wait_for "registrator's notify socket" 10 test -S "$SD_TMP/reg.notify"
sd_registrator_config "$SD_TMP/reg.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}'
NOTIFY_SOCKET=$SD_TMP/reg.notify WATCHDOG_USEC=1000000 sd_registrator reg "$SD_TMP/reg.json"
sd_wait_for "registrator READY=1" 30 notify_has reg-notify '^READY=1 \| STATUS=.+'
sd_zk_count_is /smartdock/services/web 1 ||
	sd_fail "READY=1 came before web1 was in ZooKeeper"
sd_wait_for "registrator WATCHDOG=1" 30 notify_has reg-notify '^WATCHDOG=1$'
[ "$(grep -c '^READY=1' "$SD_TMP/reg-notify.log")" = 1 ] || sd_fail "READY=1 sent more than once"

lb=$(sd_free_port)
sd_bg w-notify "$SD_BIN/tests/notify_listen" "$SD_TMP/w.notify"
sd_wait_for "watcher's notify socket" 10 test -S "$SD_TMP/w.notify"
sd_watcher_config "$SD_TMP/watcher.json" "$(sd_zk_service "$lb" /smartdock/services/web)" \
	'"reload_command": "true"'
NOTIFY_SOCKET=$SD_TMP/w.notify WATCHDOG_USEC=1000000 \
	sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
sd_wait_for "watcher READY=1" 30 notify_has w-notify '^READY=1 \| STATUS=.+'
grep -q "127.0.0.2:$port" "$SD_TMP/haproxy.cfg" ||
	sd_fail "READY=1 came before haproxy.cfg held web1: $(cat "$SD_TMP/haproxy.cfg")"
sd_wait_for "watcher WATCHDOG=1" 30 notify_has w-notify '^WATCHDOG=1$'

sd_kill watcher TERM
sd_wait_for "watcher STOPPING=1" 30 notify_has w-notify '^STOPPING=1$'
sd_kill reg TERM
sd_wait_for "registrator STOPPING=1" 30 notify_has reg-notify '^STOPPING=1$'

# Without NOTIFY_SOCKET nothing is sent and nothing is logged about it.
sd_registrator reg2 "$SD_TMP/reg.json"
sd_wait_for "reg2 registered" 30 sd_log_has reg2 "registered web"
! sd_log_has reg2 "notify" || sd_fail "reg2 logged about notify without NOTIFY_SOCKET"
sd_log "PASS"
