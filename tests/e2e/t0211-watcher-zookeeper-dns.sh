#!/usr/bin/env bash
# Synapse's zookeeper_dns, zookeeper_dns_poll and zookeeper_poll against a
# real ZooKeeper and a real DNS server on loopback (dnsmasq): ZooKeeper's
# children name hosts, which are resolved and re-resolved every
# check_interval; a change in DNS and a change in ZooKeeper each reach
# HAProxy. zookeeper_poll finds a data change no watch reports.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
. "$(dirname "$0")/../lib/dns.sh"
sd_world zk

app=$(sd_free_port)
lb_web=$(sd_free_port)
lb_api=$(sd_free_port)
lb_poll=$(sd_free_port)
hello=$(sd_hello_bin)
sd_bg h2 "$hello" 127.0.0.2 "$app" h2
sd_bg h3 "$hello" 127.0.0.3 "$app" h3
sd_bg h4 "$hello" 127.0.0.4 "$app" h4
sd_wait_for "backends listen" 30 sd_port_open 127.0.0.4 "$app"

sd_dns_records "127.0.0.2 a.test" "127.0.0.3 b.test" "127.0.0.4 c.test"
sd_dns_start

node() { # node HOST: a Nerve registration of HOST:$app
	echo "{\"host\":\"$1\",\"port\":$app,\"name\":\"n\"}"
}
for s in web api poll; do sd_zkctl mkdirs "/smartdock/services/$s" >/dev/null; done
sd_zkctl create /smartdock/services/web/x "$(node a.test)" >/dev/null
sd_zkctl create /smartdock/services/api/x "$(node b.test)" >/dev/null
sd_zkctl create /smartdock/services/poll/x "$(node 127.0.0.4)" >/dev/null

listen() { # listen PORT
	echo "\"haproxy\": {\"port\": $1, \"bind_address\": \"127.0.0.1\", \"listen\": [\"mode http\"]}"
}
services() {
	cat <<JSON
{"web": {"discovery": {"method": "zookeeper_dns", "hosts": ["$SD_ZK_ADDR"],
                       "path": "/smartdock/services/web", "nameserver": "$SD_DNS_ADDR",
                       "check_interval": 1, "session_timeout_ms": 6000, "discovery_jitter": 0.2},
         $(listen "$lb_web")},
 "api": {"discovery": {"method": "zookeeper_dns_poll", "hosts": ["$SD_ZK_ADDR"],
                       "path": "/smartdock/services/api", "nameserver": ["$SD_DNS_ADDR"],
                       "check_interval": 1, "polling_interval_sec": 1},
         $(listen "$lb_api")},
 "poll": {"discovery": {"method": "zookeeper_poll", "hosts": ["$SD_ZK_ADDR"],
                        "path": "/smartdock/services/poll", "polling_interval_sec": 1},
          $(listen "$lb_poll")}}
JSON
}
sd_watcher_config "$SD_TMP/once.json" "$(services)" '"do_reloads": false'
"$SD_BIN/smartdock-watcher" --check -c "$SD_TMP/once.json" 2>"$SD_TMP/check.log" ||
	sd_fail "check: $(cat "$SD_TMP/check.log")"
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
sd_haproxy_start "$SD_TMP/haproxy.cfg"
# Reloads 3 s apart: two changes at once make two reloads, each of which
# must be its own.
sd_watcher_config "$SD_TMP/watcher.json" "$(services)" \
	"\"reload_command\": \"$(sd_haproxy_reload_cmd)\", \"restart_interval\": 3"
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"

web=http://127.0.0.1:$lb_web/ api=http://127.0.0.1:$lb_api/ poll=http://127.0.0.1:$lb_poll/
sd_wait_for "web (a.test) answers" 30 sd_all_answer "$web" h2
sd_wait_for "api (b.test) answers" 30 sd_all_answer "$api" h3
sd_wait_for "poll answers" 30 sd_all_answer "$poll" h4

# DNS changes: both DNS methods follow within check_interval.
sd_dns_records "127.0.0.3 a.test" "127.0.0.2 b.test" "127.0.0.4 c.test"
sd_wait_for "web follows DNS" 30 sd_all_answer "$web" h3
sd_wait_for "api follows DNS" 30 sd_all_answer "$api" h2

# ZooKeeper changes: a watch (web) or the next poll (api, poll) finds them.
sd_zkctl set /smartdock/services/web/x "$(node c.test)" >/dev/null
sd_zkctl set /smartdock/services/api/x "$(node a.test)" >/dev/null
sd_zkctl set /smartdock/services/poll/x "$(node 127.0.0.2)" >/dev/null
sd_wait_for "web follows ZooKeeper" 30 sd_all_answer "$web" h4
sd_wait_for "api follows ZooKeeper" 30 sd_all_answer "$api" h3
sd_wait_for "poll follows ZooKeeper" 30 sd_all_answer "$poll" h2
# a second child in web: both names are served
sd_zkctl create /smartdock/services/web/y "$(node b.test)" >/dev/null
sd_wait_for "web serves both children" 30 sd_all_answer "$web" h2 h4

sd_log_has watcher "service poll: polling zookeeper" || sd_fail "poll was not polling"
haproxy -c -q -f "$SD_TMP/haproxy.cfg" || sd_fail "haproxy.cfg invalid"
sd_log "ok"
