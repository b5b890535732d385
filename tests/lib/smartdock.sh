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
