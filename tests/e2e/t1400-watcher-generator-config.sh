#!/usr/bin/env bash
# generator_config_path: haproxy settings a service publishes in ZooKeeper
# (the data of the znode the key names, here its own path for web) replace
# the config file's section for that service, as Synapse's do. A hostile
# value (a newline, a dangerous keyword) is refused naming the znode and the
# field; the settings in effect and the neighbour service stay. SIGHUP keeps
# the published settings.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk

app=$(sd_free_port)
web_port=$(sd_free_port)
web_published=$(sd_free_port)
api_port=$(sd_free_port)
hello=$(sd_hello_bin)
sd_bg b1 "$hello" 127.0.0.2 "$app" b1
sd_bg b2 "$hello" 127.0.0.3 "$app" b2
sd_zkctl mkdirs /nerve/web
sd_zkctl mkdirs /nerve/api
sd_zkctl create /nerve/web/b1_ "{\"host\":\"127.0.0.2\",\"port\":$app,\"name\":\"b1\"}" sequential >/dev/null
sd_zkctl create /nerve/api/b2_ "{\"host\":\"127.0.0.3\",\"port\":$app,\"name\":\"b2\"}" sequential >/dev/null

listen="\"listen\": [\"mode http\", \"option httpchk /\", \"http-check expect string Hello\"]"
services="{
 \"web\": {\"discovery\": {\"method\": \"zookeeper\", \"hosts\": [\"$SD_ZK_ADDR\"], \"path\": \"/nerve/web\",
                         \"generator_config_path\": \"/nerve/web\"},
         \"haproxy\": {\"port\": $web_port, \"bind_address\": \"127.0.0.1\", $listen}},
 \"api\": {\"discovery\": {\"method\": \"zookeeper\", \"hosts\": [\"$SD_ZK_ADDR\"], \"path\": \"/nerve/api\",
                         \"generator_config_path\": \"/config/api\"},
         \"haproxy\": {\"port\": $api_port, \"bind_address\": \"127.0.0.1\", $listen}}}"
sd_watcher_config "$SD_TMP/watcher.json" "$services" "\"managed\": true"
"$SD_BIN/smartdock-watcher" --check -c "$SD_TMP/watcher.json" 2>"$SD_TMP/check.log" ||
	sd_fail "--check: $(cat "$SD_TMP/check.log")"
if grep -E "not supported|unknown key" "$SD_TMP/check.log"; then sd_fail "warnings: $(cat "$SD_TMP/check.log")"; fi
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"

sd_wait_for "web served with the file's settings" 30 sd_all_answer "http://127.0.0.1:$web_port/" b1
sd_wait_for "api served" 30 sd_all_answer "http://127.0.0.1:$api_port/" b2

# web publishes its settings in the data of its path (its generator_config_path): another port and a header.
settings() { # PORT EXTRA_LISTEN_LINE
	echo "{\"haproxy\": {\"port\": $1, \"bind_address\": \"127.0.0.1\", \"listen\": [\"mode http\", \"option httpchk /\", \"http-check expect string Hello\", $2]}}"
}
sd_zkctl set /nerve/web "$(settings "$web_published" '"http-response set-header X-Published one"')" >/dev/null
sd_wait_for "web served on the published port" 30 sd_all_answer "http://127.0.0.1:$web_published/" b1
published_header() { # PORT VALUE
	curl -sS -D - -o /dev/null --max-time 5 "http://127.0.0.1:$1/" | grep -qi "^X-Published: $2"
}
sd_wait_for "the published header is set" 20 published_header "$web_published" one
grep -q "bind 127.0.0.1:$web_port" "$SD_TMP/haproxy.cfg" && sd_fail "the file's port is still bound"
sd_log_has watcher "service web: haproxy settings published in znode /nerve/web are in effect" ||
	sd_fail "no line saying the published settings are in effect"

# Hostile values are refused, naming the znode and the field; what is in effect stays.
sd_zkctl set /nerve/web "$(settings "$web_published" '"external-check command /bin/sh"')" >/dev/null
sd_wait_for "the dangerous keyword refused" 20 sd_log_has watcher \
	'service web: published haproxy settings refused, the last published ones stay in effect: znode /nerve/web: haproxy.listen\[3\]: "external-check" is refused'
sd_zkctl set /nerve/web "$(settings "$web_published" '"mode http\nbackend evil"')" >/dev/null
sd_wait_for "the newline refused" 20 sd_log_has watcher \
	'znode /nerve/web: haproxy.listen\[3\]: expected a string without control characters'
# A neighbour's port is refused: HAProxy would bind it twice and split its connections.
sd_zkctl set /nerve/web "$(settings "$api_port" '"http-response set-header X-Published stolen"')" >/dev/null
sd_wait_for "the neighbour's port refused" 20 sd_log_has watcher \
	"znode /nerve/web: haproxy.port: $api_port is service api's"
if grep -qE "external-check|evil|stolen" "$SD_TMP/haproxy.cfg"; then sd_fail "hostile settings reached haproxy.cfg"; fi
published_header "$web_published" one || sd_fail "the settings in effect were lost"
sd_all_answer "http://127.0.0.1:$api_port/" b2 || sd_fail "the neighbour was affected"

# api's settings live at generator_config_path, created only now (watched meanwhile).
sd_zkctl mkdirs /config
sd_zkctl create /config/api "$(settings "$api_port" '"http-response set-header X-Published api"')" >/dev/null
sd_wait_for "api's published settings in effect" 30 published_header "$api_port" api
sd_all_answer "http://127.0.0.1:$api_port/" b2 || sd_fail "api not served"

# A good change after the refusals applies.
sd_zkctl set /nerve/web "$(settings "$web_published" '"http-response set-header X-Published two"')" >/dev/null
sd_wait_for "the second published header" 20 published_header "$web_published" two

# SIGHUP with the file unchanged: the services are kept, with their published settings.
sd_kill watcher HUP
sd_wait_for "SIGHUP applied" 20 sd_log_has watcher "SIGHUP: reload applied: 2 services kept"
sd_wait_for "settings still in effect after SIGHUP" 20 published_header "$web_published" two
published_header "$api_port" api || sd_fail "api's settings lost over SIGHUP"
sd_all_answer "http://127.0.0.1:$web_published/" b1 || sd_fail "web lost after SIGHUP"
sd_alive watcher || sd_fail "watcher died"
sd_log "ok"
