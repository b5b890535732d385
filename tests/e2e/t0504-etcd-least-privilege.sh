#!/usr/bin/env bash
# etcd least privilege: a user per host whose role may read and write the
# registry prefix and nothing else. Its registrator registers; the same
# credentials cannot write another prefix (etcd refuses, the registrator says
# so and keeps retrying); a read-only user serves the watcher. The password
# appears in no log line; sending it over http:// is warned about once.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world etcd d1

prefix=/smartdock/services/
b64() { sd_etcd_b64 "$1"; }
# role NAME PERM KEY RANGE_END: a role with one permission on [KEY, RANGE_END)
role() {
	sd_etcd_api /v3/auth/role/add "{\"name\":\"$1\"}" >/dev/null
	sd_etcd_api /v3/auth/role/grant "{\"name\":\"$1\",\"perm\":{\"permType\":\"$2\",\"key\":\"$(b64 "$3")\",\"range_end\":\"$(b64 "$4")\"}}" >/dev/null
}
user() { # user NAME PASSWORD ROLE
	sd_etcd_api /v3/auth/user/add "{\"name\":\"$1\",\"password\":\"$2\"}" >/dev/null
	sd_etcd_api /v3/auth/user/grant "{\"user\":\"$1\",\"role\":\"$3\"}" >/dev/null
}
# The README's recipe: read-write on the prefix ("/smartdock/services/" up
# to, not including, "/smartdock/services0") for each host, read for watchers.
role smartdock-host READWRITE "$prefix" /smartdock/services0
role smartdock-reader READ "$prefix" /smartdock/services0
pw1=host1-Pw-e2e
user host1 "$pw1" smartdock-host
user watcher watcher-Pw-e2e smartdock-reader
sd_etcd_enable_auth rootpw

# host1's credentials: its prefix yes, anything else no.
SD_ETCD_USER=host1 SD_ETCD_PASSWORD=$pw1 sd_etcd_put "${prefix}probe/x" '{}' ||
	sd_fail "host1 cannot write its prefix"
SD_ETCD_USER=host1 SD_ETCD_PASSWORD=$pw1 sd_etcd_api /v3/kv/deleterange \
	"{\"key\":\"$(b64 "${prefix}probe/x")\"}" >/dev/null || sd_fail "host1 cannot delete in its prefix"
if SD_ETCD_USER=host1 SD_ETCD_PASSWORD=$pw1 sd_etcd_put /other/x '{}' 2>/dev/null; then
	sd_fail "host1 wrote outside its prefix"
fi
if SD_ETCD_USER=watcher SD_ETCD_PASSWORD=watcher-Pw-e2e sd_etcd_put "${prefix}web/x" '{}' 2>/dev/null; then
	sd_fail "the read-only user wrote"
fi

app=$(sd_free_port)
lb=$(sd_free_port)
sd_run_web d1 c1 127.0.0.2 "$app"
c1=127.0.0.2_${app}_$(sd_container_id d1 c1 | cut -c1-12)_127.0.0.2:${app}

sd_etcd_registrator_config "$SD_TMP/r1.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}' 10 \
	"\"username\": \"host1\", \"password\": \"$pw1\""
sd_registrator r1 "$SD_TMP/r1.json"
export SD_ETCD_USER=root SD_ETCD_PASSWORD=rootpw
sd_wait_for "host1 registered c1" 30 sd_etcd_count_is "${prefix}web/" 1
sd_log_has r1 'authenticated as "host1"' || sd_fail "r1 did not authenticate"

# The same user pointed at another prefix: refused, said, retried; nothing written.
sd_etcd_registrator_config "$SD_TMP/r2.json" 127.0.0.3 "$DOCKER_HOST_d1" '{}' 10 \
	"\"username\": \"host1\", \"password\": \"$pw1\""
sed -i 's#"prefix": "/smartdock/services/"#"prefix": "/elsewhere/"#' "$SD_TMP/r2.json"
sd_registrator r2 "$SD_TMP/r2.json"
sd_wait_for "r2 says permission denied" 30 sd_log_has r2 "permission denied"
[ "$(sd_etcd_count /elsewhere/)" = 0 ] || sd_fail "host1 wrote under /elsewhere/"

# A watcher with the read-only user renders c1.
servers_are_c1() { grep -qE "^\s*server $c1 " "$SD_TMP/w.cfg" 2>/dev/null; }
sd_watcher_config "$SD_TMP/w.json" \
	"$(sd_etcd_service "$lb" "${prefix}web/" '"username": "watcher", "password": "watcher-Pw-e2e"')" \
	'"do_reloads": false'
sed -i "s#\"$SD_TMP/haproxy.cfg\"#\"$SD_TMP/w.cfg\"#" "$SD_TMP/w.json"
sd_bg w "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/w.json"
sd_wait_for "watcher renders c1" 30 servers_are_c1

# Passwords in no log; the plain-http warning once per process.
for name in r1 r2 w; do
	if grep -qE -- "$pw1|watcher-Pw-e2e" "$SD_TMP/$name.log"; then sd_fail "a password is in $name's log"; fi
	n=$(grep -c "is sent over plain http://" "$SD_TMP/$name.log")
	[ "$n" = 1 ] || sd_fail "$name warned $n times about http://"
done
sd_log "ok"
