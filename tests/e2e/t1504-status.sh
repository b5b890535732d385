#!/usr/bin/env bash
# The status commands over the control sockets (mode 0600, their directory
# made when missing), what each shows (--json through jq), the registrator's
# drain by hand, and log_format json: every log line is one JSON object.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_need_root
sd_need_cmd jq
sd_setup
sd_zk_start
sd_dockerd_start d1
sd_image d1

# The registrator: its control socket in a directory that does not exist yet
# (as /run/smartdock outside systemd), JSON logs.
ctl=$SD_TMP/run-smartdock/registrator.sock
sd_registrator_config "$SD_TMP/reg.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}'
jq --arg s "$ctl" '. + {control_socket: $s, log_format: "json"}' "$SD_TMP/reg.json" \
	>"$SD_TMP/reg.json.new"
mv "$SD_TMP/reg.json.new" "$SD_TMP/reg.json"
sd_registrator reg "$SD_TMP/reg.json"
sd_wait_for "registrator control socket" 30 test -S "$ctl"
[ "$(stat -c %a "$ctl")" = 600 ] || sd_fail "socket mode $(stat -c %a "$ctl")"
[ "$(stat -c %a "$(dirname "$ctl")")" = 750 ] || sd_fail "directory mode $(stat -c %a "$(dirname "$ctl")")"

# Two web containers, each checked over http by label.
run_checked_web() { # NAME PORT
	sd_docker d1 run -d --network host --name "$1" -l smartdock.service=web -l smartdock.port="$2" \
		-l smartdock.check.type=http -l smartdock.check.uri=/health -l smartdock.check_interval=0.2 \
		-l smartdock.check.timeout=1 smartdock/hello /bin/hello 127.0.0.2 "$2" "$1" >/dev/null
}
p1=$(sd_free_port)
p2=$(sd_free_port)
run_checked_web web1 "$p1"
run_checked_web web2 "$p2"
sd_wait_for "web1 and web2 registered" 60 sd_zk_count_is /smartdock/services/web 2
id1=$(sd_container_id d1 web1)
id2=$(sd_container_id d1 web2)
node1=$(sd_zkctl ls /smartdock/services/web | grep "_${p1}_")
node2=$(sd_zkctl ls /smartdock/services/web | grep "_${p2}_")

reg_status() { "$SD_BIN/smartdock-registrator" status -c "$SD_TMP/reg.json" "$@"; }
# reg_field ID JQ_FILTER: the filter applied to container ID's first registration.
reg_field() {
	reg_status --json >"$SD_TMP/status.json" &&
		jq -r --arg id "${1:0:12}" ".containers[] | select(.container == \$id) | $2" "$SD_TMP/status.json"
}
[ "$(reg_field "$id1" '.registrations[0].path')" = "/smartdock/services/web/$node1" ] ||
	sd_fail "status --json: $(cat "$SD_TMP/status.json")"
[ "$(reg_field "$id1" '.registrations[0].service + " " + .registrations[0].address')" = "web 127.0.0.2:$p1" ] ||
	sd_fail "status --json: $(cat "$SD_TMP/status.json")"
[ "$(reg_field "$id1" '.registrations[0].checks + " " + .drain + " " + (.registrations[0].in_registry|tostring)')" = \
	"up serving true" ] || sd_fail "status --json: $(cat "$SD_TMP/status.json")"
[ "$(jq -r '.docker_connected and .registry_connected and .first_sync_done' "$SD_TMP/status.json")" = true ] ||
	sd_fail "status --json: not connected"
reg_status >"$SD_TMP/status.txt"
sd_log "registrator status:"$'\n'"$(cat "$SD_TMP/status.txt")"
grep -qE "^${id1:0:12} +web +127\.0\.0\.2:$p1 +no healthcheck +up +serving +/smartdock/services/web/$node1$" \
	"$SD_TMP/status.txt" || sd_fail "status lacks web1's line"

# The check state follows web2's /health: down with the reason, withheld
# from the registry, then up again.
sd_get "http://127.0.0.2:$p2/health/fail" >/dev/null
checks_are() { [ "$(reg_field "$id2" '.registrations[0].checks')" = "$1" ]; }
sd_wait_for "web2's checks down" 30 checks_are "down: check http-127.0.0.2:$p2/health: http 500"
[ "$(reg_field "$id2" '.registrations[0].in_registry')" = false ] || sd_fail "web2 still offered"
sd_wait_for "web2 withdrawn by its checks" 30 sd_zk_count_is /smartdock/services/web 1
reg_status | grep -qE "^${id2:0:12} .*down: check .*\(withheld\) " || sd_fail "status: $(reg_status)"
sd_get "http://127.0.0.2:$p2/health/ok" >/dev/null
sd_wait_for "web2's checks up" 30 checks_are up
sd_wait_for "web2 registered again" 30 sd_zk_count_is /smartdock/services/web 2
node2=$(sd_zkctl ls /smartdock/services/web | grep "_${p2}_")

# The watcher, with HAProxy and its stats socket. It starts from the state
# file its --once run saved, so every source must still come from ZooKeeper.
lb=$(sd_free_port)
sock=$SD_TMP/haproxy.sock
svc=$(sd_zk_service "$lb" /smartdock/services/web)
sd_watcher_config "$SD_TMP/once.json" "$svc" "\"do_reloads\": false, \"socket_file_path\": \"$sock\""
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
[ -s "$SD_TMP/haproxy.cfg.state.json" ] || sd_fail "--once saved no state file"
sd_haproxy_start "$SD_TMP/haproxy.cfg"
sd_watcher_config "$SD_TMP/watcher.json" "$svc" \
	"\"reload_command\": \"kill -USR2 $(sd_haproxy_pid)\", \"socket_file_path\": \"$sock\""
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
# default: beside haproxy.cfg
wctl=$SD_TMP/haproxy.cfg.control.sock
sd_wait_for "watcher control socket" 30 test -S "$wctl"
[ "$(stat -c %a "$wctl")" = 600 ] || sd_fail "watcher socket mode"
w_status() { "$SD_BIN/smartdock-watcher" status -c "$SD_TMP/watcher.json" "$@"; }
# w_backend ADDRESS FIELD: FIELD of service web's backend at ADDRESS ("" if none).
w_backend() {
	w_status --json >"$SD_TMP/w.json" &&
		jq -r --arg a "$1" ".services[] | select(.service == \"web\") | .backends[] | select(.address == \$a) | .$2" "$SD_TMP/w.json"
}
both_up() { [ "$(w_backend "127.0.0.2:$p1" haproxy)" = UP ] && [ "$(w_backend "127.0.0.2:$p2" haproxy)" = UP ]; }
sd_wait_for "watcher status shows web1 and web2 UP in haproxy" 60 both_up
[ "$(w_backend "127.0.0.2:$p1" source)" = "$node1" ] || sd_fail "source: $(cat "$SD_TMP/w.json")"
[ "$(w_backend "127.0.0.2:$p2" source)" = "$node2" ] || sd_fail "source: $(cat "$SD_TMP/w.json")"
[ "$(jq -r '.services[0].registry' "$SD_TMP/w.json")" = connected ] || sd_fail "registry: $(cat "$SD_TMP/w.json")"
[[ "$(jq -r '.services[0].last_change' "$SD_TMP/w.json")" =~ ^20[0-9-]+T[0-9:]+Z$ ]] ||
	sd_fail "last_change: $(cat "$SD_TMP/w.json")"
[ "$(jq -r '.services[0].last_error' "$SD_TMP/w.json")" = "" ] || sd_fail "an error already"
w_status >"$SD_TMP/w.txt"
sd_log "watcher status:"$'\n'"$(cat "$SD_TMP/w.txt")"
grep -qE "127\.0\.0\.2:$p1 +UP +$node1" "$SD_TMP/w.txt" || sd_fail "watcher status lacks web1"
url=http://127.0.0.1:$lb/
sd_wait_for "both answer through haproxy" 30 sd_all_answer "$url" web1 web2

# A refused registration shows as the service's last error.
sd_zkctl create /smartdock/services/web/bogus_0000000001 '{"host":"127.0.0.9","port":"x"}' >/dev/null
w_last_error() {
	w_status --json >"$SD_TMP/w.json" &&
		jq -r '.services[0].last_error' "$SD_TMP/w.json" | grep -q '^port: '
}
sd_wait_for "last_error names the port" 30 w_last_error

# Drain web1 by hand: its znode goes, HAProxy stops sending to it, and the
# container keeps running.
"$SD_BIN/smartdock-registrator" drain -c "$SD_TMP/reg.json" "${id1:0:8}" >"$SD_TMP/drain.out"
grep -q "withdrawn" "$SD_TMP/drain.out" || sd_fail "drain said: $(cat "$SD_TMP/drain.out")"
web1_gone() { ! sd_zkctl ls /smartdock/services/web | grep -q "$node1"; }
sd_wait_for "web1's znode deleted by the drain" 30 web1_gone
sd_zkctl ls /smartdock/services/web | grep -q "$node2" || sd_fail "web2's znode went too"
w_no_web1() { w_status --json >"$SD_TMP/w.json" && [ -z "$(w_backend "127.0.0.2:$p1" address)" ]; }
sd_wait_for "watcher status without web1" 30 w_no_web1
hap_web1_up() { sd_hap_has_server "$sock" web "127\.0\.0\.2:$p1 0 "; }
if hap_web1_up; then sd_fail "haproxy still has web1 ready: $(sd_hap_servers "$sock" web)"; fi
sd_wait_for "only web2 answers through haproxy" 30 sd_all_answer "$url" web2
[ "$(sd_docker d1 inspect -f '{{.State.Running}}' web1)" = true ] || sd_fail "web1 stopped"
[ "$(reg_field "$id1" '.drain')" = "drained by hand" ] || sd_fail "status: $(cat "$SD_TMP/status.json")"
reg_status | grep -qE "^${id1:0:12} .*drained by hand" || sd_fail "status: $(reg_status)"
if "$SD_BIN/smartdock-registrator" drain -c "$SD_TMP/reg.json" ffffffffff >"$SD_TMP/drain.out" 2>&1; then
	sd_fail "drain of an unknown container succeeded"
fi
sd_log "unknown container: $(cat "$SD_TMP/drain.out")"

# No daemon: a clear error and exit 1.
sd_kill reg TERM
if reg_status >"$SD_TMP/none.out" 2>&1; then sd_fail "status succeeded without a daemon"; fi
grep -q "no daemon answers at $ctl" "$SD_TMP/none.out" || sd_fail "$(cat "$SD_TMP/none.out")"
[ ! -e "$ctl" ] || sd_fail "the control socket outlived the registrator"

# log_format json: every line the registrator wrote is one JSON object with
# the stable fields (the harness's own "=== start" lines aside).
grep -v '^=== ' "$SD_TMP/reg.log" >"$SD_TMP/reg.jsonl"
[ -s "$SD_TMP/reg.jsonl" ] || sd_fail "empty log"
jq -s -e 'all(has("ts") and has("level") and has("component") and has("pid") and has("msg"))' \
	"$SD_TMP/reg.jsonl" >/dev/null || sd_fail "a log line is not the JSON we promise"
[ "$(jq -r 'select(.msg | startswith("registered web")) | .component' "$SD_TMP/reg.jsonl" | head -1)" = registrator ] ||
	sd_fail "no registered line in the JSON log"
sd_log "PASS"
