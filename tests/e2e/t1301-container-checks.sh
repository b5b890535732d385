#!/usr/bin/env bash
# Health checks for containers, from the config's service entry and from
# smartdock.check.* labels: registered once the checks pass, withdrawn after
# `fall` failures (counted from the container's own request log), back when
# they pass again with no duplicate; Docker's HEALTHCHECK must agree too.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1
sd_image_tag d1 smartdock/api:latest

api_port=$(sd_free_port)
lab_port=$(sd_free_port)
dh_port=$(sd_free_port)
sd_registrator_config "$SD_TMP/reg.json" 127.0.0.3 "$DOCKER_HOST_d1" "{
  \"api\": {\"image_name\": \"smartdock/api\", \"container_port\": $api_port, \"check_interval\": 0.2,
            \"checks\": [{\"type\": \"http\", \"uri\": \"/health\", \"rise\": 2, \"fall\": 2, \"timeout\": 0.5}]}}"
"$SD_BIN/smartdock-registrator" --check -c "$SD_TMP/reg.json"
sd_registrator reg "$SD_TMP/reg.json"

API=/smartdock/services/api
LAB=/smartdock/services/lab
DH=/smartdock/services/dh
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }
count() { sd_docker d1 logs "$1" 2>/dev/null | grep -c "request GET /health $2\$" || true; }

# From the config: healthy at its first check, so registered at once.
sd_docker d1 run -d --network host --name api1 smartdock/api /bin/hello 127.0.0.3 "$api_port" api1 --log >/dev/null
sd_wait_for "api registered" 30 sd_zk_count_is "$API" 1
node=$(sd_zkctl ls "$API")
curl -sS -o /dev/null "http://127.0.0.3:$api_port/health/fail"
before=$(count api1 500)
withdrawn_after_fall() {
	if [ "$(sd_zk_count "$API")" = 0 ]; then
		local f=$(($(count api1 500) - before))
		[ "$f" -ge 2 ] || sd_fail "api withdrawn after $f failures (fall 2)"
		return 0
	fi
	return 1
}
sd_wait_for "api withdrawn after 2 failures" 30 withdrawn_after_fall
sd_wait_for "down line" 10 sd_log_has reg "health: api 127.0.0.3:$api_port container=[0-9a-f]{12} is down: check http-127.0.0.3:$api_port/health: http 500 \\(fall 2\\)"
[ "$(grep -c "health: api .* is down" "$SD_TMP/reg.log")" = 1 ] || sd_fail "one down transition, one line"
oks=$(count api1 200)
curl -sS -o /dev/null "http://127.0.0.3:$api_port/health/ok"
back_after_rise() {
	if [ "$(sd_zk_count "$API")" = 1 ]; then
		local p=$(($(count api1 200) - oks))
		[ "$p" -ge 2 ] || sd_fail "api back after $p passes (rise 2)"
		return 0
	fi
	return 1
}
sd_wait_for "api registered again after 2 passes" 30 back_after_rise
sd_zk_count_is "$API" 1 || sd_fail "duplicate api znodes: $(sd_zkctl ls "$API")"
[ "$(sd_zkctl ls "$API")" != "$node" ] || sd_fail "the old znode came back instead of a new one"

# From labels.
sd_docker d1 run -d --network host --name lab1 -l smartdock.service=lab -l smartdock.port="$lab_port" \
	-l smartdock.check.type=http -l smartdock.check.uri=/health -l smartdock.check.rise=1 \
	-l smartdock.check.fall=1 -l smartdock.check.timeout=0.5 -l smartdock.check_interval=0.2 \
	smartdock/hello /bin/hello 127.0.0.3 "$lab_port" lab1 --log >/dev/null
sd_wait_for "lab registered" 30 sd_zk_count_is "$LAB" 1
curl -sS -o /dev/null "http://127.0.0.3:$lab_port/health/hang"
sd_wait_for "lab withdrawn on a hanging check" 30 sd_zk_count_is "$LAB" 0
sd_log_has reg "health: lab .* is down: check http-127.0.0.3:$lab_port/health: timeout after [0-9]+ ms" ||
	sd_fail "no timeout line for lab"

# A bad check label is one line naming it, and the container is registered without it.
sd_docker d1 run -d --network host --name bad1 -l smartdock.service=bad -l smartdock.port="$(sd_free_port)" \
	-l smartdock.check.type=http -l smartdock.check.uri=/health -l smartdock.check.rise=x \
	smartdock/hello /bin/hello 127.0.0.3 "$(sd_free_port)" bad1 >/dev/null
sd_wait_for "bad label logged" 30 sd_log_has reg 'label smartdock.check.rise: expected a positive integer, got "x"'

# Docker's HEALTHCHECK and ours must both agree.
sd_docker d1 run -d --network host --name dh1 -l smartdock.service=dh -l smartdock.port="$dh_port" \
	-l smartdock.check.type=http -l smartdock.check.uri=/health -l smartdock.check_interval=0.2 \
	--health-cmd "cat /tmp/healthy" --health-interval 1s --health-retries 1 \
	smartdock/hello /bin/hello 127.0.0.3 "$dh_port" dh1 --log >/dev/null
dh_status() { [ "$(sd_docker d1 inspect -f '{{.State.Health.Status}}' dh1)" = "$1" ]; }
sd_wait_for "docker says unhealthy" 60 dh_status unhealthy
# Docker decides first: an unhealthy container is not even checked.
sd_zk_count_is "$DH" 0 || sd_fail "registered while Docker says unhealthy"
curl -sS -o /dev/null "http://127.0.0.3:$dh_port/health/fail"
sd_docker d1 exec dh1 touch /tmp/healthy
sd_wait_for "docker says healthy" 60 dh_status healthy
sd_wait_for "our check fails" 30 at_least dh1 500 1
sd_zk_count_is "$DH" 0 || sd_fail "registered while our check fails"
curl -sS -o /dev/null "http://127.0.0.3:$dh_port/health/ok"
sd_wait_for "dh registered once both agree" 30 sd_zk_count_is "$DH" 1

# gliderlabs/registrator's SERVICE_CHECK_HTTP (+ _INTERVAL, _TIMEOUT): not
# registered while the check fails (nothing listens yet), registered once
# it passes, withdrawn on a 500, back on a 200. SERVICE_CHECK_SCRIPT cannot
# run here: one warning names it.
gl_port=$(sd_free_port)
GL=/smartdock/services/gl
sd_docker d1 run -d --network host --name gl1 --expose "$gl_port" -e SERVICE_NAME=gl \
	-e SERVICE_CHECK_HTTP=/health -e SERVICE_CHECK_INTERVAL=200ms -e SERVICE_CHECK_TIMEOUT=500ms \
	-e "SERVICE_CHECK_SCRIPT=nc \$SERVICE_IP \$SERVICE_PORT" smartdock/hello \
	sh -c "while [ ! -e /tmp/go ]; do sleep 0.1; done; exec /bin/hello 127.0.0.3 $gl_port gl1 --log" >/dev/null
sd_wait_for "gl's check fails" 30 sd_log_has reg "health: gl 127.0.0.3:$gl_port container=[0-9a-f]{12} is down: check http-127.0.0.3:$gl_port/health: connect"
sd_log_has reg "service gl: SERVICE_CHECK_SCRIPT not mapped onto a health check" ||
	sd_fail "no warning for SERVICE_CHECK_SCRIPT"
sd_zk_count_is "$GL" 0 || sd_fail "gl registered while its check fails"
sd_docker d1 exec gl1 touch /tmp/go
sd_wait_for "gl registered once its check passes" 30 sd_zk_count_is "$GL" 1
curl -sS -o /dev/null "http://127.0.0.3:$gl_port/health/fail"
sd_wait_for "gl withdrawn on a 500" 30 sd_zk_count_is "$GL" 0
curl -sS -o /dev/null "http://127.0.0.3:$gl_port/health/ok"
sd_wait_for "gl back on a 200" 30 sd_zk_count_is "$GL" 1
sd_zkctl dump "$GL" | grep -q '"check_http":"/health"' || sd_fail "check_http label: $(sd_zkctl dump "$GL")"

sd_kill reg TERM
sd_log "ok"
