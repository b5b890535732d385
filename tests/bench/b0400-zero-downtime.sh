#!/usr/bin/env bash
# Zero-downtime and convergence benchmark: HTTP load through HAProxy while
# the backends behind it are replaced, one at a time, then churned.
#
#   bash tests/bench/b0400-zero-downtime.sh
#   BENCH_REPLACEMENTS=10 BENCH_IGNTERM_REPLACEMENTS=6 BENCH_ETCD_REPLACEMENTS=6 BENCH_CHURN=10 \
#       bash tests/bench/b0400-zero-downtime.sh              # a quick run (~1.5 min)
#   BENCH_MODES="runtime reload" bash tests/bench/b0400-zero-downtime.sh
#
# Set-up (as PEERS.md's Synapse measurement where it has one): two simulated
# Docker hosts (dockerd d1 and d2, registrators advertising 127.0.0.2 and
# 127.0.0.3), one smartdock-watcher in managed mode (it runs HAProxy 2.6
# itself, master-worker, reloads through the master CLI) with service "web"
# on 127.0.0.1:LB, restart_interval 0.5 s (tests/lib/smartdock.sh's default),
# no health checks. Backends are tests/lib/hello.c containers (`--network
# host`, one port each, registered by the labels smartdock.service=web and
# smartdock.port); three of them, two on d1 and one on d2. Load:
# tests/bench/loadgen.c, open loop at BENCH_RATE (1000) requests/s, a fresh
# connection per request, 5 s timeout, every request recorded (send and
# completion time, status, the "Hello from NAME" of the backend that
# answered).
#
# Modes (BENCH_MODES, each with a fresh watcher and HAProxy):
#   runtime          the default: membership through HAProxy's runtime API
#                    (add/enable server; drain, wait for sessions, maint, del)
#   reload           "do_socket": false: every change is a validated reload
#   reload-nosafe    reload, and "safe_http_defaults": false: no retry-on
#                    conn-failure/redispatch added (HAProxy's own retries 3)
#   runtime-ignterm  runtime, with backends that ignore SIGTERM (hello
#                    --ignore-term, `docker stop -t BENCH_IGNTERM_STOP_S`, 1):
#                    they keep serving until SIGKILL, like an app that
#                    finishes its work, so "the last request HAProxy sent
#                    it" can be seen
#   etcd             runtime, with registrators and watcher on etcd
# Without --ignore-term, hello exits the moment it gets SIGTERM: the harsh
# case, where every request HAProxy sends to it after `docker stop` fails
# unless something retries it.
#
# Per mode:
#  1. Rolling replacement (BENCH_REPLACEMENTS, BENCH_IGNTERM_REPLACEMENTS,
#     BENCH_ETCD_REPLACEMENTS; 100 each): for each backend in turn, `docker run`
#     the new container, wait until the load generator gets an answer from it
#     through HAProxy, `docker stop` the old one. Every failed request counts
#     (non-2xx, connection error, timeout).
#  2. Convergence, per replacing container: Docker's `start` event (timeNano)
#     → the first request answered by it (its completion time); broken down
#     at the registrator's "registered" log line (the create's reply: "znode
#     created" as in PEERS.md) and at "applied": the watcher's runtime "add
#     server" log line, or without the runtime API the first "reloaded
#     haproxy" after the registration (the master CLI has confirmed the new
#     worker by then: an upper bound). Per replaced container: Docker's
#     `kill` event → the send time of the last request it answered
#     (meaningful with runtime-ignterm; a harsh backend is dead at the kill
#     event), → "deregistered", and → out of rotation (the runtime "state
#     drain", or the next reload done).
#  3. Churn (BENCH_CHURN containers, 50; in BENCH_CHURN_MODES, "runtime reload
#     etcd"): all started (BENCH_PARALLEL `docker run` at a time, 4), then
#     all stopped the same way, under the same load: reloads (the watcher's
#     log and the master's reload count in `show proc`), the watcher's CPU
#     (utime+stime), failed requests, and the same per-container figures.
# Reloads and watcher CPU are counted for the replacements too, and every
# `haproxy -c` the watcher ran (its log: "started haproxy -c" → "wrote").
# If the managed HAProxy has not soft-stopped 30 s after its watcher exited
# (seen with HAProxy 2.6 after many fast reloads: an old worker that never
# leaves), the bench says so, keeps what it was doing in m-MODE/linger.txt,
# stops it with SIGTERM and carries on; RESULT MODE.haproxy_lingered is 1.
# The whole default run takes ~7 minutes on 2 cores; SD_KEEP=1 keeps every
# CSV and log (m-MODE/ in the temp dir). Benches report; nothing here fails
# on a timing or a failed request, only when something breaks.
. "$(dirname "$0")/bench-lib.sh"
sd_need_root
sd_need_cmd haproxy
bench_build

MODES=${BENCH_MODES:-runtime reload reload-nosafe runtime-ignterm etcd}
REPL=${BENCH_REPLACEMENTS:-100}
IGN_REPL=${BENCH_IGNTERM_REPLACEMENTS:-100}
ETCD_REPL=${BENCH_ETCD_REPLACEMENTS:-100}
IGN_STOP_S=${BENCH_IGNTERM_STOP_S:-1}
CHURN=${BENCH_CHURN:-50}
CHURN_MODES=${BENCH_CHURN_MODES:-runtime reload etcd}
RATE=${BENCH_RATE:-1000}
PAR=${BENCH_PARALLEL:-4}
LOAD_MAX_S=${BENCH_LOAD_MAX_S:-1800}

# The load generator: built by tests/CMakeLists.txt (target loadgen) in the
# benchmark build, or straight with cc when that build cannot.
bench_loadgen() {
	local bin=$SMARTDOCK_BUILD_DIR src
	src=$(cd "$SD_BENCH_DIR/../.." && pwd)
	if ! cmake --build "$bin" --target loadgen >/dev/null 2>&1; then
		cmake -S "$src" -B "$bin" >/dev/null 2>&1 || true
		cmake --build "$bin" --target loadgen >/dev/null 2>&1 || true
	fi
	LOADGEN=$bin/tests/loadgen
	if [ ! -x "$LOADGEN" ] || [ "$SD_BENCH_DIR/loadgen.c" -nt "$LOADGEN" ]; then
		LOADGEN=$SD_TMP/loadgen
		cc -O2 -Wall -Wextra -Werror -std=c11 -o "$LOADGEN" "$SD_BENCH_DIR/loadgen.c" ||
			sd_fail "cannot build tests/bench/loadgen.c"
	fi
}

sd_setup
bench_loadgen
sd_log "$(bench_machine)"
sd_log "modes: $MODES; replacements $REPL (ignterm $IGN_REPL, etcd $ETCD_REPL); churn $CHURN in: $CHURN_MODES; $RATE req/s"
need_zk=0 need_etcd=0
for m in $MODES; do
	case $m in
	runtime | reload | reload-nosafe | runtime-ignterm) need_zk=1 ;;
	etcd) need_etcd=1 ;;
	*) sd_fail "unknown mode '$m' in BENCH_MODES" ;;
	esac
done
[ $need_zk = 1 ] && sd_zk_start
[ $need_etcd = 1 ] && sd_etcd_start
sd_dockerd_start d1
sd_dockerd_start d2
sd_image d1
sd_image d2

# Docker's events from both hosts, streamed from before the first run:
# "NAME start|kill TIMENANO SIGNAL".
for d in d1 d2; do
	sd_bg "ev-$d" env "DOCKER_HOST=unix://$SD_TMP/$d/docker.sock" "DOCKER_CONFIG=$SD_TMP/.docker" \
		"$SD_DOCKER_CLI" events --since "$(date +%s)" --filter type=container \
		--filter event=start --filter event=kill \
		--format '{{.Actor.Attributes.name}} {{.Action}} {{.TimeNano}} {{index .Actor.Attributes "signal"}}'
done

# Every port the run can need, reserved at once.
nports=0
for m in $MODES; do
	case $m in runtime-ignterm) n=$IGN_REPL ;; etcd) n=$ETCD_REPL ;; *) n=$REPL ;; esac
	nports=$((nports + 4 + n + CHURN))
done
mapfile -t PORTS < <(bench_ports "$nports")
next_port=0
take_port() { PORT=${PORTS[next_port]}; next_port=$((next_port + 1)); }

# Registrators, one per host, for the registry in use.
REGISTRY=
registry_use() { # registry_use zk|etcd
	[ "$REGISTRY" = "$1" ] && return 0
	local old
	for old in rz1 rz2 re1 re2; do sd_kill "$old" TERM; done
	REGISTRY=$1
	if [ "$1" = zk ]; then
		sd_registrator_config "$SD_TMP/rz1.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}'
		sd_registrator_config "$SD_TMP/rz2.json" 127.0.0.3 "$DOCKER_HOST_d2" '{}'
		REGS="rz1 rz2"
	else
		sd_etcd_registrator_config "$SD_TMP/re1.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}'
		sd_etcd_registrator_config "$SD_TMP/re2.json" 127.0.0.3 "$DOCKER_HOST_d2" '{}'
		REGS="re1 re2"
	fi
	local r
	for r in $REGS; do
		sd_registrator "$r" "$SD_TMP/$r.json"
		sd_wait_for "registrator $r connected to docker" 30 sd_log_has "$r" "docker .*: connected"
	done
}
registered_count_is() { # registered_count_is N
	if [ "$REGISTRY" = zk ]; then
		sd_zk_count_is /smartdock/services/web "$1"
	else
		sd_etcd_count_is /smartdock/services/web/ "$1"
	fi
}

# run_c DOCKERD ADDR PORT NAME [--ignore-term]; stop_c DOCKERD NAME STOP_S
export SD_TMP SD_DOCKER_CLI
run_c() {
	DOCKER_HOST=unix://$SD_TMP/$1/docker.sock DOCKER_CONFIG=$SD_TMP/.docker "$SD_DOCKER_CLI" \
		run -d --network host --name "$4" -l smartdock.service=web -l smartdock.port="$3" \
		smartdock/hello /bin/hello "$2" "$3" "$4" ${5:-} >/dev/null
}
stop_c() {
	DOCKER_HOST=unix://$SD_TMP/$1/docker.sock DOCKER_CONFIG=$SD_TMP/.docker "$SD_DOCKER_CLI" \
		stop -t "$3" "$2" >/dev/null
}
export -f run_c stop_c

master_reloads() { # master_reloads MASTER_SOCKET: the master's reload count
	sd_hap_cli "$1" "show proc" | awk '$2 == "master" { print $3 }'
}
master_pid() {
	sd_hap_cli "$1" "show proc" | awk '$2 == "master" { sub(/^#/, "", $1); print $1 }'
}
hap_server_count() { # hap_server_count SOCKET
	sd_hap_servers "$1" web | wc -l
}
hap_server_count_is() {
	[ "$(hap_server_count "$1")" = "$2" ]
}

# The awk helper that turns a smartdock log time (2026-11-25T07:57:37.123Z)
# into epoch ms (mawk's printf %d stops at 2^31: print with %.0f).
AWK_LOGMS='function logms(ts,  d) { d = substr(ts, 1, 10); gsub("-", " ", d)
	return mktime(d " " substr(ts, 12, 2) " " substr(ts, 15, 2) " " substr(ts, 18, 2)) * 1000 + substr(ts, 21, 3) }'
export TZ=UTC

# cat_existing FILE...: the files that exist, one after the other.
cat_existing() {
	local f
	for f; do
		if [ -f "$f" ]; then cat "$f"; fi
	done
	return 0
}

# log_port_times PATTERN LOGFILE...: "PORT MS" for every line matching PATTERN
# (grep -E) whose port we can read: from an "ADDR:PORT" word or a server
# name "web/ADDR_PORT_ID". First occurrence per port.
log_port_times() {
	local pat=$1
	shift
	cat_existing "$@" | { grep -E "$pat" || true; } | awk "$AWK_LOGMS"'
		{
			port = ""
			for (i = 3; i <= NF && port == ""; i++) {
				if ($i ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+$/) { split($i, a, ":"); port = a[2] }
				else if ($i ~ /^web\/[0-9.]+_[0-9]+_/) { split($i, a, "_"); port = a[2] }
			}
			if (port != "" && !seen[port]++) printf "%s %.0f\n", port, logms($1)
		}' | sort
}

# stats_of FILE FROM TO: "p50 p99 max n" of column TO minus column FROM over
# FILE's lines (lines where either is "-" are skipped).
stats_of() {
	local vals
	vals=$(awk -v a="$2" -v b="$3" '$a != "-" && $b != "-" { printf "%.0f\n", $b - $a }' "$1")
	if [ -z "$vals" ]; then echo "- - - 0"; else bench_stats "$vals"; fi
}

# haproxy_gone MODE MASTER_PID DIR: the managed HAProxy soft-stops when the
# watcher exits (SIGUSR1: workers finish their connections first). If it
# still runs 30 s later, say so, keep what it was doing in DIR/linger.txt
# (its processes and their TCP sockets) and stop it (SIGTERM to the master:
# hard stop), so the next mode starts clean. A report, not a failure.
haproxy_gone() {
	local mode=$1 master=$2 dir=$3 deadline=$((SECONDS + 30)) pids
	while kill -0 "$master" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			pids=$({ echo "$master"; pgrep -P "$master" || true; } | paste -sd'|')
			{
				echo "managed haproxy master $master still running 30 s after the watcher exited"
				ps -o pid,ppid,etime,args -p "$master" --ppid "$master" || true
				ss -tanpe 2>/dev/null | grep -E "pid=($pids)," || true
				echo "show proc before the watcher exited:"
				cat "$dir/show_proc.at_end" 2>/dev/null || true
			} >"$dir/linger.txt"
			sd_log "WARNING: $mode: $(head -1 "$dir/linger.txt"); details in $dir/linger.txt:"
			sed 's/^/    | /' "$dir/linger.txt" >&2
			kill -TERM "$master" 2>/dev/null || true
			sd_wait_for "$mode: haproxy master $master gone after SIGTERM" 30 bash -c "! kill -0 $master 2>/dev/null"
			return 0
		fi
		sleep 0.1
	done
}

# ------------------------------------------------------------------ one mode
run_mode() {
	local mode=$1 n=$REPL ign='' stop_s=10 extra='' svc dir lb sock msock url wname lg
	case $mode in
	runtime) ;;
	reload) extra=', "do_socket": false' ;;
	reload-nosafe) extra=', "do_socket": false, "safe_http_defaults": false' ;;
	runtime-ignterm) ign=--ignore-term stop_s=$IGN_STOP_S n=$IGN_REPL ;;
	etcd) n=$ETCD_REPL ;;
	esac
	if [ "$mode" = etcd ]; then registry_use etcd; else registry_use zk; fi
	dir=$SD_TMP/m-$mode
	mkdir -p "$dir"
	: >"$dir/names"
	sd_log "== mode $mode: $n replacements (load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo "$(cut -d' ' -f1-3 /proc/loadavg)" >"$dir/load_start"

	# three backends: slots 0 and 2 on d1 (127.0.0.2), slot 1 on d2 (127.0.0.3)
	local -a slot_d=(d1 d2 d1) slot_a=(127.0.0.2 127.0.0.3 127.0.0.2) cur=()
	local s k name
	for s in 0 1 2; do
		take_port
		name=$mode-i$s
		run_c "${slot_d[s]}" "${slot_a[s]}" "$PORT" "$name" $ign
		echo "$name $PORT init ${slot_d[s]}" >>"$dir/names"
		cur[s]=$name
	done
	sd_wait_for "three $mode backends registered" 60 registered_count_is 3

	take_port
	lb=$PORT
	sock=$dir/haproxy.sock
	msock=$dir/haproxy.cfg.master.sock
	url=http://127.0.0.1:$lb/
	if [ "$REGISTRY" = zk ]; then
		svc=$(sd_zk_service "$lb" /smartdock/services/web)
	else
		svc=$(sd_etcd_service "$lb" /smartdock/services/web/)
	fi
	sd_watcher_config "$dir/watcher.json" "$svc" "\"managed\": true, \"socket_file_path\": \"$sock\"$extra"
	sed -i "s#\"$SD_TMP/haproxy.cfg\"#\"$dir/haproxy.cfg\"#" "$dir/watcher.json"
	"$SD_BIN/smartdock-watcher" --check -c "$dir/watcher.json" >/dev/null
	wname=w-$mode
	sd_bg "$wname" "$SD_BIN/smartdock-watcher" -v -c "$dir/watcher.json"
	sd_wait_for "$mode: all three answer" 60 sd_all_answer "$url" "${cur[@]}"
	case $mode in
	runtime*) sd_wait_for "runtime API confirmed" 30 sd_log_has "$wname" "runtime: stats socket .* answers from haproxy pid" ;;
	etcd) sd_wait_for "runtime API confirmed" 30 sd_log_has "$wname" "runtime: stats socket .* answers from haproxy pid" ;;
	*) sd_log_has "$wname" "runtime API off" || sd_fail "$mode: the runtime API is not off" ;;
	esac
	local wpid reloads0 master0 cpu0 hpid0
	wpid=$(sd_pid "$wname")
	reloads0=$(sd_watcher_reloads "$wname")
	master0=$(master_reloads "$msock")
	hpid0=$(master_pid "$msock")
	cpu0=$(bench_proc_cpu_ms "$wpid")

	# ---- 1. rolling replacement under load
	lg=lg-$mode
	sd_bg "$lg" "$LOADGEN" -c "127.0.0.1:$lb" -r "$RATE" -d "$LOAD_MAX_S" -t 5000 \
		-o "$dir/load.csv" -s "$dir/seen"
	sd_wait_for "$mode: load answered by all three" 30 bash -c "[ \$(grep -c '^$mode-i' '$dir/seen') = 3 ]"
	local t0 t1 new
	t0=$(bench_now_ms)
	for ((k = 0; k < n; k++)); do
		s=$((k % 3))
		new=$mode-r$k
		take_port
		echo "$new $PORT rep ${slot_d[s]}" >>"$dir/names"
		run_c "${slot_d[s]}" "${slot_a[s]}" "$PORT" "$new" $ign
		sd_wait_for "$new answers through haproxy" 60 grep -q "^$new " "$dir/seen"
		stop_c "${slot_d[s]}" "${cur[s]}" "$stop_s"
		cur[s]=$new
	done
	t1=$(bench_now_ms)
	# still running: their stop comes after the load, out of the figures
	printf '%s\n' "${cur[@]}" >"$dir/final"
	sd_wait_for "$mode: haproxy back to three servers" 60 hap_server_count_is "$sock" 3
	sd_wait_for "$mode: registry back to three" 60 registered_count_is 3
	sd_kill "$lg" TERM
	grep '^requests ' "$SD_TMP/$lg.log" | tail -1 >"$dir/load.summary" ||
		sd_fail "$mode: no summary from the load generator"
	local reloads1 master1 cpu1
	reloads1=$(sd_watcher_reloads "$wname")
	master1=$(master_reloads "$msock")
	cpu1=$(bench_proc_cpu_ms "$wpid")
	echo "$n $((t1 - t0)) $((reloads1 - reloads0)) $((master1 - master0)) $((cpu1 - cpu0))" >"$dir/rep.counts"
	sd_log "$mode: $n replacements in $((t1 - t0)) ms: $(cat "$dir/load.summary")"

	# ---- 3. churn under load
	if [[ " $CHURN_MODES " == *" $mode "* ]] && [ "$CHURN" -gt 0 ]; then
		local c0 c1 c2 i d a
		: >"$dir/churn"
		for ((i = 0; i < CHURN; i++)); do
			take_port
			if ((i % 2)); then d=d2 a=127.0.0.3; else d=d1 a=127.0.0.2; fi
			# no trailing blank: xargs -L would join the next line to it
			echo "$d $a $PORT $mode-c$i${ign:+ $ign}" >>"$dir/churn"
			echo "$mode-c$i $PORT churn $d" >>"$dir/names"
		done
		sd_bg "$lg-churn" "$LOADGEN" -c "127.0.0.1:$lb" -r "$RATE" -d "$LOAD_MAX_S" -t 5000 \
			-o "$dir/churn.csv" -s "$dir/churn.seen"
		sd_wait_for "$mode: churn load flowing" 30 bash -c "[ \$(wc -l <'$dir/churn.seen') -ge 3 ]"
		reloads0=$(sd_watcher_reloads "$wname")
		master0=$(master_reloads "$msock")
		cpu0=$(bench_proc_cpu_ms "$wpid")
		c0=$(bench_now_ms)
		xargs -P "$PAR" -L 1 bash -c 'run_c "$@"' _ <"$dir/churn"
		sd_wait_for "$mode: $CHURN more registered" 120 registered_count_is $((CHURN + 3))
		c1=$(bench_now_ms)
		awk -v t="$stop_s" '{ print $1, $4, t }' "$dir/churn" | xargs -P "$PAR" -L 1 bash -c 'stop_c "$@"' _
		sd_wait_for "$mode: churn deregistered" 120 registered_count_is 3
		sd_wait_for "$mode: haproxy back to three after churn" 120 hap_server_count_is "$sock" 3
		c2=$(bench_now_ms)
		reloads1=$(sd_watcher_reloads "$wname")
		master1=$(master_reloads "$msock")
		cpu1=$(bench_proc_cpu_ms "$wpid")
		sd_kill "$lg-churn" TERM
		grep '^requests ' "$SD_TMP/$lg-churn.log" | tail -1 >"$dir/churn.summary" ||
			sd_fail "$mode: no summary from the churn load generator"
		echo "$CHURN $((c1 - c0)) $((c2 - c0)) $((reloads1 - reloads0)) $((master1 - master0)) $((cpu1 - cpu0))" >"$dir/churn.counts"
		sd_log "$mode: churn of $CHURN: up in $((c1 - c0)) ms, settled after $((c2 - c0)) ms, $((reloads1 - reloads0)) reloads: $(cat "$dir/churn.summary")"
	fi

	# ---- the end of the mode: the watcher's stats line, HAProxy gone
	sd_hap_cli "$msock" "show proc" >"$dir/show_proc.at_end" 2>&1 || true
	sd_kill "$wname" TERM
	grep "stats: " "$SD_TMP/$wname.log" | tail -1 | sed 's/.*stats: //' >"$dir/watcher.stats" || true
	if [ -n "$hpid0" ]; then
		haproxy_gone "$mode" "$hpid0" "$dir"
	fi
	for s in 0 1 2; do stop_c "${slot_d[s]}" "${cur[s]}" "$stop_s"; done
	sd_wait_for "$mode: registry empty" 60 registered_count_is 0
	sd_docker d1 container prune -f >/dev/null
	sd_docker d2 container prune -f >/dev/null
	echo "$(cut -d' ' -f1-3 /proc/loadavg)" >"$dir/load_end"
}

# ------------------------------------------------------------------ analysis
# analyse MODE: per-container tables from the logs, then RESULT lines.
analyse() {
	local mode=$1 dir=$SD_TMP/m-$1 regs wlog
	if [ "$mode" = etcd ]; then regs="$SD_TMP/re1.log $SD_TMP/re2.log"; else regs="$SD_TMP/rz1.log $SD_TMP/rz2.log"; fi
	wlog=$SD_TMP/w-$mode.log
	# shellcheck disable=SC2086
	{
		log_port_times " registered web " $regs >"$dir/t_reg"
		log_port_times " deregistered web " $regs >"$dir/t_dereg"
	}
	log_port_times "runtime: add server web/" "$wlog" >"$dir/t_add"
	log_port_times "runtime: set server web/.* state drain" "$wlog" >"$dir/t_drain"
	cat "$SD_TMP/ev-d1.log" "$SD_TMP/ev-d2.log" | awk '$2 == "start" && !s[$1]++ { print $1, substr($3, 1, length($3) - 6) }' | sort >"$dir/t_start"
	cat "$SD_TMP/ev-d1.log" "$SD_TMP/ev-d2.log" | awk '$2 == "kill" && !s[$1]++ { print $1, substr($3, 1, length($3) - 6) }' | sort >"$dir/t_kill"
	cat_existing "$dir/seen" "$dir/churn.seen" | awk '{ printf "%s %.0f\n", $1, $2 / 1000 }' | sort >"$dir/t_first"
	cat_existing "$dir/load.csv" "$dir/churn.csv" | awk -F, '$6 == "ok" && $7 != "" { if ($3 > last[$7]) last[$7] = $3 }
		END { for (n in last) printf "%s %.0f\n", n, last[n] / 1000 }' | sort >"$dir/t_last"
	{ grep "reloaded haproxy (reload #" "$wlog" || true; } | awk "$AWK_LOGMS"'{ printf "%.0f\n", logms($1) }' >"$dir/t_reloads"

	# Per container: "NAME start registered applied first" (conv, churn_conv)
	# and "NAME kill deregistered out_of_rotation last_sent" (stop,
	# churn_stop), ms. applied / out of rotation: the watcher's runtime "add
	# server" / "state drain" line, or without the runtime API the first
	# "reloaded haproxy" after the registry change.
	awk '
		FILENAME ~ /final$/ { final[$1] = 1; next }
		FILENAME ~ /names$/ { port[$1] = $2; role[$1] = $3; order[++n] = $1; next }
		FILENAME ~ /t_reg$/ { reg[$1] = $2; next }
		FILENAME ~ /t_dereg$/ { dereg[$1] = $2; next }
		FILENAME ~ /t_add$/ { add[$1] = $2; next }
		FILENAME ~ /t_drain$/ { drain[$1] = $2; next }
		FILENAME ~ /t_start$/ { start[$1] = $2; next }
		FILENAME ~ /t_kill$/ { kill[$1] = $2; next }
		FILENAME ~ /t_first$/ { if (!($1 in first) || $2 + 0 < first[$1] + 0) first[$1] = $2; next }
		FILENAME ~ /t_last$/ { last[$1] = $2; next }
		FILENAME ~ /t_reloads$/ { rl[++nr] = $1; next }
		function v(x) { return x == "" ? "-" : x }
		function after(t,  j) {
			if (t == "") return ""
			for (j = 1; j <= nr; j++) if (rl[j] + 0 >= t + 0) return rl[j]
			return ""
		}
		END {
			for (i = 1; i <= n; i++) {
				nm = order[i]; p = port[nm]
				ap = (p in add) ? add[p] : after(reg[p])
				out = (p in drain) ? drain[p] : after(dereg[p])
				sfx = role[nm] == "churn" ? "churn_" : ""
				if (role[nm] != "init")
					print nm, v(start[nm]), v(reg[p]), v(ap), v(first[nm]) > (dir "/" sfx "conv")
				if (!(nm in final) && kill[nm] != "")
					print nm, v(kill[nm]), v(dereg[p]), v(out), v(last[nm]) > (dir "/" sfx "stop")
			}
		}' dir="$dir" "$dir/final" "$dir/names" "$dir/t_reg" "$dir/t_dereg" "$dir/t_add" "$dir/t_drain" \
		"$dir/t_start" "$dir/t_kill" "$dir/t_first" "$dir/t_last" "$dir/t_reloads"
	touch "$dir/conv" "$dir/stop"

	# how long each haproxy -c of a new haproxy.cfg took, up to its rename
	# ("started haproxy -c" to "wrote"): "check 0 MS" lines
	{ grep -E "started haproxy -c|info  watcher: wrote " "$wlog" || true; } | awk "$AWK_LOGMS"'
		/started haproxy -c/ { t = logms($1); next }
		t != "" { printf "check 0 %.0f\n", logms($1) - t; t = "" }' >"$dir/checks"

	# "figure file from to" -> "figure p50 p99 max n", one a line
	touch "$dir/churn_conv" "$dir/churn_stop"
	local fig f from to
	while read -r fig f from to; do
		echo "$fig $(stats_of "$dir/$f" "$from" "$to")"
	done >"$dir/figures" <<-EOF
		start_to_first_answer conv 2 5
		start_to_registered conv 2 3
		registered_to_first_answer conv 3 5
		start_to_applied conv 2 4
		applied_to_first_answer conv 4 5
		kill_to_last_request_sent stop 2 5
		kill_to_deregistered stop 2 3
		kill_to_out_of_rotation stop 2 4
		churn_start_to_first_answer churn_conv 2 5
		churn_start_to_applied churn_conv 2 4
		churn_kill_to_out_of_rotation churn_stop 2 4
		haproxy_check checks 2 3
	EOF

	local p=$mode
	# shellcheck disable=SC2046
	set -- $(cat "$dir/load.summary")
	# requests N ok N failed N http N refused N reset N closed N timeout N overload N error N slow_1s N latency_ms p50 X p99 X max X lag_ms_max X
	bench_result "$p.requests" "$2" count
	bench_result "$p.failed" "$6" count
	bench_result "$p.failed_http" "$8" count
	bench_result "$p.failed_refused" "${10}" count
	bench_result "$p.failed_reset" "${12}" count
	bench_result "$p.failed_closed" "${14}" count
	bench_result "$p.failed_timeout" "${16}" count
	bench_result "$p.failed_overload" "${18}" count
	bench_result "$p.failed_error" "${20}" count
	bench_result "$p.slow_1s" "${22}" count
	bench_result "$p.latency_p50_ms" "${25}" ms
	bench_result "$p.latency_p99_ms" "${27}" ms
	bench_result "$p.latency_max_ms" "${29}" ms
	local rn rms rrel rmas rcpu
	read -r rn rms rrel rmas rcpu <"$dir/rep.counts"
	bench_result "$p.replacements" "$rn" count
	bench_result "$p.replacements_ms" "$rms" ms
	bench_result "$p.reloads_watcher" "$rrel" count
	bench_result "$p.reloads_master" "$rmas" count
	bench_result "$p.watcher_cpu_ms" "$rcpu" ms
	bench_result "$p.haproxy_lingered" "$([ -s "$dir/linger.txt" ] && echo 1 || echo 0)" count
	local a b c nn
	while read -r fig a b c nn; do
		[ "$nn" = 0 ] && continue
		bench_result "$p.${fig}_p50_ms" "$a" ms
		bench_result "$p.${fig}_p99_ms" "$b" ms
		bench_result "$p.${fig}_max_ms" "$c" ms
		bench_result "$p.${fig}_n" "$nn" count
	done <"$dir/figures"
	if [ -f "$dir/churn.counts" ]; then
		local cn cup cset crel cmas ccpu
		read -r cn cup cset crel cmas ccpu <"$dir/churn.counts"
		# shellcheck disable=SC2046
		set -- $(cat "$dir/churn.summary")
		bench_result "$p.churn_containers" "$cn" count
		bench_result "$p.churn_all_up_ms" "$cup" ms
		bench_result "$p.churn_settled_ms" "$cset" ms
		bench_result "$p.churn_reloads_watcher" "$crel" count
		bench_result "$p.churn_reloads_master" "$cmas" count
		bench_result "$p.churn_watcher_cpu_ms" "$ccpu" ms
		bench_result "$p.churn_requests" "$2" count
		bench_result "$p.churn_failed" "$6" count
	fi
}

# report MODE: the readable block.
report() {
	local mode=$1 dir=$SD_TMP/m-$1 rn rms rrel rmas rcpu how
	read -r rn rms rrel rmas rcpu <"$dir/rep.counts"
	fig() { # fig NAME: "p50 A / p99 B / max C ms (n=N)"
		awk -v f="$1" '$1 == f { printf "p50 %s / p99 %s / max %s ms (n=%s)\n", $2, $3, $4, $5 }' "$dir/figures"
	}
	case $mode in reload*) how="the next reload done" ;; *) how="runtime add server" ;; esac
	echo "-- $mode (load at start $(cat "$dir/load_start"), at end $(cat "$dir/load_end"))"
	echo "   $rn replacements in $((rms / 1000)) s; load: $(cat "$dir/load.summary")"
	echo "   reloads during the replacements: watcher $rrel, haproxy master $rmas; watcher CPU $rcpu ms"
	echo "   start event → first answer:         $(fig start_to_first_answer)"
	echo "     start → registered:               $(fig start_to_registered)"
	echo "     registered → first answer:        $(fig registered_to_first_answer)"
	echo "     start → applied ($how): $(fig start_to_applied)"
	echo "     applied → first answer:           $(fig applied_to_first_answer)"
	echo "   kill event → last request it answered (its send time): $(fig kill_to_last_request_sent)"
	echo "     kill → deregistered:              $(fig kill_to_deregistered)"
	case $mode in reload*) how="the next reload done" ;; *) how="runtime state drain" ;; esac
	echo "     kill → out of rotation ($how): $(fig kill_to_out_of_rotation)"
	if [ -f "$dir/churn.counts" ]; then
		local cn cup cset crel cmas ccpu
		read -r cn cup cset crel cmas ccpu <"$dir/churn.counts"
		echo "   churn of $cn: all up after $cup ms, settled after $cset ms; reloads: watcher $crel, master $cmas; watcher CPU $ccpu ms"
		echo "     load during churn: $(cat "$dir/churn.summary")"
		echo "     start → first answer:             $(fig churn_start_to_first_answer)"
		echo "     start → applied:                  $(fig churn_start_to_applied)"
		echo "     kill → out of rotation:           $(fig churn_kill_to_out_of_rotation)"
	fi
	echo "   haproxy -c of each new haproxy.cfg (to its rename): $(fig haproxy_check)"
	if [ -s "$dir/watcher.stats" ]; then echo "   watcher at exit: $(cat "$dir/watcher.stats")"; fi
	if [ -s "$dir/linger.txt" ]; then echo "   WARNING: $(head -1 "$dir/linger.txt") (stopped with SIGTERM)"; fi
	return 0
}

t_all0=$(bench_now_ms)
for m in $MODES; do run_mode "$m"; done
t_all1=$(bench_now_ms)
for m in $MODES; do analyse "$m"; done
bench_result total_s $(((t_all1 - t_all0) / 1000)) s
{
	echo
	echo "== $SD_TEST_NAME: rolling replacement, convergence, churn; $RATE req/s open loop through HAProxy"
	bench_machine
	for m in $MODES; do report "$m"; done
	echo "whole run: $(((t_all1 - t_all0) / 1000)) s"
	cat "$SD_TMP/results"
} | tee -a "$SD_TMP/report"
sd_log "done"
