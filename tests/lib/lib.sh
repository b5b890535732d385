# tests/lib/lib.sh: the e2e harness, sourced by every tests/e2e/tNNNN-*.sh.
#
# A test script looks like:
#
#   #!/usr/bin/env bash
#   . "$(dirname "$0")/../lib/lib.sh"
#   . "$(dirname "$0")/../lib/smartdock.sh"
#   sd_world zk d1
#   ...
#   sd_wait_for "nodesrv registered" 30 sd_zkcli ls /smartdock/services/nodesrv
#
# The servers, processes, ports and teardown are deploy/lib/loopback.sh's
# (the demo runs on the same functions); what is here only tests need:
# skipping when not root, etcd and a plain HAProxy.

SD_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../deploy/lib/loopback.sh
. "$SD_LIB_DIR/../../deploy/lib/loopback.sh"

sd_need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: $SD_TEST_NAME needs root (dockerd, mounts)"
		exit 0
	fi
}

# ---------------------------------------------------------------- etcd

# sd_etcd_start [NAME]: single-node etcd 3.4 on 127.0.0.1, data in
# $SD_TMP/NAME (default "etcd"). Exports SD_ETCD_ENDPOINT.
sd_etcd_start() {
	_sd_need_setup
	sd_need_cmd etcd
	local name=${1:-etcd} dir cport pport
	dir=$SD_TMP/$name
	if [ -f "$dir/ports" ]; then
		read -r cport pport <"$dir/ports"
	else
		mkdir -p "$dir"
		cport=$(sd_free_port)
		pport=$(sd_free_port)
		echo "$cport $pport" >"$dir/ports"
	fi
	sd_bg "$name" etcd --name "$name" \
		--data-dir "$dir/data" \
		--listen-client-urls "http://127.0.0.1:$cport" \
		--advertise-client-urls "http://127.0.0.1:$cport" \
		--listen-peer-urls "http://127.0.0.1:$pport" \
		--initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "$name=http://127.0.0.1:$pport" \
		--initial-cluster-state new \
		--logger zap --log-outputs stderr
	export SD_ETCD_ENDPOINT=http://127.0.0.1:$cport
	sd_wait_for "etcd '$name' healthy at $SD_ETCD_ENDPOINT" 60 _sd_etcd_healthy "$name"
	sd_log "etcd '$name' up at $SD_ETCD_ENDPOINT"
}

_sd_etcd_healthy() {
	sd_alive "$1" || { echo "etcd process exited"; return 1; }
	curl -fsS --max-time 2 "$SD_ETCD_ENDPOINT/health" | grep -q '"health":"true"'
}

sd_etcd_stop() {
	sd_kill "${1:-etcd}" TERM
}

sd_etcd_restart() {
	local name=${1:-etcd}
	sd_etcd_stop "$name"
	sd_etcd_start "$name"
}

# ---------------------------------------------------------------- HAProxy

# sd_haproxy_start CFG: HAProxy in master-worker mode, in the foreground of
# a background process (logs in $SD_TMP/haproxy.log), master CLI on
# $SD_TMP/haproxy/master.sock. Waits until the worker listens.
sd_haproxy_start() {
	_sd_need_setup
	sd_need_cmd haproxy
	local cfg=$1 out
	[ -f "$cfg" ] || sd_fail "sd_haproxy_start: no config '$cfg'"
	mkdir -p "$SD_TMP/haproxy"
	out=$(haproxy -c -q -f "$cfg" 2>&1) || sd_fail "haproxy rejects $cfg: $out"
	sd_bg haproxy haproxy -W -db -f "$cfg" -S "$SD_TMP/haproxy/master.sock"
	sd_wait_for "haproxy listening" 30 _sd_haproxy_listening
	sd_log "haproxy up (master pid $(sd_pid haproxy))"
}

# True once a haproxy worker (a child of the master) has a listening socket.
_sd_haproxy_listening() {
	local master w
	sd_alive haproxy || { echo "haproxy exited"; return 1; }
	master=$(sd_pid haproxy)
	for w in $(pgrep -P "$master" 2>/dev/null); do
		ss -Hltnp 2>/dev/null | grep "pid=$w," >/dev/null && return 0
	done
	return 1
}

# sd_haproxy_pid: the master's pid (send it USR2 to reload).
sd_haproxy_pid() {
	sd_pid haproxy
}

# sd_haproxy_reload_cmd: a reload_command for that HAProxy: "reload" on its
# master CLI. Its master silently drops a USR2 that comes while it is still
# re-executing itself (3 USR2s 300 ms apart made 2 reloads); a "reload" then
# fails to connect instead, which the watcher logs and retries (30 of them
# at random short gaps: 28 answered, 28 reloads). Tests that configure a
# stats socket may keep USR2: the watcher confirms each reload there (t0404).
sd_haproxy_reload_cmd() {
	echo "$SD_BIN/smartdock-watcher --cli $SD_TMP/haproxy/master.sock reload"
}

sd_haproxy_stop() {
	sd_kill haproxy TERM
}


# ---------------------------------------------------------------- worlds

# sd_world REGISTRIES [DOCKERD...]: the start of most scenarios, after
# sourcing: skip unless root, the temp dir and its teardown, the registries
# ("zk", "etcd", both as "zk,etcd", or "-" for none), then a private dockerd
# per name, each with the hello image ($SD_IMAGE).
#   sd_world zk d1        # ZooKeeper and dockerd d1
#   sd_world etcd d1 d2   # etcd and two dockerds
sd_world() {
	local registries=$1 r d
	shift
	sd_need_root
	sd_setup
	for r in ${registries//,/ }; do
		case $r in
		zk) sd_zk_start ;;
		etcd) sd_etcd_start ;;
		-) ;;
		*) sd_fail "sd_world: registries are zk, etcd, zk,etcd or -, not '$r'" ;;
		esac
	done
	for d in "$@"; do sd_dockerd_start "$d"; done
	for d in "$@"; do sd_image "$d"; done
}
