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

# sd_zk_hosts_json: $SD_ZK_ADDR (one server, or an ensemble's comma-separated
# list) as the members of a JSON array: "127.0.0.1:p1", "127.0.0.1:p2".
sd_zk_hosts_json() {
	sed 's/[^,][^,]*/"&"/g; s/,/, /g' <<<"$SD_ZK_ADDR"
}

# sd_maps_library NAME LIBRARY: true when the sd_bg process NAME has a
# shared object whose file name starts with LIBRARY (libcurl, libmicrohttpd)
# mapped: they are dlopen'd only when a daemon needs them.
sd_maps_library() {
	grep -q "/$2[^/]*\$" "/proc/$(sd_pid "$1")/maps"
}

# sd_registrator_config FILE ADVERTISE_HOST DOCKER_HOST SERVICES_JSON [SESSION_MS]
sd_registrator_config() {
	cat >"$1" <<JSON
{
  "docker": {"host": "$3"},
  "advertise_host": "$2",
  "resync_interval_s": 60,
  "registry": {"type": "zookeeper", "hosts": [$(sd_zk_hosts_json)],
               "path": "/smartdock/services", "session_timeout_ms": ${5:-4000}},
  "services": $4
}
JSON
}

# sd_registrator NAME CONFIG: start smartdock-registrator as background process NAME.
sd_registrator() {
	sd_bg "$1" "$SD_BIN/smartdock-registrator" -v -c "$2"
}

# sd_label_registrator NAME ADVERTISE_HOST DOCKERD: a ZooKeeper registrator
# that registers containers by their labels only (no services in its
# config), config $SD_TMP/NAME.json, started as background process NAME.
sd_label_registrator() {
	local host_var=DOCKER_HOST_$3
	[ -n "${!host_var:-}" ] || sd_fail "sd_label_registrator: no dockerd '$3'"
	sd_registrator_config "$SD_TMP/$1.json" "$2" "${!host_var}" '{}'
	sd_registrator "$1" "$SD_TMP/$1.json"
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
{"web": {"discovery": {"method": "zookeeper", "hosts": [$(sd_zk_hosts_json)], "path": "$2"},
         "haproxy": {"port": $1, "bind_address": "127.0.0.1",
                     "listen": ["mode http", "option httpchk /", "http-check expect string Hello"]}}}
JSON
}

# sd_zk_named_service NAME LB_PORT: one member of a services object, service
# NAME discovered in ZooKeeper at /smartdock/services/NAME, listening on
# 127.0.0.1:LB_PORT in mode http.
sd_zk_named_service() {
	echo "\"$1\": {\"discovery\": {\"method\": \"zookeeper\", \"hosts\": [\"$SD_ZK_ADDR\"], \"path\": \"/smartdock/services/$1\"},
	  \"haproxy\": {\"port\": $2, \"bind_address\": \"127.0.0.1\", \"listen\": [\"mode http\"]}}"
}

# ---------------------------------------------------------------- etcd
# Through etcd's JSON gateway with curl (Debian's etcd-server has no
# etcdctl). With SD_ETCD_USER and SD_ETCD_PASSWORD set, every call
# authenticates first; SD_ETCD_CURL_TLS holds curl's TLS options (--cacert
# ... --cert ... --key ...) for an https endpoint. Prefixes end in '/'.

# sd_etcd_b64 STRING: base64 of STRING, on one line.
sd_etcd_b64() {
	printf '%s' "$1" | base64 -w0
}

# sd_etcd_api PATH JSON: POST JSON to $SD_ETCD_ENDPOINT/PATH and print the
# reply; fails on a transport error or an {"error": ...} reply.
sd_etcd_api() {
	local out tok
	local -a hdr=() tls
	read -r -a tls <<<"${SD_ETCD_CURL_TLS:-}"
	if [ -n "${SD_ETCD_USER:-}" ]; then
		tok=$(curl -sS --max-time 5 "${tls[@]}" -X POST "$SD_ETCD_ENDPOINT/v3/auth/authenticate" \
			-d "{\"name\":\"$SD_ETCD_USER\",\"password\":\"$SD_ETCD_PASSWORD\"}" |
			sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
		[ -n "$tok" ] || { echo "cannot authenticate to etcd as $SD_ETCD_USER"; return 1; }
		hdr=(-H "Authorization: $tok")
	fi
	out=$(curl -sS --max-time 5 "${tls[@]}" "${hdr[@]}" -X POST "$SD_ETCD_ENDPOINT$1" -d "$2") || return 1
	printf '%s\n' "$out"
	case $out in *'"error"'*) return 1 ;; esac
}

# sd_etcd_keys PREFIX: the keys under PREFIX, sorted, one a line.
sd_etcd_keys() {
	local out k
	out=$(sd_etcd_api /v3/kv/range "{\"key\":\"$(sd_etcd_b64 "$1")\",\"range_end\":\"$(sd_etcd_b64 "${1%/}0")\",\"keys_only\":true}") || return 1
	for k in $(grep -o '"key":"[^"]*"' <<<"$out" | cut -d'"' -f4); do
		base64 -d <<<"$k"
		echo
	done | sort
}

# sd_etcd_count PREFIX: how many keys are under PREFIX.
sd_etcd_count() {
	local out
	out=$(sd_etcd_keys "$1") || return 1
	if [ -z "$out" ]; then echo 0; else wc -l <<<"$out"; fi
}

# sd_etcd_count_is PREFIX N
sd_etcd_count_is() {
	[ "$(sd_etcd_count "$1")" = "$2" ]
}

# sd_etcd_get KEY: the value of KEY (fails when there is none).
sd_etcd_get() {
	local out v
	out=$(sd_etcd_api /v3/kv/range "{\"key\":\"$(sd_etcd_b64 "$1")\"}") || return 1
	v=$(grep -o '"value":"[^"]*"' <<<"$out" | cut -d'"' -f4)
	[ -n "$v" ] || return 1
	base64 -d <<<"$v"
}

# sd_etcd_put KEY VALUE
sd_etcd_put() {
	sd_etcd_api /v3/kv/put "{\"key\":\"$(sd_etcd_b64 "$1")\",\"value\":\"$(sd_etcd_b64 "$2")\"}" >/dev/null
}

# sd_etcd_del KEY
sd_etcd_del() {
	sd_etcd_api /v3/kv/deleterange "{\"key\":\"$(sd_etcd_b64 "$1")\"}" >/dev/null
}

# sd_etcd_revision: etcd's current revision.
sd_etcd_revision() {
	sd_etcd_api /v3/kv/range "{\"key\":\"$(sd_etcd_b64 /)\",\"count_only\":true}" |
		sed -n 's/.*"revision":"\([0-9]*\)".*/\1/p'
}

# sd_etcd_compact: compact etcd's history up to its current revision.
sd_etcd_compact() {
	local rev
	rev=$(sd_etcd_revision)
	[ -n "$rev" ] || sd_fail "sd_etcd_compact: no revision from etcd"
	sd_etcd_api /v3/kv/compaction "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null
	echo "$rev"
}

# sd_etcd_leases: the IDs of the leases etcd knows, one a line.
sd_etcd_leases() {
	sd_etcd_api /v3/lease/leases '{}' | grep -o '"ID":"[0-9]*"' | cut -d'"' -f4
}

# sd_etcd_enable_auth PASSWORD: user root (role root) with PASSWORD, auth on.
sd_etcd_enable_auth() {
	sd_etcd_api /v3/auth/user/add "{\"name\":\"root\",\"password\":\"$1\"}" >/dev/null
	sd_etcd_api /v3/auth/role/add '{"name":"root"}' >/dev/null
	sd_etcd_api /v3/auth/user/grant '{"user":"root","role":"root"}' >/dev/null
	sd_etcd_api /v3/auth/enable '{}' >/dev/null
}

# sd_etcd_endpoints_json: $SD_ETCD_ENDPOINTS (a cluster's comma-separated
# list), else $SD_ETCD_ENDPOINT, as the members of a JSON array.
sd_etcd_endpoints_json() {
	sed 's/[^,][^,]*/"&"/g; s/,/, /g' <<<"${SD_ETCD_ENDPOINTS:-$SD_ETCD_ENDPOINT}"
}

# sd_etcd_registrator_config FILE ADVERTISE_HOST DOCKER_HOST SERVICES_JSON [TTL_S] [EXTRA_REGISTRY_JSON]
sd_etcd_registrator_config() {
	cat >"$1" <<JSON
{
  "docker": {"host": "$3"},
  "advertise_host": "$2",
  "resync_interval_s": 60,
  "registry": {"type": "etcd", "endpoints": [$(sd_etcd_endpoints_json)],
               "prefix": "/smartdock/services/", "ttl_s": ${5:-10}${6:+, $6}},
  "services": $4
}
JSON
}

# sd_etcd_service PORT PREFIX [EXTRA_DISCOVERY_JSON]: the watcher's services
# object for one http service discovered in etcd.
sd_etcd_service() {
	cat <<JSON
{"web": {"discovery": {"method": "etcd", "endpoints": [$(sd_etcd_endpoints_json)], "path": "$2"${3:+, $3}},
         "haproxy": {"port": $1, "bind_address": "127.0.0.1",
                     "listen": ["mode http", "option httpchk /", "http-check expect string Hello"]}}}
JSON
}

# ---------------------------------------------------------------- HAProxy runtime API

# sd_hap_cli SOCKET COMMAND: one command on an HAProxy CLI socket (stats or
# master), the answer on stdout (smartdock-watcher --cli: no socat needed).
sd_hap_cli() {
	"$SD_BIN/smartdock-watcher" --cli "$1" "$2"
}

# sd_hap_worker_pid SOCKET: the pid of the HAProxy process answering on a stats socket.
sd_hap_worker_pid() {
	sd_hap_cli "$1" "show info" | awk -F': ' '$1 == "Pid" { print $2 }'
}

# sd_hap_servers SOCKET BACKEND: "name addr:port admin_state weight" per server
# of BACKEND, from "show servers state".
sd_hap_servers() {
	sd_hap_cli "$1" "show servers state $2" | awk 'NF > 10 && $1 !~ /^#/ { print $4, $5 ":" $19, $7, $8 }'
}

# sd_hap_has_server SOCKET BACKEND PATTERN: a server of BACKEND whose line
# (as sd_hap_servers prints it) matches PATTERN (grep -E).
sd_hap_has_server() {
	sd_hap_servers "$1" "$2" | grep -qE "$3"
}

# sd_reload_marks SOCKET MASTER_SOCKET WATCHER: "WORKER_PID MASTER_RELOADS
# WATCHER_RELOADS", all three unchanged when HAProxy was not reloaded.
sd_reload_marks() {
	echo "$(sd_hap_worker_pid "$1") $(sd_hap_cli "$2" "show proc" | awk '$2 == "master" { print $3 }')" \
		"$(sd_watcher_reloads "$3")"
}

# sd_watcher_reloads NAME: how many reloads the watcher NAME logged.
sd_watcher_reloads() {
	grep -c "reloaded haproxy (reload #" "$SD_TMP/$1.log" || true
}

# sd_load_start NAME URL: requests through URL one after another (a fresh
# connection each, 5 s timeout) until sd_load_stop NAME; one line per request
# in $SD_TMP/NAME.out: "ok BODY" or "FAILED <curl exit>".
sd_load_start() {
	local name=$1 url=$2
	rm -f "$SD_TMP/$name.stop"
	: >"$SD_TMP/$name.out"
	cat >"$SD_TMP/$name.sh" <<-EOF
		while [ ! -e "$SD_TMP/$name.stop" ]; do
			if body=\$(curl -sS -f --max-time 5 "$url" 2>&1); then echo "ok \$body"; else echo "FAILED \$? \$body"; fi
		done >>"$SD_TMP/$name.out"
		touch "$SD_TMP/$name.done"
	EOF
	sd_bg "$name" bash "$SD_TMP/$name.sh"
}

# sd_load_count NAME [PATTERN]: requests made so far (matching PATTERN).
sd_load_count() {
	grep -cE "${2:-.}" "$SD_TMP/$1.out" || true
}

# sd_load_stop NAME: stop the loop (after its current request) and wait for it.
sd_load_stop() {
	touch "$SD_TMP/$1.stop"
	sd_wait_for "load loop $1 stopped" 30 test -e "$SD_TMP/$1.done"
	sd_kill "$1" TERM
}

# sd_load_failures NAME: the failed requests of a load loop (none: empty).
sd_load_failures() {
	grep -v '^ok ' "$SD_TMP/$1.out" || true
}

# sd_load_has_answer NAME TEXT: a request of load loop NAME got TEXT.
sd_load_has_answer() {
	grep -qF "$2" "$SD_TMP/$1.out"
}

# sd_load_at_least NAME N [PATTERN]: load loop NAME made N requests (matching PATTERN).
sd_load_at_least() {
	[ "$(sd_load_count "$1" "${3:-.}")" -ge "$2" ]
}

# sd_run_web DOCKERD NAME ADDRESS PORT [HELLO_ARGS...]: a hello container on
# the host network, serving ADDRESS:PORT as NAME, registered by label as
# service "web".
sd_run_web() {
	local dockerd=$1 name=$2 address=$3 port=$4
	shift 4
	sd_docker "$dockerd" run -d --network host --name "$name" -l smartdock.service=web \
		-l smartdock.port="$port" smartdock/hello /bin/hello "$address" "$port" "$name" "$@" >/dev/null
}
