# deploy/lib/loopback.sh: real servers on loopback, in a temp dir, torn down
# however the script ends. deploy/demo.sh runs on it, and the e2e harness
# (tests/lib/lib.sh) sources it and adds what only tests need.
#
#   . deploy/lib/loopback.sh
#   sd_setup
#   sd_zk_start
#   sd_dockerd_start d1
#   sd_image d1
#   ...
#   sd_wait_for "nodesrv registered" 30 sd_zkcli ls /smartdock/services/nodesrv
#
# Every server runs from a fresh temp dir $SD_TMP (short, under /tmp, because
# of the 108-byte unix socket path limit) and talks only on 127.0.0.0/8.
# sd_setup installs a trap that tears everything down however the script
# ends; a failing script prints the tail of every log under $SD_TMP. SD_KEEP=1
# keeps $SD_TMP (servers are still stopped). SD_VERBOSE=1 traces the script.
#
# The script runs with `set -eE -o pipefail`: any unexpected failing command
# fails it, with its line number. Never sleep waiting for something: poll for
# it with sd_wait_for and a generous deadline.
#
# Background processes are children of the calling shell: call the
# sd_*_start functions and sd_bg from the script itself, never inside $(...)
# or a pipe.

set -eE -o pipefail
[ "${SD_VERBOSE:-0}" = 1 ] && set -x

SD_DEPLOY_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SD_SOURCE_DIR=${SMARTDOCK_SOURCE_DIR:-$(cd "$SD_DEPLOY_LIB_DIR/../.." && pwd)}
SD_BIN=${SMARTDOCK_BUILD_DIR:-$SD_SOURCE_DIR/build-test}
SD_TEST_NAME=$(basename "$0" .sh)
# Debian's docker CLI matches Debian's dockerd; another docker earlier in PATH
# (a newer docker-ce CLI in /usr/local/bin, say) is not what we test against.
SD_DOCKER_CLI=${SD_DOCKER_CLI:-/usr/bin/docker}
SD_IMAGE=smartdock/hello:latest
SD_PORTS_DIR=/tmp/sd-ports
SD_TMP=
SD_TORN_DOWN=0

# ---------------------------------------------------------------- messages

sd_log() {
	local ts
	ts=$(date +%H:%M:%S.%3N)
	printf '[%s] %s: %s\n' "$ts" "$SD_TEST_NAME" "$*" >&2
}

sd_fail() {
	sd_log "FAIL: $*"
	exit 1
}

# sd_need_cmd CMD...: a missing tool is a failure, not a skip (tests/run.sh
# and deploy/demo.sh install what they need).
sd_need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || sd_fail "missing '$c' (tests/run.sh and deploy/demo.sh install it)"
	done
}

# ERR trap: name the failing command and where it was called from.
_sd_on_err() {
	local where i n=${#FUNCNAME[@]}
	where="${BASH_SOURCE[1]##*/}:$2"
	for ((i = 1; i < n - 1; i++)); do
		where+=" in ${FUNCNAME[i]}, called from ${BASH_SOURCE[i + 1]##*/}:${BASH_LINENO[i]}"
	done
	sd_log "command failed (exit $1) at $where: $3"
}

# ---------------------------------------------------------------- setup

# sd_setup: make $SD_TMP and arm the teardown trap.
sd_setup() {
	SD_TMP=$(mktemp -d /tmp/sd.XXXXXX)
	mkdir -p "$SD_TMP/.pids" "$SD_TMP/.docker"
	: >"$SD_TMP/.stack"
	: >"$SD_TMP/.ports"
	: >"$SD_TMP/.pgids"
	export SD_TMP SD_BIN
	trap '_sd_on_err $? $LINENO "$BASH_COMMAND"' ERR
	trap 'sd_teardown $?' EXIT
	trap 'sd_log "interrupted"; exit 130' INT
	trap 'sd_log "terminated"; exit 143' TERM
	# No script is sent these; one that comes anyway is stray (a kill of a
	# pid this script has taken since), and would end it without a word:
	# bash runs the EXIT trap with status 0 after a fatal signal, so the
	# logs went unprinted (CI lost a run of t1301 so). Say so, carry on.
	local sig
	for sig in HUP USR1 USR2 ALRM PIPE; do
		# shellcheck disable=SC2064
		trap "sd_log 'stray SIG$sig to the test script: ignored'" "$sig"
	done
	sd_log "temp dir $SD_TMP, binaries from $SD_BIN"
}

# Things to stop at teardown, in reverse order: lines "bg NAME" or
# "dockerd NAME".
_sd_push() {
	grep -qxF "$*" "$SD_TMP/.stack" 2>/dev/null || echo "$*" >>"$SD_TMP/.stack"
}

_sd_need_setup() {
	if [ -z "$SD_TMP" ] || [ ! -d "$SD_TMP" ]; then
		sd_fail "call sd_setup first"
	fi
}

# sd_teardown [STATUS]: stop everything started, newest first, kill whatever
# still runs from $SD_TMP, unmount what dockerd left there and remove it.
# Idempotent. With a non-zero STATUS, print the tail of every log first.
# SIGINT and SIGTERM interrupt it, unless SD_TEARDOWN_DEFER_SIGNALS=1 (then
# they are logged and teardown carries on; for scripts run by hand).
sd_teardown() {
	local status=${1:-0} opts=$-
	[ "$SD_TORN_DOWN" = 1 ] && return 0
	SD_TORN_DOWN=1
	set +eE
	trap - ERR
	if [ "${SD_TEARDOWN_DEFER_SIGNALS:-0}" = 1 ]; then
		# an impatient Ctrl-C must not leave half the servers running
		trap 'sd_log "still tearing down, please wait"' INT TERM
	else
		trap - INT TERM
	fi
	if [ -z "$SD_TMP" ] || [ ! -d "$SD_TMP" ]; then
		return 0
	fi
	_sd_teardown_all "$status"
	# called from the script rather than the EXIT trap: carry on as before
	if [[ $opts == *e* ]]; then
		set -eE
		trap '_sd_on_err $? $LINENO "$BASH_COMMAND"' ERR
	fi
	return 0
}

_sd_teardown_all() {
	local status=$1 line kind name f

	if [ "$status" != 0 ]; then
		sd_log "test failed (exit $status); logs under $SD_TMP:"
		while IFS= read -r f; do
			printf '\n----- %s (last 40 lines) -----\n' "${f#"$SD_TMP"/}" >&2
			tail -n 40 "$f" >&2
		done < <(find "$SD_TMP" -name '*.log' -type f 2>/dev/null | sort)
		printf '\n' >&2
	fi

	while IFS= read -r line; do
		kind=${line%% *}
		name=${line#* }
		case $kind in
		dockerd) _sd_dockerd_teardown "$name" ;;
		bg) sd_kill "$name" TERM ;;
		esac
	done < <(tac "$SD_TMP/.stack" 2>/dev/null)

	# what the sd_bg processes left in their process groups; a group whose
	# number a new process leads now is someone else's (while any member
	# of ours lives, the number is not handed out again)
	local pgid start
	while read -r pgid start; do
		_sd_pid_reused "$pgid" "$start" && continue
		kill -KILL -- "-$pgid" 2>/dev/null || true
	done <"$SD_TMP/.pgids"
	_sd_kill_tree "$SD_TMP/"
	_sd_umount_under "$SD_TMP"
	while IFS= read -r line; do
		rm -f "$SD_PORTS_DIR/$line"
	done <"$SD_TMP/.ports"

	if [ "${SD_KEEP:-0}" = 1 ]; then
		sd_log "SD_KEEP=1: kept $SD_TMP"
	elif ! rm -rf "$SD_TMP"; then
		sd_log "could not remove $SD_TMP"
	fi
	return 0
}

# _sd_kill_tree PATTERN: SIGKILL every process whose command line contains
# PATTERN, and all their descendants (container processes live under the
# containerd shims, in their own pid namespace). Never this shell.
_sd_kill_tree() {
	local pids round
	for round in 1 2 3; do
		pids=$(ps -eo pid=,ppid=,args= | SD_PAT=$1 SD_SELF="$$ $BASHPID" awk '
			BEGIN { n = split(ENVIRON["SD_SELF"], s, " "); for (i = 1; i <= n; i++) self[s[i]] = 1 }
			{
				pid = $1; ppid[pid] = $2; $1 = ""; $2 = ""
				if (index($0, ENVIRON["SD_PAT"]) && !(pid in self)) hit[pid] = 1
			}
			END {
				do {
					more = 0
					for (p in ppid) if (!(p in hit) && (ppid[p] in hit) && !(p in self)) { hit[p] = 1; more = 1 }
				} while (more)
				for (p in hit) print p
			}')
		[ -z "$pids" ] && return 0
		sd_log "killing leftover processes: $(ps -o pid=,comm= -p "$(paste -sd, <<<"$pids")" 2>/dev/null | tr -s ' \n' ' ')"
		# shellcheck disable=SC2086
		kill -9 $pids 2>/dev/null || true
		sleep 0.2
	done
	return 0
}

# _sd_umount_under DIR: unmount every mount point under DIR, deepest first.
_sd_umount_under() {
	local dir=$1 mp round
	for round in 1 2 3 4 5; do
		local -a mps=()
		while IFS= read -r mp; do
			mps+=("$mp")
		done < <(awk -v d="$dir/" 'index($2, d) == 1 { print length($2) " " $2 }' /proc/self/mounts |
			sort -rn | cut -d' ' -f2- | while IFS= read -r m; do printf '%b\n' "$m"; done)
		[ ${#mps[@]} = 0 ] && return 0
		for mp in "${mps[@]}"; do
			umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
		done
	done
	sd_log "mounts left under $dir:"
	grep -F " $dir/" /proc/self/mounts >&2 || true
}

# ---------------------------------------------------------------- processes

# sd_bg NAME CMD...: start CMD in the background, in its own session and
# process group, output to $SD_TMP/NAME.log (appended, so a restart keeps the
# history). Stopped at teardown, together with anything left in its group.
sd_bg() {
	_sd_need_setup
	local name=$1 start
	shift
	[[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || sd_fail "sd_bg: bad name '$name'"
	if sd_alive "$name"; then
		sd_fail "sd_bg: '$name' is already running (pid $(sd_pid "$name"))"
	fi
	echo "=== $(date +%H:%M:%S.%3N) start: $*" >>"$SD_TMP/$name.log"
	if [ "$(type -t "$1")" = file ]; then
		# not a group leader (no job control), so setsid execs in place and
		# $! is CMD's pid and its process group id
		setsid "$@" >>"$SD_TMP/$name.log" 2>&1 </dev/null &
		start=$(_sd_start_time $!)
		echo "$! $start" >>"$SD_TMP/.pgids"
	else
		"$@" >>"$SD_TMP/$name.log" 2>&1 </dev/null &
		start=$(_sd_start_time $!)
	fi
	echo $! >"$SD_TMP/.pids/$name"
	echo "$start" >"$SD_TMP/.pids/$name.start"
	# no "Killed" job notices from bash; it still reaps the process
	disown $!
	_sd_push bg "$name"
}

# _sd_start_time PID: when PID started (clock ticks after boot, field 22 of
# /proc/PID/stat, read after the ")" that ends its name); empty if gone. A
# pid is reused within seconds here (pid_max 32768; every ZooKeeper and
# dockerd thread takes one), so a pid alone does not name a process.
_sd_start_time() {
	local stat f
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
	read -ra f <<<"${stat##*) }"
	echo "${f[19]}"
}

# _sd_pid_reused PID START: a process has PID now, but it started at another
# time than START (the one we started ended; empty START: not known, so no).
_sd_pid_reused() {
	local now
	[ -n "$2" ] || return 1
	now=$(_sd_start_time "$1")
	[ -n "$now" ] && [ "$now" != "$2" ]
}

# _sd_name_reused NAME: _sd_pid_reused for the process sd_bg started as NAME.
_sd_name_reused() {
	local pid start=
	{ read -r pid <"$SD_TMP/.pids/$1"; } 2>/dev/null || return 1
	{ read -r start <"$SD_TMP/.pids/$1.start"; } 2>/dev/null || true
	_sd_pid_reused "$pid" "$start"
}

# _sd_forget NAME: NAME is stopped; drop what sd_bg recorded of it.
_sd_forget() {
	rm -f "$SD_TMP/.pids/$1" "$SD_TMP/.pids/$1.start"
}

# sd_pid NAME: the pid of a process started with sd_bg.
sd_pid() {
	[ -f "$SD_TMP/.pids/$1" ] || sd_fail "sd_pid: no process named '$1'"
	cat "$SD_TMP/.pids/$1"
}

# _sd_running PID: alive and not a zombie.
_sd_running() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# sd_alive NAME: true while the process started as NAME runs.
sd_alive() {
	[ -f "$SD_TMP/.pids/$1" ] && _sd_running "$(cat "$SD_TMP/.pids/$1")" && ! _sd_name_reused "$1"
}

# _sd_stop_pid PID [DEADLINE_S]: SIGTERM, wait, then SIGKILL (the whole
# process group when PID leads one); reap if ours.
_sd_stop_pid() {
	local pid=$1 deadline=$((SECONDS + ${2:-20}))
	kill -TERM "$pid" 2>/dev/null || true
	while _sd_running "$pid"; do
		if [ $SECONDS -ge "$deadline" ]; then
			sd_log "pid $pid ignored SIGTERM for ${2:-20}s, sending SIGKILL"
			if [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]; then
				kill -KILL -- "-$pid" 2>/dev/null || true
			fi
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$((SECONDS + 10))
			while _sd_running "$pid" && [ $SECONDS -lt "$deadline" ]; do sleep 0.1; done
			break
		fi
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || true
}

# sd_kill NAME [SIG]: send SIG (default TERM) to NAME's process (not its
# children: a daemon that exits leaves its children to itself, as in real
# life; teardown kills them). TERM and KILL also wait until it is gone
# (SIGKILL to the whole group after 20 s) and forget it; other signals (HUP,
# USR2, STOP, CONT...) are only sent.
sd_kill() {
	local name=$1 sig=${2:-TERM} pid
	[ -f "$SD_TMP/.pids/$name" ] || return 0
	pid=$(cat "$SD_TMP/.pids/$name")
	if _sd_name_reused "$name"; then
		# it ended (and was reaped: a pid is reused only then), and its pid
		# is another process's now, maybe another test's: never signal it
		case $sig in
		TERM | SIGTERM | 15 | KILL | SIGKILL | 9)
			_sd_forget "$name"
			return 0
			;;
		*) sd_fail "sd_kill: $name (pid $pid) is no longer running; cannot send $sig" ;;
		esac
	fi
	case $sig in
	TERM | SIGTERM | 15)
		_sd_stop_pid "$pid"
		_sd_forget "$name"
		;;
	KILL | SIGKILL | 9)
		kill -KILL "$pid" 2>/dev/null || true
		while _sd_running "$pid"; do sleep 0.1; done
		wait "$pid" 2>/dev/null || true
		_sd_forget "$name"
		;;
	*)
		kill -s "$sig" "$pid" || sd_fail "sd_kill: cannot send $sig to $name (pid $pid)"
		;;
	esac
}

# ---------------------------------------------------------------- waiting

# sd_wait_for DESC TIMEOUT_S CMD...: run CMD every 0.1 s until it succeeds;
# fail the test with DESC if it has not after TIMEOUT_S seconds. CMD's output
# goes to $SD_TMP/wait.out and the last attempt's is shown on failure.
sd_wait_for() {
	local desc=$1 timeout=$2 start now
	shift 2
	start=$(date +%s%N)
	while :; do
		if "$@" >"$SD_TMP/wait.out" 2>&1; then
			return 0
		fi
		now=$(date +%s%N)
		if [ $(((now - start) / 1000000)) -ge $((timeout * 1000)) ]; then
			sd_log "timed out after ${timeout}s waiting for: $desc"
			sd_log "last attempt: $*"
			sed 's/^/    | /' "$SD_TMP/wait.out" >&2
			sd_fail "$desc"
		fi
		sleep 0.1
	done
}

# ---------------------------------------------------------------- ports

# sd_free_port [PREFERRED]: print a TCP port free on 127.0.0.1, below the
# ephemeral range, not listed by ss, and reserved in /tmp/sd-ports against
# other tests running at the same time (released at teardown). With
# PREFERRED, that port if nothing listens on it (any port number: connections
# in TIME_WAIT do not count), else a random one.
sd_free_port() {
	_sd_need_setup
	local lo=10000 hi eph_lo port i used preferred=${1:-}
	read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range
	hi=$((eph_lo - 1))
	[ $hi -gt $lo ] || { lo=1024; hi=$((eph_lo - 1)); }
	mkdir -p "$SD_PORTS_DIR"
	used=$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
	for i in $(seq 200); do
		if [ -n "$preferred" ] && [ "$i" = 1 ]; then
			port=$preferred
			grep -qx "$port" <<<"$(ss -Hltn 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }')" &&
				continue
		else
			port=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
			grep -qx "$port" <<<"$used" && continue
		fi
		_sd_reserve_port "$port" || continue
		echo "$port"
		return 0
	done
	sd_fail "sd_free_port: no free port found"
}

# _sd_reserve_port PORT: claim PORT in /tmp/sd-ports (a lock file holding our
# pid; a dead owner's claim is taken over) and note it for teardown. False
# if a live process holds it. Shared with tests/bench/bench-lib.sh.
_sd_reserve_port() {
	local port=$1 owner
	mkdir -p "$SD_PORTS_DIR"
	if ! (set -C; echo $$ >"$SD_PORTS_DIR/$port") 2>/dev/null; then
		owner=$(cat "$SD_PORTS_DIR/$port" 2>/dev/null)
		[ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && return 1
		echo $$ >"$SD_PORTS_DIR/$port"
	fi
	echo "$port" >>"$SD_TMP/.ports"
}

# sd_port_open ADDR PORT: true if something accepts TCP connections there.
sd_port_open() {
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# ---------------------------------------------------------------- ZooKeeper

SD_ZK_JAR=/usr/share/java/zookeeper.jar

_sd_zk_classpath() {
	# zookeeper.jar's manifest names its dependencies; add an slf4j binding
	# so the server logs to stderr (our log file) instead of nowhere.
	local binding=${1:-/usr/share/java/slf4j-simple.jar}
	[ -f "$SD_ZK_JAR" ] || sd_fail "missing $SD_ZK_JAR (apt-get install zookeeper)"
	[ -f "$binding" ] || sd_fail "missing $binding (apt-get install libslf4j-java)"
	echo "$SD_ZK_JAR:$binding"
}

# _sd_zk_write_cfg DIR PORT TICK_MS [SERVER_LINES]: DIR/zoo.cfg for a server
# on 127.0.0.1:PORT, data in DIR/data, every four-letter word allowed,
# session timeouts between 2 and 60 s. SERVER_LINES ("server.N=host:peer:
# election", one a line) make it a member of an ensemble; a standalone
# server ignores initLimit and syncLimit.
_sd_zk_write_cfg() {
	local dir=$1 port=$2 tick=$3 servers=${4:-}
	mkdir -p "$dir/data"
	echo "$port" >"$dir/port"
	cat >"$dir/zoo.cfg" <<-EOF
		tickTime=$tick
		initLimit=20
		syncLimit=4
		dataDir=$dir/data
		clientPort=$port
		clientPortAddress=127.0.0.1
		maxClientCnxns=0
		admin.enableServer=false
		4lw.commands.whitelist=*
		minSessionTimeout=2000
		maxSessionTimeout=60000
		$servers
	EOF
}

# _sd_zk_launch NAME HEAP: the ZooKeeper JVM for $SD_TMP/NAME/zoo.cfg as
# background process NAME.
_sd_zk_launch() {
	local name=$1 heap=$2 cp
	cp=$(_sd_zk_classpath)
	sd_bg "$name" java "-Xmx$heap" -XX:+UseSerialGC -XX:-UsePerfData -XX:TieredStopAtLevel=1 \
		-Dorg.slf4j.simpleLogger.showDateTime=true \
		-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS \
		-Dzookeeper.jmx.log4j.disable=true \
		-cp "$cp" org.apache.zookeeper.server.quorum.QuorumPeerMain "$SD_TMP/$name/zoo.cfg"
}

# sd_zk_start [NAME]: standalone ZooKeeper on 127.0.0.1:$SD_ZK_PORT, data in
# $SD_TMP/NAME (default "zk"). Exports SD_ZK_PORT and SD_ZK_ADDR.
sd_zk_start() {
	_sd_need_setup
	sd_need_cmd java
	local name=${1:-zk} dir port
	dir=$SD_TMP/$name
	if [ -f "$dir/port" ]; then
		port=$(cat "$dir/port")
	else
		port=$(sd_free_port)
		_sd_zk_write_cfg "$dir" "$port" 2000
	fi
	_sd_zk_launch "$name" 256m
	export SD_ZK_PORT=$port SD_ZK_ADDR=127.0.0.1:$port
	sd_wait_for "ZooKeeper '$name' serving on $SD_ZK_ADDR" 60 _sd_zk_serving "$port" "$name"
	sd_log "ZooKeeper '$name' up on $SD_ZK_ADDR"
}

# ruok answers imok as soon as the port is open, before the database is
# loaded; srvr names the mode only once the server serves requests.
_sd_zk_serving() {
	sd_alive "$2" || { echo "ZooKeeper process exited"; return 1; }
	sd_zk_4lw srvr "$1" | grep '^Mode: standalone' >/dev/null
}

# sd_zk_4lw WORD [PORT]: print ZooKeeper's answer to a four-letter word
# (ruok, stat, cons, mntr, dump...).
sd_zk_4lw() {
	local port=${2:-$SD_ZK_PORT}
	(
		exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
		printf '%s' "$1" >&3
		timeout 10 cat <&3
	) 2>/dev/null
}

# sd_zk_stop [NAME]
sd_zk_stop() {
	sd_kill "${1:-zk}" TERM
}

# sd_zk_restart [NAME]: same port and data dir; sessions whose timeout has
# not expired survive (their ephemeral nodes too).
sd_zk_restart() {
	local name=${1:-zk}
	sd_zk_stop "$name"
	sd_zk_start "$name"
}

# sd_zkcli CMD...: run one zkCli command (ls /, get /x, create /x data,
# delete /x, stat /x...) against $SD_ZK_ADDR and print its output without
# the connection chatter. Exit status is zkCli's (non-zero on e.g. NoNode).
# A JVM starts each time (~0.5 s): use sparingly.
sd_zkcli() {
	local cp rc=0 out
	cp=$(_sd_zk_classpath /usr/share/java/slf4j-nop.jar)
	out=$(timeout 60 java -Xmx128m -XX:+UseSerialGC -XX:-UsePerfData -XX:TieredStopAtLevel=1 -cp "$cp" \
		org.apache.zookeeper.ZooKeeperMain -server "$SD_ZK_ADDR" "$@" </dev/null) || rc=$?
	awk '
		/^Connecting to [^ ]+$/ && !started { skipblank = 1; next }
		/^WATCHER::$/ && !started { skipblank = 1; next }
		/^WatchedEvent state:[A-Za-z]+ type:None path:null$/ && !started { next }
		/^$/ && skipblank { skipblank = 0; next }
		{ started = 1; skipblank = 0; print }
	' <<<"$out"
	return $rc
}

# ---------------------------------------------------------------- dockerd

_sd_dockerd_check_name() {
	[[ $1 =~ ^[A-Za-z][A-Za-z0-9_]*$ ]] || sd_fail "dockerd name '$1' must be an identifier (it names DOCKER_HOST_$1)"
}

# sd_pki DIR: a test CA (DIR/ca.pem), a server certificate for IP
# 127.0.0.1 (DIR/server-cert.pem, server-key.pem) and a client certificate
# (DIR/cert.pem, key.pem: the names DOCKER_CERT_PATH expects), made with
# openssl once.
sd_pki() {
	local dir=$1
	[ -f "$dir/cert.pem" ] && return 0
	sd_need_cmd openssl
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=smartdock-test-ca \
		-keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null || sd_fail "openssl: no CA in $dir"
	_sd_pki_cert "$dir" server "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
	_sd_pki_cert "$dir" client "extendedKeyUsage=clientAuth"
	mv "$dir/client-cert.pem" "$dir/cert.pem"
	mv "$dir/client-key.pem" "$dir/key.pem"
}

_sd_pki_cert() { # DIR NAME EXTENSIONS
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$1/$2-key.pem" \
		-out "$1/$2.csr" 2>/dev/null || sd_fail "openssl: no $2 key in $1"
	printf '%s\n' "$3" >"$1/$2.ext"
	openssl x509 -req -in "$1/$2.csr" -CA "$1/ca.pem" -CAkey "$1/ca-key.pem" -CAcreateserial \
		-days 2 -extfile "$1/$2.ext" -out "$1/$2-cert.pem" 2>/dev/null || sd_fail "openssl: no $2 certificate in $1"
}

# sd_dockerd_start NAME [TCP_PORT [tls]]: a private dockerd under $SD_TMP/NAME,
# with no bridge and no iptables (containers use --network host), vfs
# storage, its own containerd. Exports DOCKER_HOST_<NAME>=unix://... and,
# with TCP_PORT, DOCKER_TCP_<NAME>=tcp://127.0.0.1:TCP_PORT. With "tls" the
# tcp socket wants TLS with client certificates (--tlsverify, certificates
# from sd_pki), and DOCKER_CERT_PATH_<NAME> names the client's directory
# (ca.pem, cert.pem, key.pem). Starting it again after sd_dockerd_stop
# reuses its data root and port.
sd_dockerd_start() {
	_sd_need_setup
	sd_need_cmd dockerd containerd runc curl
	[ -x "$SD_DOCKER_CLI" ] || sd_fail "missing $SD_DOCKER_CLI (apt-get install docker.io)"
	local name=$1 port=${2:-} tls=${3:-} d
	_sd_dockerd_check_name "$name"
	d=$SD_TMP/$name
	mkdir -p "$d"
	if [ -n "$port" ]; then
		echo "$port" >"$d/tcp_port"
	elif [ -f "$d/tcp_port" ]; then
		port=$(cat "$d/tcp_port")
	fi
	[ -f "$d/daemon.json" ] || echo '{}' >"$d/daemon.json"
	local -a args=(
		--config-file "$d/daemon.json"
		--bridge=none --iptables=false --ip-masq=false --ip6tables=false
		--data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/pid"
		--host "unix://$d/docker.sock"
		--storage-driver vfs
		--containerd-namespace "sd-${SD_TMP##*/sd.}-$name"
		--containerd-plugins-namespace "sd-${SD_TMP##*/sd.}-${name}p"
	)
	[ -n "$port" ] && args+=(--host "tcp://127.0.0.1:$port")
	if [ "$tls" = tls ]; then
		sd_pki "$d/pki"
		args+=(--tlsverify --tlscacert "$d/pki/ca.pem" --tlscert "$d/pki/server-cert.pem"
			--tlskey "$d/pki/server-key.pem")
		export "DOCKER_CERT_PATH_$name=$d/pki"
	fi
	export "DOCKER_HOST_$name=unix://$d/docker.sock"
	[ -n "$port" ] && export "DOCKER_TCP_$name=tcp://127.0.0.1:$port"
	# Once more if it fails, after showing why: a cause we have not foreseen
	# should cost a retry and leave its evidence, not fail the test blind.
	local attempt
	for attempt in 1 2; do
		_sd_dockerd_forget_containerd "$name"
		sd_bg "dockerd-$name" dockerd "${args[@]}"
		_sd_push dockerd "$name"
		_sd_dockerd_wait_up "$name" 60 && break
		sd_log "dockerd '$name' did not start (attempt $attempt of 2); its log since this start, containerd's included:"
		_sd_dockerd_start_log "$name" | sed 's/^/    | /' >&2
		_sd_dockerd_containerd_state "$name"
		[ "$attempt" = 2 ] && sd_fail "dockerd '$name' did not start, twice"
		sd_kill "dockerd-$name" TERM
	done
	sd_log "dockerd '$name' up at unix://$d/docker.sock${port:+ and tcp://127.0.0.1:$port}${tls:+ (TLS)}"
}

_sd_dockerd_up() {
	sd_alive "dockerd-$1" || { echo "dockerd exited"; return 1; }
	curl -fsS --max-time 2 --unix-socket "$SD_TMP/$1/docker.sock" http://docker/version
}

# _sd_dockerd_wait_up NAME TIMEOUT_S: poll until dockerd NAME answers; false
# as soon as it has exited, or after TIMEOUT_S.
_sd_dockerd_wait_up() {
	local name=$1 deadline=$((SECONDS + $2))
	while [ $SECONDS -lt $deadline ]; do
		_sd_dockerd_up "$name" >/dev/null 2>&1 && return 0
		if ! sd_alive "dockerd-$name"; then
			sd_log "dockerd '$name' exited while starting"
			return 1
		fi
		sleep 0.1
	done
	sd_log "dockerd '$name' does not answer /version after ${2}s"
	return 1
}

# _sd_dockerd_start_log NAME: dockerd NAME's log from its latest start on
# (containerd writes to it too).
_sd_dockerd_start_log() {
	awk '/^=== [0-9:.]+ start: dockerd / { n = 0 } { line[n++] = $0 } END { for (i = 0; i < n; i++) print line[i] }' \
		"$SD_TMP/dockerd-$1.log" 2>/dev/null
}

# _sd_containerd_of PID DIR: PID is the running (not zombie) containerd that
# dockerd started with its state in DIR/exec/containerd.
_sd_containerd_of() {
	_sd_running "$1" && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = containerd ] &&
		tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -F -- "$2/exec/containerd/containerd.toml" >/dev/null
}

# _sd_dockerd_containerd_state NAME: log what the containerd pid file of
# dockerd NAME names.
_sd_dockerd_containerd_state() {
	local d=$SD_TMP/$1 cpid
	cpid=$(cat "$d/exec/containerd/containerd.pid" 2>/dev/null || true)
	if [ -z "$cpid" ]; then
		sd_log "no containerd pid file for '$1'"
	elif _sd_containerd_of "$cpid" "$d"; then
		sd_log "containerd pid file for '$1' names pid $cpid, its running containerd"
	else
		sd_log "containerd pid file for '$1' names pid $cpid: $(_sd_pid_what "$cpid")"
	fi
}

# _sd_pid_what PID: what PID is, in a few words.
_sd_pid_what() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || { echo "no such process"; return 0; }
	case $state in
	Z | X) echo "a zombie ($(cat "/proc/$1/comm" 2>/dev/null), parent $(ps -o ppid= -p "$1" | tr -d ' '))" ;;
	*) echo "a live $(cat "/proc/$1/comm" 2>/dev/null), not this dockerd's containerd" ;;
	esac
}

# _sd_dockerd_forget_containerd NAME: before dockerd NAME starts, make sure
# the containerd pid file its predecessor left names no process. dockerd
# (20.10, and upstream still) takes any pid that kill(pid, 0) finds for its
# containerd "still running", a zombie or a process that got the pid since
# too; having removed containerd's socket just before, it waits for it in
# vain and exits after 15 s: "failed to start containerd: timeout waiting
# for containerd to start". A dockerd killed with -9 leaves just that: its
# containerd gets SIGKILL with it (Pdeathsig) and is a zombie until its new
# parent, pid 1, reaps it, which took 1.5 s on a CI machine whose pid 1 is
# not an init. Without the pid file dockerd starts a new containerd, which
# finds the running containers' shims again (live-restore).
_sd_dockerd_forget_containerd() {
	local name=$1 d=$SD_TMP/$1 pidfile cpid
	pidfile=$d/exec/containerd/containerd.pid
	[ -f "$pidfile" ] || return 0
	cpid=$(cat "$pidfile" 2>/dev/null || true)
	if [[ $cpid =~ ^[0-9]+$ ]]; then
		# Dying (SIGKILL from Pdeathsig is not instant) or alive for good:
		# dockerd cannot use it either way, so see it gone (SIGTERM, and
		# SIGKILL after 10 s); live-restore's containers live on in their
		# shims.
		if _sd_containerd_of "$cpid" "$d"; then
			sd_log "containerd of '$name' (pid $cpid) still runs, and dockerd would remove its socket before finding it: stopping it"
			_sd_stop_pid "$cpid" 10
		fi
		if [ -e "/proc/$cpid" ]; then
			sd_log "containerd pid file for '$name' names pid $cpid, $(_sd_pid_what "$cpid"): removing it, so that dockerd starts a new containerd"
		fi
	fi
	rm -f "$pidfile"
}

# sd_docker NAME ARGS...: the docker CLI against dockerd NAME.
sd_docker() {
	local name=$1
	shift
	DOCKER_HOST=unix://$SD_TMP/$name/docker.sock DOCKER_CONFIG=$SD_TMP/.docker \
		"$SD_DOCKER_CLI" "$@"
}

# sd_dockerd_stop NAME: stop dockerd NAME like `service docker stop` would
# (running containers are stopped, not removed; the data root is kept), then
# make sure its containerd and mounts are gone.
sd_dockerd_stop() {
	local name=$1 d=$SD_TMP/$1 cpid
	[ -d "$d" ] || return 0
	sd_kill "dockerd-$name" TERM
	# dockerd stops the containerd it started; kill it if it did not
	cpid=$(cat "$d/exec/containerd/containerd.pid" 2>/dev/null || true)
	if [ -n "$cpid" ] && _sd_running "$cpid"; then
		sd_log "containerd of '$name' (pid $cpid) outlived dockerd, killing it"
		_sd_stop_pid "$cpid" 10
	fi
	# containerd shims (and the containers under them) mention $d/exec/
	_sd_kill_tree "$d/exec/"
	_sd_umount_under "$d"
}

sd_dockerd_restart() {
	local name=$1
	sd_dockerd_stop "$name"
	sd_dockerd_start "$name"
}

_sd_dockerd_teardown() {
	local name=$1 ids
	if sd_alive "dockerd-$name"; then
		local -a cli=(timeout 60 env "DOCKER_HOST=unix://$SD_TMP/$name/docker.sock"
			"DOCKER_CONFIG=$SD_TMP/.docker" "$SD_DOCKER_CLI")
		ids=$("${cli[@]}" ps -aq 2>/dev/null || true)
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086
			"${cli[@]}" rm -f $ids >/dev/null 2>&1 || true
		fi
	fi
	sd_dockerd_stop "$name"
}

# sd_hello_bin: print the path of a static deploy/lib/hello.c binary, built on
# first use and cached in the build dir (or $SD_TMP if that is not writable).
sd_hello_bin() {
	local src=$SD_DEPLOY_LIB_DIR/hello.c dir out tmp
	dir=$SD_BIN/sd-test
	mkdir -p "$dir" 2>/dev/null && [ -w "$dir" ] || dir=$SD_TMP
	out=$dir/hello
	if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
		tmp=$out.$$.tmp
		cc -static -O2 -Wall -Wextra -Werror -std=c11 -o "$tmp" "$src" ||
			sd_fail "cannot build $src"
		mv -f "$tmp" "$out"
	fi
	echo "$out"
}

# sd_hello_start NAME ADDR PORT: the hello server (no container) answering as
# NAME on ADDR:PORT, as background process NAME; returns once it listens.
sd_hello_start() {
	local name=$1 addr=$2 port=$3
	sd_bg "$name" "$(sd_hello_bin)" "$addr" "$port" "$name"
	sd_wait_for "$name listening" 30 sd_port_open "$addr" "$port"
}

# sd_image NAME: import smartdock/hello:latest into dockerd NAME (once): a
# busybox rootfs (/bin/sh and friends) plus /bin/hello.
#   sd_docker d1 run -d --network host smartdock/hello /bin/hello 127.0.0.2 8080 c1
sd_image() {
	local name=$1 tar
	sd_docker "$name" image inspect "$SD_IMAGE" >/dev/null 2>&1 && return 0
	tar=$(sd_image_rootfs)
	sd_docker "$name" import --change 'ENV PATH=/bin' "$tar" "$SD_IMAGE" >/dev/null ||
		sd_fail "docker import into '$name' failed"
}

# sd_image_rootfs: print the path of the hello image's rootfs tar, built on
# first use and cached beside sd_hello_bin's binary: its ~270 busybox links
# are one fork each, which took 29 s on a 2-core machine at load average 20,
# in every test that starts a dockerd.
sd_image_rootfs() {
	local hello dir out root app
	hello=$(sd_hello_bin)
	dir=$(dirname "$hello")
	out=$dir/hello-rootfs.tar
	if [ -f "$out" ] && [ ! "$hello" -nt "$out" ] && [ ! /bin/busybox -nt "$out" ]; then
		echo "$out"
		return 0
	fi
	[ -x /bin/busybox ] || sd_fail "missing /bin/busybox (apt-get install busybox-static)"
	root=$(mktemp -d "$dir/.rootfs.XXXXXX")
	mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
	cp /bin/busybox "$root/bin/busybox"
	cp "$hello" "$root/bin/hello"
	for app in $(/bin/busybox --list); do
		[ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
	done
	echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
	echo 'root:x:0:' >"$root/etc/group"
	# concurrent tests may build it at once: each renames its own whole tar
	tar -C "$root" -cf "$root.tar" . && mv -f "$root.tar" "$out"
	rm -rf "$root" "$root.tar"
	[ -f "$out" ] || sd_fail "cannot build the hello image's rootfs in $dir"
	echo "$out"
}

# sd_image_tag NAME REF: give the hello image another name in dockerd NAME.
sd_image_tag() {
	sd_image "$1"
	sd_docker "$1" tag "$SD_IMAGE" "$2"
}
