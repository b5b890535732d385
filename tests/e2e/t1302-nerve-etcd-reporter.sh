#!/usr/bin/env bash
# Nerve's etcd reporter: reporter_type etcd with etcd_host/etcd_port/
# etcd_path, from the main file and from service_conf_dir, registered in a
# real etcd as <etcd_path>/<instance_id>/<service> with Nerve's payload on a
# lease, withdrawn by the checks and by the lease when the registrator dies;
# the watcher's etcd discovery serves them through HAProxy.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_need_root
sd_setup
sd_etcd_start
hello=$(sd_hello_bin)
etcd_port=${SD_ETCD_ENDPOINT##*:}

p1=$(sd_free_port)
p2=$(sd_free_port)
lb=$(sd_free_port)
sd_bg web1 "$hello" 127.0.0.31 "$p1" web1 --log
sd_bg web2 "$hello" 127.0.0.32 "$p2" web2 --log
sd_wait_for "backends listening" 20 sd_port_open 127.0.0.31 "$p1"
sd_wait_for "backends listening" 20 sd_port_open 127.0.0.32 "$p2"

# Nerve's example etcd service (example/nerve_services/etcd_service1.json),
# addresses and timings changed; a second one in the main file.
mkdir -p "$SD_TMP/nerve_services"
cat >"$SD_TMP/nerve.conf.json" <<JSON
{
  "instance_id": "etcdbox",
  "service_conf_dir": "$SD_TMP/nerve_services",
  "services": {
    "web_main": {
      "host": "127.0.0.31",
      "port": $p1,
      "reporter_type": "etcd",
      "etcd_host": "127.0.0.1",
      "etcd_port": $etcd_port,
      "etcd_path": "/nerve/services/web",
      "check_interval": 0.2,
      "weight": 3,
      "checks": [{"type": "http", "uri": "/health", "timeout": 0.5, "rise": 2, "fall": 1}]
    }
  }
}
JSON
cat >"$SD_TMP/nerve_services/etcd_service1.json" <<JSON
{
  "host": "127.0.0.32",
  "port": $p2,
  "reporter_type": "etcd",
  "etcd_host": "127.0.0.1",
  "etcd_port": $etcd_port,
  "etcd_path": "/nerve/services/web/",
  "check_interval": 0.2,
  "checks": [{"type": "http", "uri": "/health", "timeout": 0.5, "rise": 2, "fall": 1}]
}
JSON
"$SD_BIN/smartdock-registrator" --check -c "$SD_TMP/nerve.conf.json" >/dev/null
sd_registrator reg "$SD_TMP/nerve.conf.json"

prefix=/nerve/services/web/
k1=${prefix}etcdbox/web_main
k2=${prefix}etcdbox/etcd_service1
sd_wait_for "both services registered in etcd" 30 sd_etcd_count_is "$prefix" 2
[ "$(sd_etcd_keys "$prefix" | tr '\n' ' ')" = "$k2 $k1 " ] || sd_fail "keys: $(sd_etcd_keys "$prefix")"
v1=$(sd_etcd_get "$k1")
[ "$v1" = "{\"host\":\"127.0.0.31\",\"port\":$p1,\"name\":\"etcdbox\",\"weight\":3}" ] ||
	sd_fail "web_main's value is not Nerve's: $v1"
v2=$(sd_etcd_get "$k2")
[ "$v2" = "{\"host\":\"127.0.0.32\",\"port\":$p2,\"name\":\"etcdbox\"}" ] ||
	sd_fail "etcd_service1's value is not Nerve's: $v2"
[ "$(sd_etcd_leases | wc -l)" -ge 1 ] || sd_fail "no lease holds the keys"

# The watcher's etcd discovery serves both through HAProxy.
services=$(
	cat <<JSON
{
    "web": {
      "discovery": {"method": "etcd", "endpoints": ["$SD_ETCD_ENDPOINT"], "path": "$prefix"},
      "haproxy": {"port": $lb, "bind_address": "127.0.0.1", "listen": ["mode http"]},
      "use_previous_backends": false
    }
}
JSON
)
sd_watcher_config "$SD_TMP/watcher.json" "$services" '"managed": true, "use_nerve_weights": true'
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
url=http://127.0.0.1:$lb/
sd_wait_for "both served through haproxy" 60 sd_all_answer "$url" web1 web2
grep -qE "server .*127\.0\.0\.31:$p1 .*weight 3" "$SD_TMP/haproxy.cfg" || sd_fail "web_main's weight not rendered"

# web2's checks fail (fall 1): its key goes, HAProxy stops sending to it;
# healthy again (rise 2): back.
curl -sS -o /dev/null "http://127.0.0.32:$p2/health/fail"
sd_wait_for "etcd_service1 withdrawn by its check" 30 sd_etcd_count_is "$prefix" 1
sd_wait_for "only web1 served" 30 sd_all_answer "$url" web1
sd_wait_for "down logged with its reason" 10 sd_log_has reg "is down: check http-127.0.0.32:$p2/health: http 500"
curl -sS -o /dev/null "http://127.0.0.32:$p2/health/ok"
sd_wait_for "etcd_service1 back" 30 sd_etcd_count_is "$prefix" 2
sd_wait_for "both served again" 30 sd_all_answer "$url" web1 web2

# The registrator dies without a word: the lease (5 check intervals, at
# least 2 s) expires, the keys go, and the watcher empties the backend.
sd_kill reg KILL
sd_wait_for "keys gone with the lease" 30 sd_etcd_count_is "$prefix" 0
no_backend_answers() { ! sd_get "$url" >/dev/null 2>&1; }
sd_wait_for "haproxy has no server left" 30 no_backend_answers
sd_log "PASS"
