#!/usr/bin/env bash
# Issue 11: one bad or hostile registration never stops the others. Against
# the running watcher with the runtime API, real ZooKeeper and HAProxy:
#   - a registration whose server line HAProxy refuses ("agent-check"
#     without an agent port passes the allow-list) is quarantined, logged
#     once with HAProxy's words and the znode, while new servers arrive in
#     that service and another one and reach HAProxy;
#   - a second registration of an address held by another changes nothing
#     of that server (the first created wins);
#   - every refused keyword, via a znode (the watcher's allow-list) and via a
#     container label (the registrator refuses it at the edge);
#   - label_registration "unconfigured": a container of another image cannot
#     join a configured service by label.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk

words=(disabled cookie track source usesrc interface namespace sni crt ca-file crl-file redir
	addr init-addr resolvers id on-marked-down on-marked-up)
web_lb=$(sd_free_port)
api_lb=$(sd_free_port)
sock=$SD_TMP/haproxy.sock
cfg=$SD_TMP/haproxy.cfg
sd_zkctl mkdirs /smartdock/services/web >/dev/null
sd_zkctl mkdirs /smartdock/services/api >/dev/null

# hello servers the registrations point at
web1=$(sd_free_port) web2=$(sd_free_port) api1=$(sd_free_port) real=$(sd_free_port)
sd_bg h-web1 "$(sd_hello_bin)" 127.0.0.2 "$web1" web1
sd_bg h-web2 "$(sd_hello_bin)" 127.0.0.2 "$web2" web2
sd_bg h-api1 "$(sd_hello_bin)" 127.0.0.3 "$api1" api1
sd_bg h-real "$(sd_hello_bin)" 127.0.0.5 "$real" real
sd_wait_for "hello servers up" 30 sd_port_open 127.0.0.5 "$real"

services=$(
	cat <<JSON
{"web": {"discovery": {"method": "zookeeper", "hosts": ["$SD_ZK_ADDR"], "path": "/smartdock/services/web"},
         "haproxy": {"port": $web_lb, "bind_address": "127.0.0.1", "listen": ["mode http"]}},
 "api": {"discovery": {"method": "zookeeper", "hosts": ["$SD_ZK_ADDR"], "path": "/smartdock/services/api"},
         "haproxy": {"port": $api_lb, "bind_address": "127.0.0.1", "listen": ["mode http"]}}}
JSON
)
node() { # node SERVICE NAME JSON: a persistent sequential znode NAME_<seq>
	sd_zkctl create "/smartdock/services/$1/$2_" "$3" sequential >/dev/null
}
node web web1 "{\"host\":\"127.0.0.2\",\"port\":$web1,\"name\":\"web1\"}"
sd_watcher_config "$SD_TMP/once.json" "$services" "\"do_reloads\": false, \"socket_file_path\": \"$sock\", \"use_nerve_weights\": true"
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
sd_haproxy_start "$cfg"
sd_watcher_config "$SD_TMP/watcher.json" "$services" \
	"\"reload_command\": \"kill -USR2 $(sd_haproxy_pid)\", \"socket_file_path\": \"$sock\", \"use_nerve_weights\": true"
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
sd_wait_for "runtime API confirmed" 30 sd_log_has watcher "runtime: stats socket .* answers from haproxy pid"
sd_wait_for "web1 in HAProxy" 30 sd_hap_has_server "$sock" web "^web1_127\.0\.0\.2:$web1 127\.0\.0\.2:$web1 "

# ---- 1. a server line HAProxy refuses, while new servers arrive
bad=$(sd_free_port)
node web bad "{\"host\":\"127.0.0.7\",\"port\":$bad,\"name\":\"bad\",\"haproxy_server_options\":\"agent-check\"}"
node web web2 "{\"host\":\"127.0.0.2\",\"port\":$web2,\"name\":\"web2\"}"
node api api1 "{\"host\":\"127.0.0.3\",\"port\":$api1,\"name\":\"api1\"}"
sd_wait_for "web2 in HAProxy" 60 sd_hap_has_server "$sock" web "^web2_127\.0\.0\.2:$web2 127\.0\.0\.2:$web2 "
sd_wait_for "api1 in HAProxy" 60 sd_hap_has_server "$sock" api "^api1_127\.0\.0\.3:$api1 127\.0\.0\.3:$api1 "
sd_wait_for "the refusal logged" 60 sd_log_has watcher \
	"service web: HAProxy refuses the server line of bad_[0-9]+ \(127\.0\.0\.7:$bad, haproxy_server_options \"agent-check\"\): .*agent"
sd_wait_for "haproxy.cfg without bad, with web2 and api1" 60 \
	bash -c "grep -q 'server web2_' '$cfg' && grep -q 'server api1_' '$cfg' && ! grep -q 'server bad_' '$cfg'"
haproxy -c -q -f "$cfg" || sd_fail "haproxy.cfg invalid"
if sd_hap_has_server "$sock" web "^bad_"; then sd_fail "the refused server is in HAProxy"; fi
[ "$(grep -c 'HAProxy refuses the server line of bad_' "$SD_TMP/watcher.log")" = 1 ] ||
	sd_fail "the refusal was logged more than once"
# the service still changes afterwards
web3=$(sd_free_port)
sd_bg h-web3 "$(sd_hello_bin)" 127.0.0.2 "$web3" web3
node web web3 "{\"host\":\"127.0.0.2\",\"port\":$web3,\"name\":\"web3\"}"
sd_wait_for "web3 in HAProxy" 60 sd_hap_has_server "$sock" web "^web3_127\.0\.0\.2:$web3 127\.0\.0\.2:$web3 "
sd_wait_for "web answers from web1..3" 30 sd_all_answer "http://127.0.0.1:$web_lb/" web1 web2 web3

# ---- 2. same-address takeover
node web real "{\"host\":\"127.0.0.5\",\"port\":$real,\"name\":\"real\",\"weight\":10}"
sd_wait_for "real in HAProxy, weight 10" 60 sd_hap_has_server "$sock" web "^real_127\.0\.0\.5:$real 127\.0\.0\.5:$real 0 10$"
node web takeover "{\"host\":\"127.0.0.5\",\"port\":$real,\"name\":\"-\",\"weight\":0,\"haproxy_server_options\":\"backup\"}"
sd_wait_for "the conflict logged" 60 sd_log_has watcher \
	"service web: takeover_[0-9]+ registers 127\.0\.0\.5:$real \(name -\) which real_[0-9]+ registered first"
sd_hap_has_server "$sock" web "^real_127\.0\.0\.5:$real 127\.0\.0\.5:$real 0 10$" || sd_fail "real lost its weight or name"
if sd_hap_servers "$sock" web | grep -q "^-_"; then sd_fail "the takeover's name reached HAProxy"; fi
grep -qE "server real_127.0.0.5:$real 127.0.0.5:$real id [0-9]+ weight 10$" "$cfg" || sd_fail "haproxy.cfg: real changed"

# ---- 3. every refused keyword via a znode, and a quote
for w in "${words[@]}" '"'; do
	p=$(sd_free_port)
	node web "kw" "{\"host\":\"127.0.0.8\",\"port\":$p,\"name\":\"kw$p\",\"haproxy_server_options\":\"check ${w//\"/\\\"} x\"}"
	pat=${w//\"/\\\"}
	sd_wait_for "keyword $w refused" 30 sd_log_has watcher \
		"service web: left out 127\.0\.0\.8:$p from kw_[0-9]+: haproxy_server_options \"$pat\""
done
if sd_hap_servers "$sock" web | grep -q ' 127\.0\.0\.8:'; then sd_fail "a refused keyword reached HAProxy"; fi
if grep -q '127\.0\.0\.8:' "$cfg"; then sd_fail "a refused keyword reached haproxy.cfg"; fi

# ---- 4. every refused keyword via a container label, and label_registration
sd_dockerd_start d1
sd_image d1
sd_registrator_config "$SD_TMP/r1.json" 127.0.0.4 "$DOCKER_HOST_d1" \
	'{"api": {"image_name": "other/image", "container_port": 80}}'
sd_registrator r1 "$SD_TMP/r1.json"
i=0
for w in "${words[@]}"; do
	i=$((i + 1))
	p=$(sd_free_port)
	sd_docker d1 run -d --network host --name "c$i" -l smartdock.service=lbl -l smartdock.port="$p" \
		-l smartdock.haproxy_server_options="check $w x" smartdock/hello /bin/hello 127.0.0.4 "$p" "c$i" >/dev/null
	sd_wait_for "label word $w refused" 30 sd_log_has r1 \
		"\(c$i\): label smartdock\.haproxy_server_options=check $w x: \"$w\""
done
# registered anyway, without the refused options
sd_wait_for "labelled containers registered" 60 sd_zk_count_is /smartdock/services/lbl "${#words[@]}"
if sd_zkctl dump /smartdock/services/lbl 2>/dev/null | grep -q haproxy_server_options; then
	sd_fail "refused options were registered"
fi
p=$(sd_free_port)
sd_docker d1 run -d --network host --name intruder -l smartdock.service=api -l smartdock.port="$p" \
	smartdock/hello /bin/hello 127.0.0.4 "$p" intruder >/dev/null
sd_wait_for "label_registration refusal" 30 sd_log_has r1 \
	"\(intruder\): label smartdock\.service=api: the config defines this service"
sd_zk_count_is /smartdock/services/api 1 || sd_fail "the intruder joined api"
sd_log "ok"
