#!/usr/bin/env bash
# deploy/demo.sh: the origin article's demo, across two Docker hosts.
#
#   sudo deploy/demo.sh
#
# The article ("Service discovery with Docker", Synapse + HAProxy) runs a
# node app answering "Hello from <container id>" on port 8000, puts HAProxy on
# port 8080 in front of it, curls it in a loop and `docker stop`s a container.
# It has two flaws: every container must run on the one Docker host Synapse
# polls, and a stopped container gives 503s until the next poll. Here the same
# scenario runs on two simulated hosts, all on loopback:
#
#   ZooKeeper                127.0.0.1 (a free port)
#   host1: dockerd + smartdock-registrator, advertising 127.0.0.2
#   host2: dockerd + smartdock-registrator, advertising 127.0.0.3
#   smartdock-watcher + HAProxy on 127.0.0.1:8080 (another port if 8080 is taken)
#
# Each registrator turns the kill event of `docker stop` into the removal of
# the container's ephemeral znode, before the app is gone, so no request fails.
#
# On a fresh Debian 12 it first installs what is missing (apt-get) and builds
# smartdock into build-demo/ (Release). Everything runs from a temp dir under
# /tmp and is torn down on exit, Ctrl-C included; the daemons' logs and
# configs stay there (DEMO_KEEP_LOGS=0 removes them too). Takes about 25 s
# once built.
#
# The servers are started with deploy/lib/loopback.sh (which the e2e tests
# use too).
set -eE -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build-demo
DEMO_KEEP_LOGS=${DEMO_KEEP_LOGS:-1}
# the app ignores SIGTERM (1, like the article's) or exits at once (0)
DEMO_IGNORE_TERM=${DEMO_IGNORE_TERM:-1}
STOP_TIMEOUT=3 # docker stop -t: how long docker waits before SIGKILL

say() { printf '== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
	echo "demo.sh: needs root (dockerd, mounts): sudo $0" >&2
	exit 1
fi

# ---------------------------------------------------------------- install, build

. "$ROOT/deploy/lib/deps.sh"
packages=(build-essential cmake pkg-config libzookeeper-mt-dev libcurl4-openssl-dev libssl-dev
	libcjson-dev libmicrohttpd-dev libyaml-dev libc-ares-dev zookeeper docker.io haproxy busybox-static curl iproute2 procps)
say "packages: installing whatever is missing of ${packages[*]}"
SD_DEPS_NAME=demo.sh sd_install_packages "${packages[@]}"

say "building smartdock into $BUILD (Release)"
mkdir -p "$BUILD"
if ! { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSMARTDOCK_SANITIZE=OFF \
	-DSMARTDOCK_TESTS=OFF && cmake --build "$BUILD" -j2; } >"$BUILD/demo-build.log" 2>&1; then
	tail -n 30 "$BUILD/demo-build.log" >&2
	echo "demo.sh: build failed, see $BUILD/demo-build.log" >&2
	exit 1
fi

# ---------------------------------------------------------------- harness

export SMARTDOCK_BUILD_DIR=$BUILD SMARTDOCK_SOURCE_DIR=$ROOT
. "$ROOT/deploy/lib/loopback.sh"

# lib.sh's messages, indented under the demo's steps
sd_log() {
	case $* in "SD_KEEP=1: kept "* | "temp dir "*) return 0 ;; esac
	printf '   %s\n' "$*" >&2
}

# fds 7 and 8: the demo's stdout and stderr. The background curl loop prints
# to 7 (sd_bg sends stdout to a log), and the traps restore both: a signal
# may arrive while a function runs with its output redirected, as in
# `sd_docker ... >/dev/null`, and the trap runs inside that redirection.
exec 7>&1 8>&2

sd_setup
# sd_setup's traps, made quieter for a demo: Ctrl-C tears down without
# dumping every log (a real failure still does), and the logs are kept.
DEMO_INTERRUPTED=0
trap 'exec 1>&7 2>&8; DEMO_INTERRUPTED=1; printf "\n"; say "interrupted: tearing everything down"; exit 130' INT
trap 'exec 1>&7 2>&8; DEMO_INTERRUPTED=1; say "terminated: tearing everything down"; exit 143' TERM
trap 'demo_exit $?' EXIT

SD_TEARDOWN_DEFER_SIGNALS=1
demo_exit() {
	local rc=$1
	exec 1>&7 2>&8
	trap - EXIT ERR
	trap 'sd_log "still tearing down, please wait"' INT TERM
	set +eE
	[ "$rc" = 0 ] && say "tearing down: containers, dockerd, HAProxy, watcher, registrators, ZooKeeper"
	SD_KEEP=1
	if [ "$DEMO_INTERRUPTED" = 1 ]; then sd_teardown 0; else sd_teardown "$rc"; fi
	if grep -qF " $SD_TMP/" /proc/self/mounts; then
		say "mounts are left under $SD_TMP (see above): not removing it"
	elif [ "$DEMO_KEEP_LOGS" = 1 ] && [ -d "$SD_TMP" ]; then
		# keep the logs and configs, not the dockerd data roots
		find "$SD_TMP" -mindepth 1 -maxdepth 1 ! -name '*.log' ! -name '*.json' \
			! -name '*.cfg' ! -name '*.txt' -exec rm -rf {} +
		say "logs and configs kept in $SD_TMP (rm -rf it when done)"
	else
		rm -rf "$SD_TMP"
	fi
	exit "$rc"
}

say "temp dir $SD_TMP: configs, and every daemon's log as <name>.log"

# ---------------------------------------------------------------- ZooKeeper

say "ZooKeeper"
sd_zk_start
note "log: $SD_TMP/zk.log"

# ---------------------------------------------------------------- two Docker hosts

# A private dockerd per simulated host: no bridge, no iptables, vfs storage,
# its own data and exec roots and containerd namespace; containers use the
# host network and listen on their host's loopback address.
declare -A HOST_ADDR=([host1]=127.0.0.2 [host2]=127.0.0.3)
for h in host1 host2; do
	say "$h: dockerd (address ${HOST_ADDR[$h]})"
	sd_dockerd_start "$h"
	note "log: $SD_TMP/dockerd-$h.log"
done

# The app port: 8000 as in the article, unless something listens there.
APP_PORT=$(sd_free_port 8000)
[ "$APP_PORT" = 8000 ] || note "port 8000 is taken on this machine: the app uses port $APP_PORT"

# The article's image: busybox + a tiny HTTP server (deploy/lib/hello.c) +
# /run.sh, committed as local/nodeapp like the article does. Like the
# article's /run.sh (a shell as PID 1 ignores SIGTERM), the app ignores
# SIGTERM: `docker stop` SIGKILLs it after its timeout, and it serves meanwhile.
cat >"$SD_TMP/run.sh" <<'EOF'
#!/bin/sh
# "Hello from <container id>" on $ADDR:$PORT. The container shares its host's
# network, and so its hostname: take the id from the /etc/hostname mount.
id=$(sed -n 's#.*/containers/\([0-9a-f]\{12\}\)[0-9a-f]*/hostname .*#\1#p' /proc/self/mountinfo)
[ "${IGNORE_TERM:-1}" = 1 ] && set -- --ignore-term
exec /bin/hello "${ADDR:-127.0.0.1}" "${PORT:-8000}" "${id:-$(hostname)}" "$@"
EOF
chmod 755 "$SD_TMP/run.sh"
for h in host1 host2; do
	sd_image "$h"
	sd_docker "$h" create --name nodeapp-build --network none "$SD_IMAGE" true >/dev/null
	sd_docker "$h" cp "$SD_TMP/run.sh" nodeapp-build:/run.sh
	sd_docker "$h" commit --change 'CMD ["/run.sh"]' nodeapp-build local/nodeapp >/dev/null
	sd_docker "$h" rm nodeapp-build >/dev/null
done
say "image local/nodeapp on both hosts (busybox + hello server + /run.sh, via docker commit)"

# ---------------------------------------------------------------- registrators

# One per host: containers of image local/nodeapp serving port 8000 become
# ephemeral znodes under /smartdock/services/nodesrv, in Nerve's JSON.
for h in host1 host2; do
	cat >"$SD_TMP/registrator-$h.json" <<EOF
{
  "docker": {"host": "unix://$SD_TMP/$h/docker.sock"},
  "advertise_host": "${HOST_ADDR[$h]}",
  "registry": {
    "type": "zookeeper",
    "hosts": ["$SD_ZK_ADDR"],
    "path": "/smartdock/services",
    "session_timeout_ms": 10000
  },
  "services": {
    "nodesrv": {"image_name": "local/nodeapp", "container_port": $APP_PORT}
  }
}
EOF
	"$SD_BIN/smartdock-registrator" --check -c "$SD_TMP/registrator-$h.json" >/dev/null
	sd_bg "registrator-$h" "$SD_BIN/smartdock-registrator" -v -c "$SD_TMP/registrator-$h.json"
	say "$h: smartdock-registrator, advertising ${HOST_ADDR[$h]}"
	note "config: $SD_TMP/registrator-$h.json, log: $SD_TMP/registrator-$h.log"
done

# ---------------------------------------------------------------- watcher + HAProxy

LB_PORT=$(sd_free_port 8080)
URL=http://127.0.0.1:$LB_PORT/

# watcher_config FILE HAPROXY_EXTRA: the article's Synapse config, with
# ZooKeeper discovery instead of the Docker API, and a haproxy.cfg of our own.
watcher_config() {
	cat >"$1" <<EOF
{
  "services": {
    "nodesrv": {
      "discovery": {
        "method": "zookeeper",
        "hosts": ["$SD_ZK_ADDR"],
        "path": "/smartdock/services/nodesrv"
      },
      "haproxy": {
        "port": $LB_PORT,
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
    $2,
    "config_file_path": "$SD_TMP/haproxy.cfg",
    "do_writes": true,
    "restart_interval": 0.5,
    "global": ["maxconn 1024"],
    "defaults": [
      "contimeout 5000",
      "clitimeout 50000",
      "srvtimeout 50000"
    ]
  }
}
EOF
}

# How HAProxy is run: the watcher runs it ("managed": true), in master-worker
# mode, and changes its servers through the runtime API on the stats socket:
# a container that stops leaves HAProxy without a reload.
start_watcher_and_haproxy() {
	watcher_config "$SD_TMP/watcher.json" \
		"\"managed\": true, \"socket_file_path\": \"$SD_TMP/haproxy.sock\""
	sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
	sd_wait_for "HAProxy listening on $LB_PORT" 30 sd_port_open 127.0.0.1 "$LB_PORT"
}

say "smartdock-watcher config (the article's, with zookeeper discovery): its check says"
watcher_config "$SD_TMP/watcher.json" '"managed": true'
"$SD_BIN/smartdock-watcher" --check -c "$SD_TMP/watcher.json" 2>&1 |
	sed -E 's/^[0-9T:.-]+Z +//; s#'"$SD_TMP"'/##; s/^/   /'

say "HAProxy on 127.0.0.1:$LB_PORT, and smartdock-watcher rewriting and reloading it"
start_watcher_and_haproxy
[ "$LB_PORT" = 8080 ] || note "port 8080 is taken on this machine: HAProxy listens on $LB_PORT instead"
note "config: $SD_TMP/watcher.json, log: $SD_TMP/watcher.log"
note "haproxy.cfg: $SD_TMP/haproxy.cfg (HAProxy runs as the watcher's child; its output is in watcher.log)"

# ---------------------------------------------------------------- the scenario

declare -A HOST_OF=() ID_ON=()
docker_run() { # docker_run HOST: start one local/nodeapp container on HOST
	local h=$1 id
	local -a env=(-e "ADDR=${HOST_ADDR[$h]}")
	[ "$APP_PORT" = 8000 ] || env+=(-e "PORT=$APP_PORT")
	[ "$DEMO_IGNORE_TERM" = 1 ] || env+=(-e IGNORE_TERM=0)
	id=$(sd_docker "$h" run -d --network host "${env[@]}" local/nodeapp /run.sh)
	id=${id:0:12}
	HOST_OF[$id]=$h
	ID_ON[$h]=$id
	say "$h: docker run -d --network host ${env[*]} local/nodeapp /run.sh → $id"
}

# haproxy_serves N: haproxy.cfg has exactly N servers, among them every
# container started so far.
haproxy_serves() {
	local id n
	n=$(grep -c '^[[:space:]]*server ' "$SD_TMP/haproxy.cfg" || true)
	[ "$n" = "$1" ] || return 1
	for id in "${!HOST_OF[@]}"; do
		grep -q "_${id}" "$SD_TMP/haproxy.cfg" || return 1
	done
}

# curl_loop COUNT: COUNT requests through HAProxy, one every 0.2 s, each
# answer printed (to fd 7, the terminal) and recorded in requests.txt with
# the current phase (the contents of the file phase).
curl_loop() {
	local count=$1 i out code body who phase
	for ((i = 0; i < count; i++)); do
		phase=$(cat "$SD_TMP/phase")
		out=$(curl -s --max-time 2 -w '\n%{http_code}' "$URL" 2>/dev/null) || true
		code=${out##*$'\n'}
		body=${out%$'\n'*}
		body=${body%$'\n'}
		if [ "$code" = 200 ]; then
			who=${body#Hello from }
			printf '%s %s\n' "$phase" "$who" >>"$SD_TMP/requests.txt"
			printf '   %s  %s  (%s)\n' "$(date -u +%H:%M:%S.%1N)" "$body" "${HOST_OF[$who]:-?}" >&7
		else
			printf '%s FAILED\n' "$phase" >>"$SD_TMP/requests.txt"
			printf '   %s  FAILED: HTTP %s\n' "$(date -u +%H:%M:%S.%1N)" "${code:-000}" >&7
		fi
		sleep 0.2
	done
}

docker_run host1
docker_run host2
sd_wait_for "both containers in haproxy.cfg" 30 haproxy_serves 2
say "both registered in ZooKeeper and in haproxy.cfg:"
sd_zkcli ls /smartdock/services/nodesrv | tr -d '[]' | tr ', ' '\n\n' | grep . | sed 's/^/   znode: /'
grep -E '^[[:space:]]*server ' "$SD_TMP/haproxy.cfg" | sed -E 's/^[[:space:]]*/   /'

echo both >"$SD_TMP/phase"
say "while :; do curl $URL; sleep 0.2; done   (3 s; times in UTC, like the logs)"
curl_loop 15

victim=${ID_ON[host1]}
say "the same loop, in the background now (6 s)"
sd_bg curl-loop curl_loop 30
sleep 1
echo stopping >"$SD_TMP/phase"
stop_at=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
say "host1: docker stop -t $STOP_TIMEOUT $victim"
if [ "$DEMO_IGNORE_TERM" = 1 ]; then
	note "(like the article's, the app ignores SIGTERM: docker SIGKILLs it after $STOP_TIMEOUT s)"
else
	note "(DEMO_IGNORE_TERM=0: the app exits at SIGTERM)"
fi
sd_docker host1 stop -t "$STOP_TIMEOUT" "$victim" >/dev/null
echo after >"$SD_TMP/phase"
say "host1: $victim stopped"
loop_done() { ! sd_alive curl-loop; }
# 30 requests of at most 2 s each: generous, for a loaded machine
sd_wait_for "the background curl loop to finish" 120 loop_done

say "what the daemons logged meanwhile:"
for f in registrator-host1 registrator-host2 watcher; do
	awk -v t="$stop_at" -v who="$f" '$1 >= t && $2 == "info" {
		ts = substr($1, 12, 12); $1 = ""; $2 = ""; $3 = ""; sub(/^ +/, "")
		printf "   %s  %-17s %s\n", ts, who, $0 }' "$SD_TMP/$f.log"
done | sort | sed "s#$SD_TMP/##g"

# ---------------------------------------------------------------- summary

# summary PHASE TITLE: one line about the requests of PHASE.
summary() {
	local phase=$1 sent id
	sent=$(grep -c "^$phase " "$SD_TMP/requests.txt" || true)
	printf '   %-34s %2d sent: ' "$2" "$sent"
	for id in "${ID_ON[host1]}" "${ID_ON[host2]}"; do
		printf '%2d by %s (%s), ' "$(grep -c "^$phase $id$" "$SD_TMP/requests.txt" || true)" \
			"$id" "${HOST_OF[$id]}"
	done
	printf '%d failed\n' "$(grep -c "^$phase FAILED$" "$SD_TMP/requests.txt" || true)"
}
total=$(wc -l <"$SD_TMP/requests.txt")
total_failed=$(grep -c ' FAILED$' "$SD_TMP/requests.txt" || true)
say "summary: $total requests through HAProxy, $total_failed failed"
summary both "both containers running:"
summary stopping "during docker stop:"
summary after "after it:"
if [ "$total_failed" = 0 ] && [ "$DEMO_IGNORE_TERM" = 1 ]; then
	note "No request failed: host1's registrator withdrew $victim at docker's kill"
	note "event, while the app still served, and HAProxy stopped sending it requests."
elif [ "$total_failed" = 0 ]; then
	note "No request failed: host1's registrator withdrew $victim at docker's kill"
	note "event; a request racing the app's exit is retried on host2 by HAProxy"
	note "(retry-on conn-failure and option redispatch, in the rendered listen section)."
else
	note "Failed requests: see $SD_TMP/registrator-host1.log and watcher.log."
fi
