#!/usr/bin/env bash
# discovery "dns" (Synapse's DnsWatcher): a server's host name is resolved
# against a real DNS server on loopback (dnsmasq) and re-resolved every
# check_interval. The record changes mid-test: the new address gets the
# traffic and the old one leaves. A name that stops resolving keeps its
# last answer, logged once.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
. "$(dirname "$0")/../lib/dns.sh"
sd_need_root
sd_setup

app=$(sd_free_port)
lb=$(sd_free_port)
hello=$(sd_hello_bin)
sd_bg h2 "$hello" 127.0.0.2 "$app" h2
sd_bg h3 "$hello" 127.0.0.3 "$app" h3
sd_bg h4 "$hello" 127.0.0.4 "$app" h4
sd_wait_for "backends listen" 30 sd_port_open 127.0.0.4 "$app"

sd_dns_records "127.0.0.2 web.test"
sd_dns_start

# Synapse's keys as its README writes them; the port on nameserver is
# smartdock's extension (dnsmasq is not on 53). A literal address is served
# as it is.
service() {
	cat <<JSON
{"web": {"discovery": {"method": "dns", "nameserver": "$SD_DNS_ADDR", "check_interval": 1,
                       "servers": [{"name": "web", "host": "web.test", "port": $app,
                                    "labels": {"az": "a"}},
                                   {"name": "lit", "host": "127.0.0.4", "port": $app}]},
         "haproxy": {"port": $lb, "bind_address": "127.0.0.1",
                     "listen": ["mode http", "option httpchk /", "http-check expect string Hello"]}}}
JSON
}
sd_watcher_config "$SD_TMP/once.json" "$(service)" '"do_reloads": false'
"$SD_BIN/smartdock-watcher" --check -c "$SD_TMP/once.json" 2>"$SD_TMP/check.log" ||
	sd_fail "check: $(cat "$SD_TMP/check.log")"
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
grep -q "127.0.0.2:$app" "$SD_TMP/haproxy.cfg" || sd_fail "web.test not resolved: $(cat "$SD_TMP/haproxy.cfg")"
sd_haproxy_start "$SD_TMP/haproxy.cfg"
sd_watcher_config "$SD_TMP/watcher.json" "$(service)" \
	"\"reload_command\": \"$(sd_haproxy_reload_cmd)\""
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"

url=http://127.0.0.1:$lb/
sd_wait_for "web.test and the literal answer" 30 sd_all_answer "$url" h2 h4

# The record moves: 127.0.0.3 gets the traffic, 127.0.0.2 leaves.
sd_dns_records "127.0.0.3 web.test"
sd_wait_for "the new address answers, the old one left" 30 sd_all_answer "$url" h3 h4
grep -q "127.0.0.2:$app" "$SD_TMP/haproxy.cfg" && sd_fail "old address still in haproxy.cfg"

# Two addresses for one name: both are served.
sd_dns_records "127.0.0.2 web.test" "127.0.0.3 web.test"
sd_wait_for "both addresses answer" 30 sd_all_answer "$url" h2 h3 h4

# The name goes away: its last answer is kept, and said once.
sd_dns_records "127.0.0.9 other.test"
sd_wait_for "failure logged" 30 sd_log_has watcher "cannot resolve web.test .*keeping its last answer"
q=$(sd_dns_queries web.test)
more_rounds() { [ "$(sd_dns_queries web.test)" -ge $((q + 2)) ]; }
sd_wait_for "two more rounds of lookups" 30 more_rounds
sd_all_answer "$url" h2 h3 h4 || sd_fail "last answer not kept: $(cat "$SD_TMP/answers.last")"
n=$(grep -c "cannot resolve web.test" "$SD_TMP/watcher.log")
[ "$n" = 1 ] || sd_fail "the failure was logged $n times"

# DNS itself goes away: the same.
sd_kill dns TERM
sd_all_answer "$url" h2 h3 h4 || sd_fail "backends lost with DNS down: $(cat "$SD_TMP/answers.last")"
sd_dns_start
sd_dns_records "127.0.0.3 web.test"
sd_wait_for "back after DNS returns" 30 sd_all_answer "$url" h3 h4
sd_log_has watcher "web.test resolves again" || sd_fail "no recovery line"
haproxy -c -q -f "$SD_TMP/haproxy.cfg" || sd_fail "haproxy.cfg invalid"
sd_log "ok"
