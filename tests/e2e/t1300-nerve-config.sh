#!/usr/bin/env bash
# smartdock-registrator as a Nerve drop-in: Nerve's example nerve.conf.json
# (paths, addresses and timings changed) registers processes that are not
# containers, only after `rise` passing checks and until `fall` failing
# ones, counted from the backend's own request log; the watcher serves them
# through HAProxy.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk
hello=$(sd_hello_bin)

http_port=$(sd_free_port)
tcp_port=$(sd_free_port)
hang_port=$(sd_free_port)
dir_port=$(sd_free_port)
lb=$(sd_free_port)

# The backends, with request logs. The http one starts unhealthy.
sd_bg web "$hello" 127.0.0.21 "$http_port" web --log
sd_bg tcpsrv "$hello" 127.0.0.22 "$tcp_port" tcpsrv --log
sd_bg hang "$hello" 127.0.0.23 "$hang_port" hang --log
sd_bg dirsrv "$hello" 127.0.0.24 "$dir_port" dirsrv --log
sd_wait_for "backends listening" 20 sd_port_open 127.0.0.23 "$hang_port"
sd_wait_for "dir backend listening" 20 sd_port_open 127.0.0.24 "$dir_port"
curl -sS -o /dev/null "http://127.0.0.21:$http_port/health/fail"

# Nerve's example/nerve.conf.json; changed: instance_id, service_conf_dir,
# heartbeat_path (added), host/port, zk_hosts, check_interval (Nerve's 2 s
# is slow for a test) and the rabbitmq service (a type we do not run)
# replaced by a tcp one whose check hangs.
mkdir -p "$SD_TMP/nerve_services"
cat >"$SD_TMP/nerve.conf.json" <<JSON
{
  "instance_id": "mymachine",
  "service_conf_dir": "$SD_TMP/nerve_services",
  "heartbeat_path": "$SD_TMP/heartbeat",
  "max_repeated_report_failures": 10,
  "statsd": {
    "host": "localhost",
    "port": 8125
  },
  "services": {
    "your_http_service": {
      "host": "127.0.0.21",
      "port": $http_port,
      "reporter_type": "zookeeper",
      "zk_hosts": ["$SD_ZK_ADDR"],
      "zk_path": "/nerve/services/your_http_service/services",
      "check_interval": 0.2,
      "checks": [
        {
          "type": "http",
          "uri": "/health",
          "timeout": 0.2,
          "rise": 3,
          "fall": 2
        }
      ]
    },
    "your_tcp_service": {
      "host": "127.0.0.22",
      "port": $tcp_port,
      "reporter_type": "zookeeper",
      "zk_hosts": ["$SD_ZK_ADDR"],
      "zk_path": "/nerve/services/your_tcp_service/services",
      "check_interval": 0.2,
      "checks": [
        {
          "type": "tcp",
          "timeout": 0.2,
          "rise": 3,
          "fall": 2
        }
      ]
    },
    "hanging_service": {
      "host": "127.0.0.23",
      "port": $hang_port,
      "reporter_type": "zookeeper",
      "zk_hosts": ["$SD_ZK_ADDR"],
      "zk_path": "/nerve/services/hanging_service/services",
      "node_type": "persistent",
      "check_interval": 0.2,
      "checks": [
        {
          "type": "http",
          "uri": "/health",
          "timeout": 0.3
        }
      ]
    }
  }
}
JSON
# Nerve's example/nerve_services/zookeeper_service1.json, plus path encoding.
cat >"$SD_TMP/nerve_services/zookeeper_service1.json" <<JSON
{
  "host": "127.0.0.24",
  "port": $dir_port,
  "reporter_type": "zookeeper",
  "zk_hosts": ["$SD_ZK_ADDR"],
  "zk_path": "/nerve/services/your_http_service/services",
  "use_path_encoding": true,
  "check_interval": 0.2,
  "weight": 2,
  "checks": [
    {
      "type": "http",
      "uri": "/health",
      "timeout": 0.2,
      "rise": 3,
      "fall": 2
    }
  ]
}
JSON
"$SD_BIN/smartdock-registrator" --check -c "$SD_TMP/nerve.conf.json" 2>"$SD_TMP/check.err"
grep -q "statsd: accepted and ignored" "$SD_TMP/check.err" || sd_fail "no statsd warning: $(cat "$SD_TMP/check.err")"

sd_registrator reg "$SD_TMP/nerve.conf.json"
HTTP=/nerve/services/your_http_service/services
TCP=/nerve/services/your_tcp_service/services
HANG=/nerve/services/hanging_service/services

# The tcp, hanging and directory services are up at their first check: registered at once.
sd_wait_for "tcp service registered" 30 sd_zk_count_is "$TCP" 1
sd_wait_for "hanging service registered" 30 sd_zk_count_is "$HANG" 1
sd_wait_for "conf dir service registered" 30 sd_zk_count_is "$HTTP" 1
[ "$(sd_zkctl ls "$TCP")" != "" ] && sd_zkctl ls "$TCP" | grep -qE '^mymachine_[0-9]{10}$' ||
	sd_fail "tcp znode name $(sd_zkctl ls "$TCP")"
data=$(sd_zkctl dump "$TCP")
echo "$data" | grep -qF "{\"host\":\"127.0.0.22\",\"port\":$tcp_port,\"name\":\"mymachine\"}" ||
	sd_fail "tcp payload is not Nerve's: $data"
sd_zkctl ls "$HANG" | grep -qx 'mymachine_' || sd_fail "persistent node name $(sd_zkctl ls "$HANG")"
enc=$(sd_zkctl ls "$HTTP")
case "$enc" in base64_*_*_[0-9]*) ;; *) sd_fail "path-encoded name $enc" ;; esac
sd_wait_for "heartbeat file touched" 10 test -f "$SD_TMP/heartbeat"

# your_http_service answers 500: never registered; its 500s are in its log.
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }
count() { grep -c "request GET /health $2\$" "$SD_TMP/$1.log" || true; }
sd_wait_for "web checked and failing" 20 at_least web 500 3
sd_zk_count_is "$HTTP" 1 || sd_fail "an unhealthy service was registered"

# Healthy now: registered only once 3 checks passed. ZooKeeper is read
# first: a node seen there was created after the log line of its 3rd pass.
curl -sS -o /dev/null "http://127.0.0.21:$http_port/health/ok"
registered_after_rise() {
	local n
	n=$(sd_zk_count "$HTTP")
	if [ "$n" = 2 ]; then
		[ "$(count web 200)" -ge 3 ] || sd_fail "registered after $(count web 200) passes (rise 3)"
		return 0
	fi
	return 1
}
sd_wait_for "web registered after rise" 30 registered_after_rise
sd_log "web registered after $(count web 200) passing checks (rise 3)"

# The watcher serves both through HAProxy, from the znodes Nerve's way.
services=$(
	cat <<JSON
{
    "your_http_service": {
      "discovery": {"method": "zookeeper", "hosts": ["$SD_ZK_ADDR"], "path": "$HTTP"},
      "haproxy": {"port": $lb, "bind_address": "127.0.0.1", "listen": ["mode http"]}
    }
}
JSON
)
sd_watcher_config "$SD_TMP/watcher.json" "$services" '"managed": true, "use_nerve_weights": true'
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
sd_wait_for "both served through haproxy" 30 sd_all_answer "http://127.0.0.1:$lb/" web dirsrv
grep -q "weight 2" "$SD_TMP/haproxy.cfg" || sd_fail "the conf dir service's weight is not rendered"

# Failing again: withdrawn after 2 failures (fall 2), not before.
fails_before=$(count web 500)
curl -sS -o /dev/null "http://127.0.0.21:$http_port/health/fail"
withdrawn_after_fall() {
	if [ "$(sd_zk_count "$HTTP")" = 1 ]; then
		local f=$(($(count web 500) - fails_before))
		[ "$f" -ge 2 ] || sd_fail "withdrawn after $f failures (fall 2)"
		return 0
	fi
	return 1
}
sd_wait_for "web withdrawn after fall" 30 withdrawn_after_fall
sd_wait_for "only dirsrv served" 30 sd_all_answer "http://127.0.0.1:$lb/" dirsrv
sd_wait_for "down logged with its reason" 10 sd_log_has reg "your_http_service 127.0.0.21:$http_port instance=mymachine is down: check http-127.0.0.21:$http_port/health: http 500"

# The tcp service's listener closes: withdrawn, "connect refused".
sd_kill tcpsrv TERM
sd_wait_for "tcp withdrawn" 30 sd_zk_count_is "$TCP" 0
sd_log_has reg "your_tcp_service .* is down: check tcp-127.0.0.22:$tcp_port: connect refused" ||
	sd_fail "no connect refused line"

# A check that hangs is cut at its timeout and the service withdrawn.
curl -sS -o /dev/null "http://127.0.0.23:$hang_port/health/hang"
sd_wait_for "hanging withdrawn" 30 sd_zk_count_is "$HANG" 0
sd_log_has reg "hanging_service .* is down: check http-127.0.0.23:$hang_port/health: timeout after [0-9]+ ms" ||
	sd_fail "no timeout line"
curl -sS -o /dev/null "http://127.0.0.23:$hang_port/health/ok"
sd_wait_for "hanging back" 30 sd_zk_count_is "$HANG" 1

# Every service on one ensemble shares one session.
sd_zk_4lw cons >"$SD_TMP/cons.out"
sessions=$(grep -c "sid=0x" "$SD_TMP/cons.out" || true)
[ "$sessions" -le 2 ] || sd_fail "$sessions ZooKeeper sessions (registrator + watcher expected): $(cat "$SD_TMP/cons.out")"

# SIGTERM withdraws everything, the persistent node too.
sd_kill reg TERM
sd_zk_count_is "$HANG" 0 || sd_fail "persistent node left after SIGTERM"
sd_zk_count_is "$HTTP" 0 || sd_fail "nodes left after SIGTERM"
sd_log "ok"
