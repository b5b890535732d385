#!/usr/bin/env bash
# A Synapse config in YAML, in the style of Synapse's README (comments,
# anchors, hosts as one connection string, numbers as
# strings), found through SYNAPSE_CONFIG, plus a service_conf_dir holding
# a *.yaml service: registered containers are served through HAProxy.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1

app=$(sd_free_port)
app2=$(sd_free_port)
lb=$(sd_free_port)
lb_api=$(sd_free_port)
sd_label_registrator r1 127.0.0.2 d1
sd_run_web d1 c1 127.0.0.2 "$app"
sd_run_web d1 c2 127.0.0.2 "$app2"
sd_wait_for "both registered" 30 sd_zk_count_is /smartdock/services/web 2

mkdir -p "$SD_TMP/services"
# Synapse's README layout; changed: addresses (loopback), ports, paths.
cat >"$SD_TMP/synapse.conf.yaml" <<YAML
---
services:
  web:
    # the README's zookeeper watcher, hosts written as one string
    discovery:
      method: zookeeper
      path: /smartdock/services/web
      hosts: "$SD_ZK_ADDR"
    haproxy: &web_haproxy
      port: "$lb"
      bind_address: 127.0.0.1
      server_options: check inter 2s rise 1 fall 2
      listen:
        - mode http
        - option httpchk /
        - http-check expect string Hello
service_conf_dir: $SD_TMP/services
haproxy:
  bind_address: 127.0.0.1
  reload_command: "$(sd_haproxy_reload_cmd)"
  config_file_path: $SD_TMP/haproxy.cfg
  do_writes: true
  do_reloads: true
  restart_interval: "0.5"
  global:
    - maxconn 4096
  defaults: &defaults
    - mode http
    - timeout connect 2s
    - timeout client 30s
    - timeout server 30s
YAML
# A second service from service_conf_dir in YAML: the static default server
# c2.
cat >"$SD_TMP/services/api.yaml" <<YAML
discovery:
  method: base
default_servers:
  - name: c2
    host: 127.0.0.2
    port: $app2
haproxy:
  port: $lb_api
  bind_address: 127.0.0.1
  listen:
    - mode http
YAML

export SYNAPSE_CONFIG=$SD_TMP/synapse.conf.yaml
"$SD_BIN/smartdock-watcher" --check 2>"$SD_TMP/check.log" || sd_fail "check: $(cat "$SD_TMP/check.log")"
sed 's/do_reloads: true/do_reloads: false/' "$SD_TMP/synapse.conf.yaml" >"$SD_TMP/once.yaml"
SYNAPSE_CONFIG=$SD_TMP/once.yaml "$SD_BIN/smartdock-watcher" --once
grep -q "check inter 2s rise 1 fall 2" "$SD_TMP/haproxy.cfg" || sd_fail "no server_options in $(cat "$SD_TMP/haproxy.cfg")"
sd_haproxy_start "$SD_TMP/haproxy.cfg"
sd_bg watcher "$SD_BIN/smartdock-watcher" -v

sd_wait_for "both containers answer" 30 sd_all_answer "http://127.0.0.1:$lb/" c1 c2
sd_wait_for "the conf_dir service answers" 30 sd_all_answer "http://127.0.0.1:$lb_api/" c2
sd_docker d1 stop c1 >/dev/null
sd_wait_for "only c2 answers" 30 sd_all_answer "http://127.0.0.1:$lb/" c2

# A typo in YAML: the error names the file, the line and the path.
sed "s/port: \"$lb\"/port: abc/" "$SD_TMP/synapse.conf.yaml" >"$SD_TMP/bad.yaml"
if "$SD_BIN/smartdock-watcher" --check -c "$SD_TMP/bad.yaml" 2>"$SD_TMP/bad.log"; then
	sd_fail "a bad port passed --check"
fi
grep -q "$SD_TMP/bad.yaml:10: services.web.haproxy.port: expected an integer 1..65535, got \"abc\"" \
	"$SD_TMP/bad.log" || sd_fail "error lacks file:line: $(cat "$SD_TMP/bad.log")"
sd_log "ok"
