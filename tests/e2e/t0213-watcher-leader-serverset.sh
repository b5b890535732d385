#!/usr/bin/env bash
# leader_election: of three registrations only the lowest sequence id is
# served; when it goes, the next one. decode serverset: Finagle ServerSet
# members are served from their additionalEndpoints entry, only while
# ALIVE; a hostile member is refused and never reaches haproxy.cfg.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk

app=$(sd_free_port)
http=$(sd_free_port)
leader_port=$(sd_free_port)
ss_port=$(sd_free_port)
hello=$(sd_hello_bin)
for i in 1 2 3; do
	sd_bg "b$i" "$hello" "127.0.0.$((i + 1))" "$app" "b$i"
	sd_bg "h$i" "$hello" "127.0.0.$((i + 1))" "$http" "h$i"
done

# b2 registers first, then b1, then b3: the leader is b2 (lowest sequence).
sd_zkctl mkdirs /nerve/leader
for i in 2 1 3; do
	sd_zkctl create /nerve/leader/b${i}_ "{\"host\":\"127.0.0.$((i + 1))\",\"port\":$app,\"name\":\"b$i\"}" sequential >/dev/null
done

# ServerSet members: h1 ALIVE, h2 STOPPING, h3 ALIVE but with a hostile host.
member() { # HOST STATUS SHARD
	echo "{\"serviceEndpoint\":{\"host\":\"$1\",\"port\":$app},\"additionalEndpoints\":{\"http\":{\"host\":\"$1\",\"port\":$http}},\"status\":\"$2\",\"shard\":$3}"
}
sd_zkctl mkdirs /aurora/web
sd_zkctl create /aurora/web/member_ "$(member 127.0.0.2 ALIVE 0)" sequential >/dev/null
sd_zkctl create /aurora/web/member_ "$(member 127.0.0.3 STOPPING 1)" sequential >/dev/null
sd_zkctl create /aurora/web/member_ "$(member '127.0.0.4\nbackend evil' ALIVE 2)" sequential >/dev/null

listen="\"listen\": [\"mode http\", \"option httpchk /\", \"http-check expect string Hello\"]"
services="{
 \"leader\": {\"discovery\": {\"method\": \"zookeeper\", \"hosts\": [\"$SD_ZK_ADDR\"], \"path\": \"/nerve/leader\"},
            \"leader_election\": true,
            \"haproxy\": {\"port\": $leader_port, \"bind_address\": \"127.0.0.1\", $listen}},
 \"ss\": {\"discovery\": {\"method\": \"zookeeper\", \"hosts\": [\"$SD_ZK_ADDR\"], \"path\": \"/aurora/web\",
                        \"decode\": {\"method\": \"serverset\", \"endpoint_name\": \"http\"}},
        \"haproxy\": {\"port\": $ss_port, \"bind_address\": \"127.0.0.1\", $listen}}}"
sd_watcher_config "$SD_TMP/watcher.json" "$services" "\"managed\": true"
"$SD_BIN/smartdock-watcher" --check -c "$SD_TMP/watcher.json" 2>"$SD_TMP/check.log" ||
	sd_fail "--check: $(cat "$SD_TMP/check.log")"
if grep -E "not supported|unknown key" "$SD_TMP/check.log"; then sd_fail "warnings: $(cat "$SD_TMP/check.log")"; fi
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"

lead=http://127.0.0.1:$leader_port/
ss=http://127.0.0.1:$ss_port/
sd_wait_for "only the leader b2 is served" 30 sd_all_answer "$lead" b2
sd_wait_for "only the ALIVE member h1 is served" 30 sd_all_answer "$ss" h1
sd_log_has watcher "not serving znode /aurora/web/member_[0-9]+: status: expected \"ALIVE\" to be served, got \"STOPPING\"" ||
	sd_fail "the STOPPING member was not logged"
sd_log_has watcher "skipping znode /aurora/web/member_[0-9]+: additionalEndpoints.http.host: expected a hostname or IP address" ||
	sd_fail "the hostile member was not refused"
if grep -q evil "$SD_TMP/haproxy.cfg"; then sd_fail "hostile member in haproxy.cfg"; fi

# The leader goes: the next lowest sequence (b1) is served.
sd_zkctl delete "/nerve/leader/$(sd_zkctl ls /nerve/leader | grep '^b2_')"
sd_wait_for "b1 leads now" 30 sd_all_answer "$lead" b1

# h2 becomes ALIVE: served beside h1.
h2=$(sd_zkctl ls /aurora/web | sort | sed -n 2p)
sd_zkctl set "/aurora/web/$h2" "$(member 127.0.0.3 ALIVE 1)" >/dev/null
sd_wait_for "h2 served once ALIVE" 30 sd_all_answer "$ss" h1 h2
sd_alive watcher || sd_fail "watcher died"
sd_log "ok"
