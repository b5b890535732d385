#!/usr/bin/env bash
# The status commands over the control sockets (mode 0600), the registrator's
# drain by hand, and log_format json: every log line is one JSON object.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_need_root
sd_need_cmd jq
sd_setup
sd_zk_start
sd_dockerd_start d1
sd_image d1

# The registrator: its control socket where the config says, JSON logs.
sd_registrator_config "$SD_TMP/reg.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}'
jq --arg s "$SD_TMP/reg.sock" '. + {control_socket: $s, log_format: "json"}' "$SD_TMP/reg.json" \
	>"$SD_TMP/reg.json.new"
mv "$SD_TMP/reg.json.new" "$SD_TMP/reg.json"
sd_registrator reg "$SD_TMP/reg.json"
sd_wait_for "registrator control socket" 30 test -S "$SD_TMP/reg.sock"
[ "$(stat -c %a "$SD_TMP/reg.sock")" = 600 ] || sd_fail "mode $(stat -c %a "$SD_TMP/reg.sock")"

port=$(sd_free_port)
sd_run_web d1 web1 127.0.0.2 "$port"
sd_wait_for "web1 registered" 30 sd_zk_count_is /smartdock/services/web 1
id=$(sd_container_id d1 web1)
node=$(sd_zkctl ls /smartdock/services/web)

reg_status() { "$SD_BIN/smartdock-registrator" status -c "$SD_TMP/reg.json" "$@"; }
reg_status >"$SD_TMP/status.txt"
sd_log "registrator status:"$'\n'"$(cat "$SD_TMP/status.txt")"
grep -qE "^${id:0:12} +web +127\.0\.0\.2:$port +no healthcheck +serving +/smartdock/services/web/$node$" \
	"$SD_TMP/status.txt" || sd_fail "status lacks web1's line"
reg_status --json >"$SD_TMP/status.json"
[ "$(jq -r '.containers[0].registrations[0].path' "$SD_TMP/status.json")" = "/smartdock/services/web/$node" ] ||
	sd_fail "status --json: $(cat "$SD_TMP/status.json")"
[ "$(jq -r '.docker_connected and .registry_connected' "$SD_TMP/status.json")" = true ] ||
	sd_fail "status --json: not connected"

# The watcher, with HAProxy and its stats socket: its status shows HAProxy's view.
lb=$(sd_free_port)
sock=$SD_TMP/haproxy.sock
svc=$(sd_zk_service "$lb" /smartdock/services/web)
sd_watcher_config "$SD_TMP/once.json" "$svc" "\"do_reloads\": false, \"socket_file_path\": \"$sock\""
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
sd_haproxy_start "$SD_TMP/haproxy.cfg"
sd_watcher_config "$SD_TMP/watcher.json" "$svc" \
	"\"reload_command\": \"kill -USR2 $(sd_haproxy_pid)\", \"socket_file_path\": \"$sock\""
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
# default: beside haproxy.cfg
sd_wait_for "watcher control socket" 30 test -S "$SD_TMP/haproxy.cfg.control.sock"
[ "$(stat -c %a "$SD_TMP/haproxy.cfg.control.sock")" = 600 ] || sd_fail "watcher socket mode"
w_status() { "$SD_BIN/smartdock-watcher" status -c "$SD_TMP/watcher.json" "$@"; }
w_backend_up() {
	w_status --json >"$SD_TMP/w.json" &&
		[ "$(jq -r '.services[0].backends[0].haproxy' "$SD_TMP/w.json")" = UP ]
}
sd_wait_for "watcher status shows web1 UP in haproxy" 60 w_backend_up
[ "$(jq -r '.services[0].backends[0].source' "$SD_TMP/w.json")" = "$node" ] ||
	sd_fail "source: $(cat "$SD_TMP/w.json")"
[ "$(jq -r '.services[0].backends[0].address' "$SD_TMP/w.json")" = "127.0.0.2:$port" ] ||
	sd_fail "address: $(cat "$SD_TMP/w.json")"
[ -n "$(jq -r '.services[0].last_change' "$SD_TMP/w.json")" ] || sd_fail "no last_change"
w_status >"$SD_TMP/w.txt"
sd_log "watcher status:"$'\n'"$(cat "$SD_TMP/w.txt")"
grep -qE "127\.0\.0\.2:$port +UP +$node" "$SD_TMP/w.txt" || sd_fail "watcher status lacks web1"

# A refused registration shows as the service's last error.
sd_zkctl create /smartdock/services/web/bogus_0000000001 '{"host":"127.0.0.9","port":"x"}' >/dev/null
w_last_error() {
	w_status --json >"$SD_TMP/w.json" &&
		jq -r '.services[0].last_error' "$SD_TMP/w.json" | grep -q '^port: '
}
sd_wait_for "last_error names the port" 30 w_last_error

# Drain by hand: the instance leaves the registry (and HAProxy) while the
# container keeps running.
"$SD_BIN/smartdock-registrator" drain -c "$SD_TMP/reg.json" "${id:0:8}" >"$SD_TMP/drain.out"
grep -q "withdrawn" "$SD_TMP/drain.out" || sd_fail "drain said: $(cat "$SD_TMP/drain.out")"
sd_wait_for "web1 withdrawn by the drain" 30 sd_zk_count_is /smartdock/services/web 1 # bogus stays
sd_zkctl ls /smartdock/services/web | grep -q "$node" && sd_fail "web1's znode is still there"
[ "$(sd_docker d1 inspect -f '{{.State.Running}}' web1)" = true ] || sd_fail "web1 stopped"
reg_status | grep -qE "^${id:0:12} .*drained by hand" || sd_fail "status: $(reg_status)"
if "$SD_BIN/smartdock-registrator" drain -c "$SD_TMP/reg.json" ffffffffff >/dev/null 2>&1; then
	sd_fail "drain of an unknown container succeeded"
fi

# No daemon: a clear error and exit 1.
sd_kill reg TERM
if reg_status >"$SD_TMP/none.out" 2>&1; then sd_fail "status succeeded without a daemon"; fi
grep -q "no daemon answers at $SD_TMP/reg.sock" "$SD_TMP/none.out" || sd_fail "$(cat "$SD_TMP/none.out")"
[ ! -e "$SD_TMP/reg.sock" ] || sd_fail "the control socket outlived the registrator"

# log_format json: every line the registrator wrote is one JSON object with
# the stable fields (the harness's own "=== start" lines aside).
grep -v '^=== ' "$SD_TMP/reg.log" >"$SD_TMP/reg.jsonl"
[ -s "$SD_TMP/reg.jsonl" ] || sd_fail "empty log"
jq -e 'has("ts") and has("level") and has("component") and has("pid") and has("msg")' \
	"$SD_TMP/reg.jsonl" >/dev/null || sd_fail "a log line is not the JSON we promise"
[ "$(jq -r 'select(.msg | startswith("registered web")) | .component' "$SD_TMP/reg.jsonl" | head -1)" = registrator ] ||
	sd_fail "no registered line in the JSON log"
sd_log "PASS"
