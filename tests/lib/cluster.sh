# tests/lib/cluster.sh: multi-server ZooKeeper ensembles and etcd clusters on
# loopback, and the three-views invariant. Source after lib.sh and
# smartdock.sh:
#
#   sd_zk_ensemble_start 3            # zk1 zk2 zk3; exports SD_ZK_HOSTS, SD_ZK_ADDR
#   leader=$(sd_zk_leader)            # zk2
#   sd_kill "$leader" KILL; ...; sd_zk_member_start "$leader"
#
#   sd_etcd_cluster_start 3           # etcd1 etcd2 etcd3; exports SD_ETCD_ENDPOINTS
#   leader=$(sd_etcd_leader)
#
#   sd_views_agree web "$sock" web zk d1=127.0.0.2 d2=127.0.0.3
#
# Every member is an sd_bg process named after itself, so sd_kill NAME KILL /
# STOP / CONT work on it, and teardown stops them all.

# ---------------------------------------------------------------- ZooKeeper

# sd_zk_ensemble_start [N] [PREFIX]: N (default 3) ZooKeeper servers PREFIX1..N
# (default zk1..) forming one ensemble on 127.0.0.1, each with its own client,
# peer and election port. Waits until every member is a leader or a follower.
# Exports SD_ZK_HOSTS and SD_ZK_ADDR ("127.0.0.1:p1,127.0.0.1:p2,..."),
# SD_ZK_MEMBERS ("zk1 zk2 zk3") and SD_ZK_PORT_<name> per member.
sd_zk_ensemble_start() {
	_sd_need_setup
	sd_need_cmd java
	local n=${1:-3} prefix=${2:-zk} i name dir servers="" hosts="" members=""
	local -a cports=() pports=() eports=()
	for ((i = 1; i <= n; i++)); do
		cports[i]=$(sd_free_port)
		pports[i]=$(sd_free_port)
		eports[i]=$(sd_free_port)
		servers+="server.$i=127.0.0.1:${pports[i]}:${eports[i]}"$'\n'
		hosts+="${hosts:+,}127.0.0.1:${cports[i]}"
		members+="${members:+ }$prefix$i"
	done
	for ((i = 1; i <= n; i++)); do
		name=$prefix$i
		dir=$SD_TMP/$name
		mkdir -p "$dir/data"
		echo "$i" >"$dir/data/myid"
		echo "${cports[i]}" >"$dir/port"
		# tickTime 500 ms: elections and syncs settle in about a second;
		# session timeouts stay bounded by min/maxSessionTimeout below.
		cat >"$dir/zoo.cfg" <<-EOF
			tickTime=500
			initLimit=20
			syncLimit=4
			dataDir=$dir/data
			clientPort=${cports[i]}
			clientPortAddress=127.0.0.1
			maxClientCnxns=0
			admin.enableServer=false
			4lw.commands.whitelist=*
			minSessionTimeout=2000
			maxSessionTimeout=60000
			$servers
		EOF
		export "SD_ZK_PORT_$name=${cports[i]}"
	done
	export SD_ZK_HOSTS=$hosts SD_ZK_ADDR=$hosts SD_ZK_MEMBERS=$members
	for name in $members; do
		_sd_zk_member_launch "$name"
	done
	sd_zk_wait_quorum
	sd_log "ZooKeeper ensemble up: $SD_ZK_HOSTS (leader $(sd_zk_leader))"
}

_sd_zk_member_launch() {
	local name=$1 cp
	cp=$(_sd_zk_classpath)
	sd_bg "$name" java -Xmx192m -XX:+UseSerialGC -XX:-UsePerfData -XX:TieredStopAtLevel=1 \
		-Dorg.slf4j.simpleLogger.showDateTime=true \
		-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS \
		-Dzookeeper.jmx.log4j.disable=true \
		-cp "$cp" org.apache.zookeeper.server.quorum.QuorumPeerMain "$SD_TMP/$name/zoo.cfg"
}

# sd_zk_member_start NAME: start one member again (same ports and data) after
# sd_kill NAME KILL/TERM. Does not wait: the ensemble may have no quorum yet.
sd_zk_member_start() {
	_sd_zk_member_launch "$1"
}

# sd_zk_member_mode NAME: "leader", "follower", or nothing while it does not
# serve (no quorum, stopped, frozen).
sd_zk_member_mode() {
	local port
	port=$(cat "$SD_TMP/$1/port")
	sd_zk_4lw srvr "$port" | sed -n 's/^Mode: //p'
}

# sd_zk_leader: the name of the member that leads now (fails when none does).
sd_zk_leader() {
	local name
	for name in $SD_ZK_MEMBERS; do
		sd_alive "$name" || continue
		if [ "$(sd_zk_member_mode "$name")" = leader ]; then
			echo "$name"
			return 0
		fi
	done
	return 1
}

# sd_zk_followers: the names of the members that follow now, one a line.
sd_zk_followers() {
	local name
	for name in $SD_ZK_MEMBERS; do
		sd_alive "$name" || continue
		[ "$(sd_zk_member_mode "$name")" = follower ] && echo "$name"
	done
	return 0
}

_sd_zk_all_serving() {
	local name mode
	for name in $SD_ZK_MEMBERS; do
		sd_alive "$name" || continue
		mode=$(sd_zk_member_mode "$name")
		[ "$mode" = leader ] || [ "$mode" = follower ] || { echo "$name: '${mode:-no answer}'"; return 1; }
	done
	sd_zk_leader >/dev/null
}

# sd_zk_wait_quorum [TIMEOUT_S]: every running member serves and one leads.
sd_zk_wait_quorum() {
	sd_wait_for "ZooKeeper ensemble serving with a leader" "${1:-90}" _sd_zk_all_serving
}

# sd_zk_sessions_on NAME: how many client connections member NAME has
# (excluding the one asking).
sd_zk_sessions_on() {
	local port
	port=$(cat "$SD_TMP/$1/port")
	sd_zk_4lw cons "$port" | grep -c 'sid=' | awk '{ print ($1 > 0 ? $1 - 1 : 0) }'
}

# ---------------------------------------------------------------- etcd

# sd_etcd_cluster_start [N] [PREFIX]: N (default 3) etcd members PREFIX1..N
# (default etcd1..) forming one cluster on 127.0.0.1. Waits until the cluster
# is healthy. Exports SD_ETCD_ENDPOINTS ("http://127.0.0.1:c1,..."),
# SD_ETCD_ENDPOINT (the first), SD_ETCD_MEMBERS, SD_ETCD_URL_<name>.
sd_etcd_cluster_start() {
	_sd_need_setup
	sd_need_cmd etcd
	local n=${1:-3} prefix=${2:-etcd} i name initial="" endpoints="" members=""
	local -a cports=() pports=()
	for ((i = 1; i <= n; i++)); do
		cports[i]=$(sd_free_port)
		pports[i]=$(sd_free_port)
		initial+="${initial:+,}$prefix$i=http://127.0.0.1:${pports[i]}"
		endpoints+="${endpoints:+,}http://127.0.0.1:${cports[i]}"
		members+="${members:+ }$prefix$i"
	done
	for ((i = 1; i <= n; i++)); do
		name=$prefix$i
		mkdir -p "$SD_TMP/$name"
		echo "${cports[i]} ${pports[i]}" >"$SD_TMP/$name/ports"
		echo "$initial" >"$SD_TMP/$name/initial-cluster"
		export "SD_ETCD_URL_$name=http://127.0.0.1:${cports[i]}"
	done
	export SD_ETCD_ENDPOINTS=$endpoints SD_ETCD_ENDPOINT=${endpoints%%,*} SD_ETCD_MEMBERS=$members
	for name in $members; do
		sd_etcd_member_start "$name"
	done
	sd_etcd_wait_healthy
	sd_log "etcd cluster up: $SD_ETCD_ENDPOINTS (leader $(sd_etcd_leader))"
}

# sd_etcd_member_start NAME: start one member (again: same ports and data).
# Does not wait.
sd_etcd_member_start() {
	local name=$1 cport pport
	read -r cport pport <"$SD_TMP/$name/ports"
	sd_bg "$name" etcd --name "$name" \
		--data-dir "$SD_TMP/$name/data" \
		--listen-client-urls "http://127.0.0.1:$cport" \
		--advertise-client-urls "http://127.0.0.1:$cport" \
		--listen-peer-urls "http://127.0.0.1:$pport" \
		--initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "$(cat "$SD_TMP/$name/initial-cluster")" \
		--initial-cluster-token "sd-${SD_TMP##*/}" \
		--initial-cluster-state new \
		--heartbeat-interval 50 --election-timeout 500 \
		--logger zap --log-outputs stderr
}

# sd_etcd_member_status NAME: etcd's /v3/maintenance/status of member NAME.
sd_etcd_member_status() {
	local url=SD_ETCD_URL_$1
	curl -sS --max-time 2 -X POST "${!url}/v3/maintenance/status" -d '{}'
}

# sd_etcd_leader: the name of the member that leads now (its member_id equals
# the leader it reports).
sd_etcd_leader() {
	local name out id leader
	for name in $SD_ETCD_MEMBERS; do
		sd_alive "$name" || continue
		out=$(sd_etcd_member_status "$name" 2>/dev/null) || continue
		id=$(sed -n 's/.*"member_id":"\([0-9]*\)".*/\1/p' <<<"$out")
		leader=$(sed -n 's/.*"leader":"\([0-9]*\)".*/\1/p' <<<"$out")
		if [ -n "$id" ] && [ "$id" = "$leader" ]; then
			echo "$name"
			return 0
		fi
	done
	return 1
}

_sd_etcd_all_healthy() {
	local name url
	for name in $SD_ETCD_MEMBERS; do
		sd_alive "$name" || continue
		url=SD_ETCD_URL_$name
		curl -fsS --max-time 2 "${!url}/health" | grep -q '"health":"true"' || { echo "$name unhealthy"; return 1; }
	done
	sd_etcd_leader >/dev/null
}

# sd_etcd_wait_healthy [TIMEOUT_S]: every running member healthy, one leads.
sd_etcd_wait_healthy() {
	sd_wait_for "etcd cluster healthy with a leader" "${1:-90}" _sd_etcd_all_healthy
}

# ---------------------------------------------------------------- the three views

# sd_view_docker SERVICE DOCKERD=ADDR...: "ADDR:PORT" per running container
# labelled smartdock.service=SERVICE, sorted (PORT from its smartdock.port
# label). ADDR is the address the registrator of that dockerd advertises.
sd_view_docker() {
	local svc=$1 arg d addr
	shift
	for arg in "$@"; do
		d=${arg%%=*}
		addr=${arg#*=}
		sd_docker "$d" ps --filter "label=smartdock.service=$svc" --format '{{.Label "smartdock.port"}}' |
			sed "s/^/$addr:/"
	done | sort
}

# sd_view_registry zk|etcd SERVICE: "HOST:PORT" per registration of SERVICE
# under /smartdock/services, sorted, duplicates kept (so they show).
sd_view_registry() {
	local kind=$1 svc=$2
	case $kind in
	zk)
		sd_zkctl dump "/smartdock/services/$svc" 2>/dev/null |
			sed -n 's/.*"host":"\([^"]*\)".*"port":\([0-9]*\).*/\1:\2/p' | sort
		;;
	etcd)
		local k
		for k in $(sd_etcd_keys "/smartdock/services/$svc/"); do
			sd_etcd_get "$k" | sed -n 's/.*"host":"\([^"]*\)".*"port":\([0-9]*\).*/\1:\2/p'
		done | sort
		;;
	*) sd_fail "sd_view_registry: unknown registry '$kind'" ;;
	esac
}

# sd_view_haproxy SOCKET BACKEND: "ADDR:PORT" per server of BACKEND that
# HAProxy would send new requests to (not in maintenance, not draining),
# sorted.
sd_view_haproxy() {
	# show servers state: field 6 srv_op_state, 7 srv_admin_state; admin 0 is
	# ready (drain and maint are bit flags)
	sd_hap_cli "$1" "show servers state $2" |
		awk 'NF > 10 && $1 !~ /^#/ && $7 == 0 { print $5 ":" $19 }' | sort
}

# sd_views_check SERVICE SOCKET BACKEND zk|etcd DOCKERD=ADDR...: true when
# Docker's running containers, the registry's entries and HAProxy's ready
# servers are the same set, with no duplicate in the registry. Prints the
# three views when they differ.
sd_views_check() {
	local svc=$1 sock=$2 backend=$3 kind=$4 docker registry haproxy
	shift 4
	docker=$(sd_view_docker "$svc" "$@")
	registry=$(sd_view_registry "$kind" "$svc")
	haproxy=$(sd_view_haproxy "$sock" "$backend")
	if [ "$docker" = "$registry" ] && [ "$registry" = "$haproxy" ] &&
		[ -z "$(uniq -d <<<"$registry")" ]; then
		return 0
	fi
	printf 'docker:   %s\nregistry: %s\nhaproxy:  %s\n' "$(echo $docker)" "$(echo $registry)" "$(echo $haproxy)"
	return 1
}

# sd_views_agree SERVICE SOCKET BACKEND zk|etcd DOCKERD=ADDR... : wait (60 s)
# until the three views agree; fail the test naming them if they do not.
sd_views_agree() {
	sd_wait_for "Docker, the registry and HAProxy agree on '$1'" 60 sd_views_check "$@"
	sd_log "views agree on '$1': $(sd_view_registry "$4" "$1" | wc -l) instances"
}
