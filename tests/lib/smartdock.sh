# tests/lib/smartdock.sh: helpers about smartdock itself, on top of lib.sh.

SD_ZKCTL=$SD_BIN/tests/zkctl

# sd_zkctl CMD PATH...: tests/tools/zkctl against $SD_ZK_ADDR.
sd_zkctl() {
	"$SD_ZKCTL" "$SD_ZK_ADDR" "$@"
}

# sd_zk_count PATH: number of children of PATH (0 if it does not exist).
sd_zk_count() {
	local out
	out=$(sd_zkctl ls "$1" 2>/dev/null) || { echo 0; return 0; }
	[ -n "$out" ] || { echo 0; return 0; }
	printf '%s\n' "$out" | wc -l
}

# sd_zk_count_is PATH N: true when PATH has exactly N children.
sd_zk_count_is() {
	[ "$(sd_zk_count "$1")" = "$2" ]
}

# sd_registrator_config FILE ADVERTISE_HOST DOCKER_HOST SERVICES_JSON [SESSION_MS]
sd_registrator_config() {
	cat >"$1" <<JSON
{
  "docker": {"host": "$3"},
  "advertise_host": "$2",
  "resync_interval_s": 60,
  "registry": {"type": "zookeeper", "hosts": ["$SD_ZK_ADDR"],
               "path": "/smartdock/services", "session_timeout_ms": ${5:-4000}},
  "services": $4
}
JSON
}

# sd_registrator NAME CONFIG: start smartdock-registrator as background process NAME.
sd_registrator() {
	sd_bg "$1" "$SD_BIN/smartdock-registrator" -v -c "$2"
}

# sd_log_has NAME PATTERN: true when NAME's log has a line matching PATTERN (grep -E).
sd_log_has() {
	grep -qE "$2" "$SD_TMP/$1.log"
}

# sd_container_id DOCKERD NAME: full id of a container.
sd_container_id() {
	sd_docker "$1" inspect -f '{{.Id}}' "$2"
}

# sd_get URL: the body of one HTTP GET (fails on a non-2xx answer).
sd_get() {
	curl -sS -f --max-time 5 "$1"
}

# sd_answers URL N: N GETs through URL, one body per line (failed ones as FAILED).
sd_answers() {
	local i
	for ((i = 0; i < $2; i++)); do
		curl -sS -f --max-time 5 "$1" 2>/dev/null || echo FAILED
	done
}

# sd_all_answer URL NAME...: true when a round of requests reaches every NAME
# and nothing else (no failure, no other backend).
sd_all_answer() {
	local url=$1 out n
	shift
	out=$(sd_answers "$url" $(($# * 6)))
	echo "$out" >"$SD_TMP/answers.last"
	for n in "$@"; do
		echo "$out" | grep -qx "Hello from $n" || return 1
	done
	local others
	others=$(echo "$out" | grep -vxE "$(printf 'Hello from %s|' "$@" | sed 's/|$//')" || true)
	[ -z "$others" ]
}

# sd_watcher_config FILE SERVICES_JSON [HAPROXY_EXTRA_JSON]: a Synapse-format
# config writing $SD_TMP/haproxy.cfg.
sd_watcher_config() {
	cat >"$1" <<JSON
{
  "services": $2,
  "haproxy": {
    "config_file_path": "$SD_TMP/haproxy.cfg",
    "do_writes": true,
    "do_reloads": true,
    "restart_interval": 0.5,
    "global": ["maxconn 4096"],
    "defaults": ["mode http", "timeout connect 2s", "timeout client 30s", "timeout server 30s"]
    ${3:+, $3}
  }
}
JSON
}

# sd_zk_web_service PORT ZK_PATH: the services object for one http service.
sd_zk_service() {
	cat <<JSON
{"web": {"discovery": {"method": "zookeeper", "hosts": ["$SD_ZK_ADDR"], "path": "$2"},
         "haproxy": {"port": $1, "bind_address": "127.0.0.1",
                     "listen": ["mode http", "option httpchk /", "http-check expect string Hello"]}}}
JSON
}
