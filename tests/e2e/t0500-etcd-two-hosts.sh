#!/usr/bin/env bash
# Two simulated hosts (two dockerd, two registrators advertising 127.0.0.2
# and 127.0.0.3) feed one watcher and one HAProxy through etcd. r2 and the
# watcher list a dead endpoint first and fail over to the live one.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world etcd d1 d2

prefix=/smartdock/services/web/
app=$(sd_free_port)
app2=$(sd_free_port)
lb=$(sd_free_port)
run() { # run DOCKERD NAME ADDRESS [PORT]
	local port=${4:-$app}
	sd_run_web "$1" "$2" "$3" "$port"
}
sd_etcd_registrator_config "$SD_TMP/r1.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}'
sd_etcd_registrator_config "$SD_TMP/r2.json" 127.0.0.3 "$DOCKER_HOST_d2" '{}'
dead=http://127.0.0.1:$(sd_free_port) # reserved, nothing listens there
with_dead_first() { sed "s#\"endpoints\": \[\"#\"endpoints\": [\"$dead\", \"#"; }
with_dead_first <"$SD_TMP/r2.json" >"$SD_TMP/r2.tmp" && mv "$SD_TMP/r2.tmp" "$SD_TMP/r2.json"
grep -q "$dead" "$SD_TMP/r2.json" || sd_fail "no dead endpoint in r2.json"
"$SD_BIN/smartdock-registrator" --check -c "$SD_TMP/r1.json"
sd_registrator r1 "$SD_TMP/r1.json"
sd_registrator r2 "$SD_TMP/r2.json"
run d1 c1 127.0.0.2
run d2 c2 127.0.0.3
sd_wait_for "both registered" 30 sd_etcd_count_is "$prefix" 2

# The key and value layout: <prefix><service>/<instance>, Nerve JSON.
c1_id=$(sd_container_id d1 c1)
key=$(sd_etcd_keys "$prefix" | grep 127.0.0.2) || sd_fail "no key for c1 in $(sd_etcd_keys "$prefix")"
[ "$key" = "${prefix}127.0.0.2_${app}_${c1_id:0:12}" ] || sd_fail "c1's key is $key"
data=$(sd_etcd_get "$key")
echo "$data" | grep -q "\"host\":\"127.0.0.2\"" || sd_fail "c1 value $data"
echo "$data" | grep -q "\"port\":$app" || sd_fail "c1 value $data"
echo "$data" | grep -q "\"container_id\":\"$c1_id\"" || sd_fail "c1 value $data"
[ "$(sd_etcd_leases | wc -l)" = 2 ] || sd_fail "expected one lease per registrator: $(sd_etcd_leases)"

# The first haproxy.cfg comes from --once; HAProxy starts on it; then the
# watcher follows, reloading HAProxy through its master CLI.
sd_watcher_config "$SD_TMP/once.json" "$(sd_etcd_service "$lb" "$prefix")" '"do_reloads": false'
"$SD_BIN/smartdock-watcher" --check -c "$SD_TMP/once.json"
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
grep -q "server 127.0.0.2_${app}_" "$SD_TMP/haproxy.cfg" || sd_fail "no c1 in $(cat "$SD_TMP/haproxy.cfg")"
sd_haproxy_start "$SD_TMP/haproxy.cfg"
sd_watcher_config "$SD_TMP/watcher.json" "$(sd_etcd_service "$lb" "$prefix" | with_dead_first)" \
	"\"reload_command\": \"$(sd_haproxy_reload_cmd)\""
grep -q "$dead" "$SD_TMP/watcher.json" || sd_fail "no dead endpoint in watcher.json"
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"

url=http://127.0.0.1:$lb/
sd_wait_for "both hosts answer through haproxy" 30 sd_all_answer "$url" c1 c2
sd_log_has r2 "etcd $dead: .*; switching to $SD_ETCD_ENDPOINT" || sd_fail "r2 did not fail over"
sd_log_has watcher "etcd $dead: .*; switching to $SD_ETCD_ENDPOINT" || sd_fail "watcher did not fail over"

sd_docker d1 stop c1 >/dev/null
sd_wait_for "only c2 answers" 30 sd_all_answer "$url" c2

run d1 c3 127.0.0.2
sd_docker d1 rm c1 >/dev/null
run d2 c4 127.0.0.3 "$app2"
sd_wait_for "c3 and c4 registered" 30 sd_etcd_count_is "$prefix" 3
sd_wait_for "all three answer" 30 sd_all_answer "$url" c2 c3 c4

# etcd goes away: HAProxy keeps serving what it had.
sd_etcd_stop
sd_wait_for "watcher noticed" 30 sd_log_has watcher "etcd watch of $prefix ended"
sd_all_answer "$url" c2 c3 c4 || sd_fail "haproxy lost backends while etcd was down: $(cat "$SD_TMP/answers.last")"
# A change meanwhile: c4 stops (its registrator cannot tell etcd yet).
sd_docker d2 stop c4 >/dev/null
sd_etcd_start
sd_wait_for "c4 gone after etcd is back" 60 sd_all_answer "$url" c2 c3
sd_wait_for "c4's key gone" 30 sd_etcd_count_is "$prefix" 2

# Somebody else's garbage beside good keys: skipped, neighbours served.
sd_etcd_put "${prefix}garbage" 'not json {'
sd_etcd_put "${prefix}hostile" '{"host":"127.0.0.9\nbind :1","port":80}'
sd_wait_for "garbage skipped" 30 sd_log_has watcher "skipping key ${prefix}garbage"
sd_wait_for "hostile skipped" 30 sd_log_has watcher "skipping key ${prefix}hostile"
sd_all_answer "$url" c2 c3 || sd_fail "good backends not served beside garbage: $(cat "$SD_TMP/answers.last")"
haproxy -c -q -f "$SD_TMP/haproxy.cfg" || sd_fail "haproxy.cfg invalid"
if grep -q "127.0.0.9" "$SD_TMP/haproxy.cfg"; then sd_fail "hostile key reached haproxy.cfg"; fi

# A duplicate of c2 under another key: still one server.
c2_key=$(sd_etcd_keys "$prefix" | grep 127.0.0.3)
sd_etcd_put "${prefix}copy-of-c2" "$(sd_etcd_get "$c2_key")"
rev=$(sd_etcd_revision)
sd_wait_for "duplicate seen" 30 sd_log_has watcher "backends under ${prefix} at revision $rev\$"
sd_all_answer "$url" c2 c3 || sd_fail "duplicate broke serving: $(cat "$SD_TMP/answers.last")"
[ "$(grep -c "server 127.0.0.3_${app}_" "$SD_TMP/haproxy.cfg")" = 1 ] || sd_fail "duplicate rendered twice"

# SIGTERM revokes the lease: r1's keys vanish at once, r2's stay.
sd_kill r1 TERM
sd_log_has r1 "revoked etcd lease" || sd_fail "r1 did not revoke its lease"
if sd_etcd_keys "$prefix" | grep -q 127.0.0.2; then sd_fail "r1's key left after SIGTERM"; fi
sd_etcd_keys "$prefix" | grep -q 127.0.0.3 || sd_fail "r2's key gone with r1's lease"
sd_wait_for "only c2 answers after r1 quit" 30 sd_all_answer "$url" c2
sd_log "ok"
