#!/usr/bin/env bash
# etcd with authentication on: a registrator and a watcher given the
# credentials work (also after etcd restarts and forgets their tokens);
# without them, or with a wrong password, each says why in its log and keeps
# retrying, so they recover by themselves once etcd lets them in.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world etcd
sd_etcd_enable_auth rootpw
export SD_ETCD_USER=root SD_ETCD_PASSWORD=rootpw
sd_dockerd_start d1
sd_image d1

prefix=/smartdock/services/web/
app=$(sd_free_port)
app2=$(sd_free_port)
lb=$(sd_free_port)
run() { # run NAME PORT
	sd_docker d1 run -d --network host --name "$1" -l smartdock.service=web -l smartdock.port="$2" \
		smartdock/hello /bin/hello 127.0.0.2 "$2" "$1" >/dev/null
}
# servers FILE: the server names in a rendered haproxy.cfg, sorted
servers() {
	grep -oE "^\s*server [^ ]+" "$1" 2>/dev/null | awk '{print $2}' | sort
}
# count_at_least FILE PATTERN N: FILE has N lines matching PATTERN (grep -E)
count_at_least() {
	[ "$(grep -cE "$2" "$1")" -ge "$3" ]
}
servers_count_is() { # servers_count_is FILE N
	[ "$(servers "$1" | wc -l)" = "$2" ]
}
servers_are() { # servers_are FILE NAME...
	[ "$(servers "$1")" = "$(shift; printf '%s\n' "$@" | sort)" ]
}
watcher_config() { # watcher_config FILE HAPROXY_CFG [EXTRA_DISCOVERY_JSON]
	sd_watcher_config "$1" "$(sd_etcd_service "$lb" "$prefix" "${3:-}")" '"do_reloads": false'
	sed -i "s#\"$SD_TMP/haproxy.cfg\"#\"$2\"#" "$1"
}
creds='"username": "root", "password": "rootpw"'

run c1 "$app"
c1=127.0.0.2_${app}_$(sd_container_id d1 c1 | cut -c1-12)_127.0.0.2:${app}

# With credentials.
sd_etcd_registrator_config "$SD_TMP/ra.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}' 10 "$creds"
"$SD_BIN/smartdock-registrator" --check -c "$SD_TMP/ra.json"
sd_registrator ra "$SD_TMP/ra.json"
sd_wait_for "registered with credentials" 30 sd_etcd_count_is "$prefix" 1
sd_log_has ra 'authenticated as "root"' || sd_fail "ra did not authenticate"
watcher_config "$SD_TMP/wa.json" "$SD_TMP/wa.cfg" "$creds"
sd_bg wa "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/wa.json"
sd_wait_for "watcher with credentials renders c1" 30 servers_are "$SD_TMP/wa.cfg" "$c1"

# Without credentials: a clear message, and retries.
sd_etcd_registrator_config "$SD_TMP/rb.json" 127.0.0.3 "$DOCKER_HOST_d1" '{}' 10
sd_registrator rb "$SD_TMP/rb.json"
watcher_config "$SD_TMP/wb.json" "$SD_TMP/wb.cfg"
sd_bg wb "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/wb.json"
# ...and with a wrong password.
sd_etcd_registrator_config "$SD_TMP/rc.json" 127.0.0.4 "$DOCKER_HOST_d1" '{}' 10 \
	'"username": "root", "password": "wrong"'
sd_registrator rc "$SD_TMP/rc.json"
sd_wait_for "rb explains" 30 sd_log_has rb "error .*user name is empty \(etcd requires authentication: configure a username and password\)"
sd_wait_for "wb explains" 30 sd_log_has wb "warn .*reading etcd $prefix: .*user name is empty \(etcd requires authentication"
sd_wait_for "rc explains" 30 sd_log_has rc "error .*authenticating as \"root\": etcd http://127.0.0.1:[0-9]+: etcdserver: authentication failed, invalid user ID or password"
sd_etcd_count_is "$prefix" 1 || sd_fail "a registrator without credentials wrote: $(sd_etcd_keys "$prefix")"
if servers "$SD_TMP/wb.cfg" | grep -q .; then sd_fail "wb rendered servers without credentials"; fi
sd_wait_for "rb keeps retrying" 30 count_at_least "$SD_TMP/rb.log" "debug .*user name is empty" 2
sd_wait_for "wb keeps retrying" 30 count_at_least "$SD_TMP/wb.log" "debug .*user name is empty" 2

# etcd restarts and forgets every token: the credentialed pair
# authenticates again by itself.
sd_etcd_restart
run c2 "$app2"
c2=127.0.0.2_${app2}_$(sd_container_id d1 c2 | cut -c1-12)_127.0.0.2:${app2}
sd_wait_for "c2 registered after the restart" 30 sd_etcd_count_is "$prefix" 2
sd_wait_for "watcher with credentials renders c1 and c2" 30 servers_are "$SD_TMP/wa.cfg" "$c1" "$c2"
count_at_least "$SD_TMP/ra.log" 'authenticated as "root"' 2 || sd_fail "ra did not authenticate again"
# (etcd 3.4 accepted the watcher's resumed watch with its old token, so
# whether it authenticates again is up to etcd; it must only keep working.)

# Authentication turned off: those without credentials get in on their own.
sd_etcd_api /v3/auth/disable '{}' >/dev/null
unset SD_ETCD_USER SD_ETCD_PASSWORD
sd_wait_for "rb and rc registered once etcd let them" 60 sd_etcd_count_is "$prefix" 6
sd_wait_for "wb renders all six" 60 servers_count_is "$SD_TMP/wb.cfg" 6
sd_wait_for "wa renders all six" 30 servers_count_is "$SD_TMP/wa.cfg" 6
sd_log "ok"
