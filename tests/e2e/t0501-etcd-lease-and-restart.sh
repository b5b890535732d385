#!/usr/bin/env bash
# etcd's failure modes, registrator and watcher together (TTL 3 s):
# a registrator killed with -9 leaves nothing behind once its lease
# expires; a lease lost under a live registrator is replaced and every key
# put again; etcd restarting loses neither registrations nor watches; and a
# compaction while the watcher is disconnected makes it read everything
# again instead of missing what changed.
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
# in_cfg NAME...: haproxy.cfg has a server line for exactly these containers
in_cfg() {
	local want=() n got
	for n in "$@"; do want+=("$(sd_container_id "${n%%@*}" "${n#*@}" | cut -c1-12)"); done
	got=$(grep -oE "^\s*server [^ ]+" "$SD_TMP/haproxy.cfg" | awk '{print $2}' | sed -E 's/_[^_]*$//; s/.*_//' | sort)
	[ "$got" = "$(printf '%s\n' "${want[@]}" | sort)" ]
}
key_of() { # key_of DOCKERD NAME
	sd_etcd_keys "$prefix" | grep "_$(sd_container_id "$1" "$2" | cut -c1-12)\$"
}

sd_etcd_registrator_config "$SD_TMP/r1.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}' 3
sd_etcd_registrator_config "$SD_TMP/r2.json" 127.0.0.3 "$DOCKER_HOST_d2" '{}' 3
sd_registrator r1 "$SD_TMP/r1.json"
sd_registrator r2 "$SD_TMP/r2.json"
run d1 c1 127.0.0.2
run d2 c2 127.0.0.3
sd_wait_for "both registered" 30 sd_etcd_count_is "$prefix" 2
sd_watcher_config "$SD_TMP/watcher.json" "$(sd_etcd_service "$lb" "$prefix")" '"do_reloads": false'
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
sd_wait_for "watcher renders both" 30 in_cfg d1@c1 d2@c2

# kill -9: nobody revokes the lease, so r1's key goes when it expires.
sd_kill r1 KILL
t0=$(date +%s%N)
sd_wait_for "r1's key expired with its lease" 10 sd_etcd_count_is "$prefix" 1
ms=$((($(date +%s%N) - t0) / 1000000))
# How soon is etcd's lease expiry plus our polling: reported, not asserted
# (a loaded machine stretches both); the wait above is the assertion.
sd_log "r1's key gone ${ms} ms after kill -9 (ttl 3 s)"
key_of d2 c2 >/dev/null || sd_fail "r2's key went too"
sd_wait_for "watcher dropped c1" 10 in_cfg d2@c2

# Restarted, r1 registers c1 again, on a new lease.
sd_registrator r1 "$SD_TMP/r1.json"
sd_wait_for "c1 registered again" 30 key_of d1 c1
sd_wait_for "watcher has c1 again" 10 in_cfg d1@c1 d2@c2

# The lease revoked under a live registrator (as when etcd is restored from
# a snapshot): r1 notices, takes a new lease and puts c1 back.
lease=$(sd_etcd_api /v3/kv/range "{\"key\":\"$(sd_etcd_b64 "$(key_of d1 c1)")\"}" |
	sed -n 's/.*"lease":"\([0-9]*\)".*/\1/p')
[ -n "$lease" ] || sd_fail "c1's key has no lease"
sd_etcd_api /v3/lease/revoke "{\"ID\":\"$lease\"}" >/dev/null
sd_wait_for "r1 noticed the lost lease" 10 sd_log_has r1 "etcd lease [0-9a-f]+ lost"
sd_wait_for "c1 put again" 10 key_of d1 c1
new=$(sd_etcd_api /v3/kv/range "{\"key\":\"$(sd_etcd_b64 "$(key_of d1 c1)")\"}" |
	sed -n 's/.*"lease":"\([0-9]*\)".*/\1/p')
[ -n "$new" ] && [ "$new" != "$lease" ] || sd_fail "c1 not on a new lease ($lease -> $new)"
sd_wait_for "watcher has c1 after the new lease" 10 in_cfg d1@c1 d2@c2

# etcd restarts: registrations and the watch carry on.
sd_etcd_restart
sd_wait_for "c1 and c2 still registered" 15 sd_etcd_count_is "$prefix" 2
sd_wait_for "watcher resumed its watch" 30 sd_log_has watcher "watch of $prefix ended"
run d1 c3 127.0.0.2 "$app2"
sd_wait_for "c3 registered after the restart" 30 key_of d1 c3
sd_wait_for "watcher saw c3 after the restart" 30 in_cfg d1@c1 d1@c3 d2@c2

# Compaction while the watcher is away: stop it, restart etcd under it (its
# stream is gone, unnoticed), change things and compact the history it
# would resume from. Once it runs again it must read everything again.
sd_kill watcher STOP
sd_etcd_restart
sd_docker d2 stop c2 >/dev/null
run d2 c4 127.0.0.3 "$app2"
sd_wait_for "c2 gone and c4 registered" 30 sd_etcd_count_is "$prefix" 3
key_of d2 c4 >/dev/null || sd_fail "c4 not registered: $(sd_etcd_keys "$prefix")"
sd_etcd_put "${prefix}transient" '{"host":"127.0.0.9","port":1}'
sd_etcd_del "${prefix}transient"
rev=$(sd_etcd_compact)
sd_log "compacted etcd up to revision $rev"
sd_kill watcher CONT
sd_wait_for "watcher saw the compaction" 30 sd_log_has watcher "etcd compacted revision [0-9]+ \(up to $rev\)"
sd_wait_for "watcher resynchronised in full" 30 in_cfg d1@c1 d1@c3 d2@c4
sd_log_has watcher "read 3 keys under $prefix" || sd_fail "no full read after the compaction"
sd_log "ok"
