#!/usr/bin/env bash
# ZooKeeper ACLs and self-healing registrations: with registry.auth_file the
# registrator's znodes (and the parents it makes) are digest:<user> ALL +
# world READ, so anonymous clients can read but not delete, overwrite or add;
# a registration deleted or overwritten by another client is restored from
# the node watch, not at the next resync; the password is never logged.
# Then, without an auth file, restores after an anonymous delete and set.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1

secret=e2e-S3cret-pw
printf 'host1:%s\n' "$secret" >"$SD_TMP/zk.auth"
chmod 600 "$SD_TMP/zk.auth"
digest=$(printf '%s' "host1:$secret" | openssl dgst -binary -sha1 | base64)

# reg_config FILE ROOT [AUTH_FILE]
reg_config() {
	cat >"$1" <<JSON
{
  "docker": {"host": "$DOCKER_HOST_d1"},
  "advertise_host": "127.0.0.2",
  "resync_interval_s": 3600,
  "registry": {"type": "zookeeper", "hosts": ["$SD_ZK_ADDR"], "path": "$2",
               "session_timeout_ms": 4000 ${3:+, \"auth_file\": \"$3\"}},
  "services": {}
}
JSON
}

web_port=$(sd_free_port)
sd_run_web d1 web1 127.0.0.2 "$web_port"

# ------------------------------------------------------------ with ACLs
reg_config "$SD_TMP/reg.json" /acl/services "$SD_TMP/zk.auth"
sd_registrator reg "$SD_TMP/reg.json"
sd_wait_for "web registered" 30 sd_zk_count_is /acl/services/web 1
node=/acl/services/web/$(sd_zkctl ls /acl/services/web)

want_acl="digest:host1:$digest 31
world:anyone 1"
# (Read with the credentials: ZooKeeper hides digest ids from clients
# without ADMIN permission.)
for p in "$node" /acl/services/web /acl/services /acl; do
	acl=$(ZKCTL_AUTH="host1:$secret" sd_zkctl acl "$p")
	[ "$acl" = "$want_acl" ] || sd_fail "ACL of $p: $acl"
done
data=$(sd_zkctl get "$node")

# Anonymous clients read, and cannot delete, overwrite or add.
sd_zkctl delete "$node" 2>"$SD_TMP/anon.err" && sd_fail "anonymous delete succeeded"
grep -q "not authenticated" "$SD_TMP/anon.err" || sd_fail "anonymous delete: $(cat "$SD_TMP/anon.err")"
sd_zkctl set "$node" '{"host":"127.0.0.99","port":1}' 2>/dev/null && sd_fail "anonymous set succeeded"
sd_zkctl create /acl/services/web/intruder '{"host":"127.0.0.99","port":1}' 2>/dev/null &&
	sd_fail "anonymous create under the service succeeded"
sd_zkctl create /acl/services/other '' 2>/dev/null && sd_fail "anonymous create of a service succeeded"
[ "$(sd_zkctl get "$node")" = "$data" ] || sd_fail "data changed"
sd_zk_count_is /acl/services/web 1 || sd_fail "children changed"

# Another client with the credentials deletes the node: it comes back (a new
# sequence number), once, from the watch.
ZKCTL_AUTH="host1:$secret" sd_zkctl delete "$node"
sd_wait_for "restored after delete" 20 sd_log_has reg "was deleted by another client"
sd_wait_for "web registered again" 20 sd_zk_count_is /acl/services/web 1
node2=/acl/services/web/$(sd_zkctl ls /acl/services/web)
[ "$node2" != "$node" ] || sd_fail "the same node after a delete?"
[ "$(ZKCTL_AUTH="host1:$secret" sd_zkctl acl "$node2")" = "$want_acl" ] || sd_fail "restored node's ACL"
sd_wait_for "registrator settled" 20 sd_log_has reg "registered web .* znode=$node2"
sd_zk_count_is /acl/services/web 1 || sd_fail "duplicate after the restore: $(sd_zkctl ls /acl/services/web)"

# ... and overwrites it: the payload comes back.
ZKCTL_AUTH="host1:$secret" sd_zkctl set "$node2" '{"host":"127.0.0.99","port":1}'
sd_wait_for "restored after overwrite" 20 sd_log_has reg "was overwritten by another client"
restored() { [ "$(sd_zkctl get "$node2")" = "$data" ]; }
sd_wait_for "payload restored" 20 restored
sd_zk_count_is /acl/services/web 1 || sd_fail "duplicate after the overwrite"

# The password is in no log line; the group/other readable file is warned about.
grep -q -- "$secret" "$SD_TMP/reg.log" && sd_fail "the password is in the registrator's log"
sd_log_has reg "authenticating as user host1" || sd_fail "no line naming the user"
sd_kill reg TERM
sd_zk_count_is /acl/services/web 0 || sd_fail "node left after SIGTERM"

chmod 644 "$SD_TMP/zk.auth"
sd_registrator reg2 "$SD_TMP/reg.json"
sd_wait_for "warning about the file mode" 20 sd_log_has reg2 "readable by group or others"
sd_wait_for "web registered by reg2" 30 sd_zk_count_is /acl/services/web 1
sd_kill reg2 TERM

# An unreadable auth file stops the registrator at start, without a fallback.
reg_config "$SD_TMP/bad.json" /acl/services "$SD_TMP/missing.auth"
if "$SD_BIN/smartdock-registrator" -c "$SD_TMP/bad.json" >"$SD_TMP/bad.log" 2>&1; then
	sd_fail "started without its auth file"
fi
grep -q "registry.auth_file: .*missing.auth" "$SD_TMP/bad.log" || sd_fail "$(cat "$SD_TMP/bad.log")"

# ------------------------------------------------------------ without ACLs
# Open nodes: an anonymous delete and an anonymous overwrite are repaired too.
reg_config "$SD_TMP/open.json" /open/services
sd_registrator open "$SD_TMP/open.json"
sd_wait_for "web registered (open)" 30 sd_zk_count_is /open/services/web 1
node=/open/services/web/$(sd_zkctl ls /open/services/web)
data=$(sd_zkctl get "$node")
[ "$(sd_zkctl acl "$node")" = "world:anyone 31" ] || sd_fail "open node's ACL: $(sd_zkctl acl "$node")"
sd_zkctl delete "$node"
sd_wait_for "restored after anonymous delete" 20 sd_log_has open "was deleted by another client"
sd_wait_for "web registered again (open)" 20 sd_zk_count_is /open/services/web 1
node=/open/services/web/$(sd_zkctl ls /open/services/web)
sd_wait_for "open registrator settled" 20 sd_log_has open "registered web .* znode=$node"
sd_zkctl set "$node" '{"host":"127.0.0.99","port":1}'
sd_wait_for "restored after anonymous overwrite" 20 sd_log_has open "was overwritten by another client"
restored_open() { [ "$(sd_zkctl get "$node")" = "$data" ]; }
sd_wait_for "payload restored (open)" 20 restored_open
sd_zk_count_is /open/services/web 1 || sd_fail "duplicate (open)"
sd_kill open TERM
sd_log "ok"
