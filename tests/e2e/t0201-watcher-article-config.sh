#!/usr/bin/env bash
# The origin article's Synapse config, run unchanged but for its paths, the
# Docker address (a dockerd on tcp://127.0.0.1:PORT) and the HAProxy port:
# its curl loop sees both containers answer, then only one after docker stop.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_need_root
sd_setup
docker_port=$(sd_free_port)
sd_dockerd_start d1 "$docker_port"
sd_image d1
sd_image_tag d1 local/nodeapp
lb=$(sd_free_port)

# The article's /etc/synapse.json.conf, laid out as it prints it; the lines
# marked "changed" are all that differ.
cat >"$SD_TMP/synapse.json" <<JSON
{
  "services": {
    "nodesrv": {
      "discovery": {
        "method": "docker",
        "servers": [
          {
            "name": "localhost",
            "host": "localhost",
            "port": $docker_port
          }
        ],
        "container_port": 8000,
        "image_name": "local/nodeapp"
      },
      "haproxy": {
        "port": $lb,
        "bind_address": "127.0.0.1",
        "listen": [
          "mode http",
          "option httpchk /",
          "http-check expect string Hello"
        ]
      }
    }
  },
  "haproxy": {
    "reload_command": "haproxy -D -p $SD_TMP/haproxy.pid -f $SD_TMP/haproxy.cfg -sf \$(cat $SD_TMP/haproxy.pid)",
    "config_file_path": "$SD_TMP/haproxy.cfg",
    "do_writes": true,
    "do_reloads": true,
    "global": [
      "daemon"
    ],
    "defaults": [
      "contimeout 5000",
      "clitimeout 50000",
      "srvtimeout 50000"
    ]
  }
}
JSON
# changed: servers[0].port (dockerd's tcp port; the article used 4243 through
# DOCKER_HOST), haproxy.port and bind_address (8080 may be taken here),
# reload_command and config_file_path (no system haproxy service in a test),
# global (no chroot/user/group: the test does not own /var/lib/haproxy).

# Two nodeapp containers. With --network host they share the host's
# addresses, so each listens on its own and says which by label.
for i in 1 2; do
	sd_docker d1 run -d --network host --name "node$i" -l smartdock.host=127.0.0.$((i + 1)) \
		local/nodeapp /bin/hello 127.0.0.$((i + 1)) 8000 "node$i" >/dev/null
done

# HAProxy runs daemonised the classic way, reloaded by the config's command.
"$SD_BIN/smartdock-watcher" --check -c "$SD_TMP/synapse.json" 2>"$SD_TMP/check.log"
grep -q "timeout connect" "$SD_TMP/check.log" || sd_fail "no translation warning: $(cat "$SD_TMP/check.log")"
sed 's/"do_reloads": true/"do_reloads": false/' "$SD_TMP/synapse.json" >"$SD_TMP/once.json"
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json"
grep -q "timeout connect 5000" "$SD_TMP/haproxy.cfg" || sd_fail "contimeout not translated"
# (teardown kills it: its command line names $SD_TMP)
haproxy -D -p "$SD_TMP/haproxy.pid" -f "$SD_TMP/haproxy.cfg"
sd_bg watcher "$SD_BIN/smartdock-watcher" -c "$SD_TMP/synapse.json"

url=http://localhost:$lb
sd_wait_for "both containers answer" 30 sd_all_answer "$url" node1 node2
sd_docker d1 stop node1 >/dev/null
sd_wait_for "only node2 answers" 30 sd_all_answer "$url" node2
sd_log "ok"
