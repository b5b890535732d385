#!/usr/bin/env bash
# Watcher benchmark (issue 12, "10,000 backends"): 1,000 services × 10
# backends in one watcher with the runtime API on, then a churn of 100
# membership changes a second for 60 s in those services.
#
#   bash tests/bench/b1200-watcher-10000.sh
#   BENCH_SERVICES=100 BENCH_CHURN_S=10 bash tests/bench/b1200-watcher-10000.sh   # quick
#   BENCH_PERF=1 SD_KEEP=1 ...   # also `perf record -g` the watcher (burst and churn)
#   BENCH_PERF=dwarf ...         # the same with DWARF call graphs (the release build has no frame pointers)
#
# Burst (method of b0200, with the runtime API on): ZooKeeper 3.8 and HAProxy
# 2.6 (master-worker, reloaded by USR2) on loopback; every service's path
# present and empty (each service its own frontend on 127.0.X.Y:PORT, one
# port for all), haproxy.cfg from `smartdock-watcher --once`, HAProxy on
# it with a stats socket, then the watcher (-v) adopts it. zkctl bulk-create
# writes all S × 10 Nerve znodes (pipelined on one session). Measured from
# the reply to the last create: until HAProxy serves all (`show servers
# state`: S × 10 servers, operational and not in maintenance; polled), until
# haproxy.cfg names all; the watcher's VmRSS/VmHWM after, its CPU, reloads.
#
# Churn: `routable churn` writes 100 changes a second (BENCH_CHURN_RATE) for
# BENCH_CHURN_S seconds (60): alternately a new znode in a random service and
# the deletion of the oldest one it made. Each change's latency is from the
# request sent to the watcher's log line for its runtime command answered
# ("runtime: add server <be>/<name> 127.0.0.2:<port>", "runtime: set server
# <be>/<name> state drain"); reloads counted from the watcher's log and the
# worker's pid.
. "$(dirname "$0")/bench-lib.sh"
sd_need_root
sd_need_cmd haproxy java perf
bench_build
cmake --build "$SMARTDOCK_BUILD_DIR" -j2 --target routable >/dev/null || sd_fail "cannot build routable"
sd_setup

S=${BENCH_SERVICES:-1000}
BACKENDS=10
CHURN_RATE=${BENCH_CHURN_RATE:-100}
CHURN_S=${BENCH_CHURN_S:-60}
want=$((S * BACKENDS))
sd_log "$(bench_machine)"
sd_zk_start
root=/bench
sock=$SD_TMP/haproxy.sock
cfg=$SD_TMP/haproxy.cfg
# one reserved port, and a loopback address per service (127.0.X.Y): 1,000
# port reservations take minutes on a loaded machine
lb_port=$(sd_free_port)

{
	echo "$root"
	for ((i = 1; i <= S; i++)); do echo "$root/s$i"; done
} >"$SD_TMP/dirs"
sd_zkctl bulk-create "$SD_TMP/dirs" >/dev/null
for ((i = 1; i <= S; i++)); do
	for ((j = 1; j <= BACKENDS; j++)); do
		printf '%s/s%d/127.0.0.2_%d_ {"host":"127.0.0.2","port":%d,"name":"s%d-%d","weight":1}\n' \
			"$root" "$i" $((20000 + j)) $((20000 + j)) "$i" "$j"
	done
done >"$SD_TMP/nodes"

write_config() { # FILE EXTRA_HAPROXY_JSON
	{
		echo '{"services": {'
		local sep='' i
		for ((i = 1; i <= S; i++)); do
			printf '%s"s%d": {"discovery": {"method": "zookeeper", "hosts": ["%s"], "path": "%s/s%d"},\n' \
				"$sep" "$i" "$SD_ZK_ADDR" "$root" "$i"
			printf '  "haproxy": {"port": %d, "bind_address": "127.0.%d.%d", "listen": ["mode http"]}}\n' \
				"$lb_port" $((1 + (i - 1) / 250)) $((1 + (i - 1) % 250))
			sep=','
		done
		cat <<-JSON
			},
			"haproxy": {
			  "config_file_path": "$cfg",
			  "do_writes": true,
			  "do_reloads": true,
			  "socket_file_path": "$sock",
			  "global": ["maxconn 4096"],
			  "defaults": ["mode http", "timeout connect 2s", "timeout client 30s", "timeout server 30s"]
			  $2
			}}
		JSON
	} >"$1"
}

# serving N: HAProxy has N servers, running (op state 2) and not in maintenance
serving_count() {
	"$SD_BIN/smartdock-watcher" --cli "$sock" "show servers state" 2>/dev/null |
		awk 'NF > 10 && $1 !~ /^#/ && $6 == 2 && $7 == 0 { n++ } END { print n + 0 }'
}
cfg_count() { grep -c '^[[:space:]]*server ' "$cfg" 2>/dev/null || echo 0; }

write_config "$SD_TMP/once.json" ', "do_reloads": false'
sed -i 's/"do_reloads": true,//' "$SD_TMP/once.json"
"$SD_BIN/smartdock-watcher" --once -c "$SD_TMP/once.json" >>"$SD_TMP/once.log" 2>&1 || sd_fail "--once failed"
mkdir -p "$SD_TMP/haproxy"
sd_bg haproxy haproxy -W -db -f "$cfg" -S "$SD_TMP/haproxy/master.sock"
sd_wait_for "haproxy answers on its stats socket" 60 bash -c "[ -S '$sock' ] && '$SD_BIN/smartdock-watcher' --cli '$sock' 'show info' | grep -q Pid"
write_config "$SD_TMP/watcher.json" ", \"reload_command\": \"kill -USR2 $(sd_haproxy_pid)\""
# BENCH_WRAP: a command to run the watcher under (heaptrack -o FILE, ...)
read -r -a wrap <<<"${BENCH_WRAP:-}"
sd_bg watcher "${wrap[@]}" "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
sd_wait_for "runtime API ready" 60 sd_log_has watcher "runtime: stats socket .* answers from haproxy pid"
sleep 2
wpid=$(sd_pid watcher)
[ -n "${BENCH_WRAP:-}" ] && wpid=$(pgrep -n -f "smartdock-watcher -v -c $SD_TMP/watcher.json")
hpid0=$(sd_hap_worker_pid "$sock")
reloads0=$(sd_watcher_reloads watcher)
cpu0=$(bench_proc_cpu_ms "$wpid")
zcpu0=$(bench_proc_cpu_ms "$(sd_pid zk)")
perf_opts=(-F 999 -g)
[ "${BENCH_PERF:-0}" = dwarf ] && perf_opts=(-F 250 --call-graph dwarf,16384)
if [ "${BENCH_PERF:-0}" != 0 ]; then
	sd_bg perf-burst perf record -q "${perf_opts[@]}" -p "$wpid" -o "$SD_TMP/perf-burst.data"
	sleep 0.5
fi
load_burst=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- burst
sd_bg writer "$SD_ZKCTL" "$SD_ZK_ADDR" bulk-create "$SD_TMP/nodes" ephemeral sequential hold
sd_wait_for "znodes written" 300 sd_log_has writer "^created $want failed 0 "
read -r first_ms last_ms < <(awk '/^created / { print $6, $8 }' "$SD_TMP/writer.log")
serving_ms='' cfg_ms=''
deadline=$((SECONDS + 300))
while [ $SECONDS -lt $deadline ] && { [ -z "$serving_ms" ] || [ -z "$cfg_ms" ]; }; do
	[ -z "$serving_ms" ] && [ "$(serving_count)" = "$want" ] && serving_ms=$(bench_now_ms)
	[ -z "$cfg_ms" ] && [ "$(cfg_count)" = "$want" ] && cfg_ms=$(bench_now_ms)
	sleep 0.01
done
[ -n "$serving_ms" ] || sd_fail "HAProxy never served all $want servers (has $(serving_count))"
[ -n "$cfg_ms" ] || sd_fail "haproxy.cfg never named all $want servers"
sleep 1
read -r hwm rss < <(bench_proc_mem "$wpid")
read -r rss_anon rss_file < <(bench_proc_rss_split "$wpid")
# and once every settle timer (state file, malloc_trim) has fired: the
# reading above may fall before the last trim
sleep 4
read -r _ rss_settled < <(bench_proc_mem "$wpid")
read -r rss_anon_settled rss_file_settled < <(bench_proc_rss_split "$wpid")
# where the resident memory is: the biggest mappings (KiB)
awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 ? $6 : "[anon]" } /^Rss:/ { rss[name] += $2 }
	END { for (n in rss) if (rss[n] >= 256) print rss[n], n }' "/proc/$wpid/smaps" | sort -rn | head -n 8 >"$SD_TMP/maps"
cpu1=$(bench_proc_cpu_ms "$wpid")
zcpu1=$(bench_proc_cpu_ms "$(sd_pid zk)")
reloads1=$(sd_watcher_reloads watcher)
hpid1=$(sd_hap_worker_pid "$sock")
if [ "${BENCH_PERF:-0}" != 0 ]; then
	sd_kill perf-burst INT
	sd_wait_for "perf written" 60 bash -c "! kill -0 $(sd_pid perf-burst) 2>/dev/null"
fi

# ---------------------------------------------------------------- churn
if [ "$CHURN_S" -gt 0 ]; then
	sleep 2
	if [ "${BENCH_PERF:-0}" != 0 ]; then
		sd_bg perf-churn perf record -q "${perf_opts[@]}" -p "$wpid" -o "$SD_TMP/perf-churn.data"
		sleep 0.5
	fi
	load_churn=$(cut -d' ' -f1-3 /proc/loadavg)
	ccpu0=$(bench_proc_cpu_ms "$wpid")
	creloads0=$(sd_watcher_reloads watcher)
	wlines0=$(wc -l <"$SD_TMP/watcher.log")
	sd_bg churn "$SD_BIN/tests/routable" churn "$SD_ZK_ADDR" "$root" "$S" "$CHURN_RATE" "$CHURN_S" 40000
	sd_wait_for "churn done" $((CHURN_S * 3 + 60)) sd_log_has churn "^churn done"
	sleep 3
	ccpu1=$(bench_proc_cpu_ms "$wpid")
	creloads=$(($(sd_watcher_reloads watcher) - creloads0))
	hpid2=$(sd_hap_worker_pid "$sock")
	read -r chwm crss < <(bench_proc_mem "$wpid")
	if [ "${BENCH_PERF:-0}" != 0 ]; then
		sd_kill perf-churn INT
		sd_wait_for "perf written" 60 bash -c "! kill -0 $(sd_pid perf-churn) 2>/dev/null"
	fi
	# per change: request sent (epoch us) → the watcher's log line for its
	# command answered (ms precision)
	tail -n +"$((wlines0 + 1))" "$SD_TMP/watcher.log" >"$SD_TMP/churn-watcher.log"
	python3 - "$SD_TMP/churn.log" "$SD_TMP/churn-watcher.log" >"$SD_TMP/churn-lat" <<-'PY'
		import sys, datetime
		def us(ts):
		    d = datetime.datetime.strptime(ts.rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
		    return int(d.replace(tzinfo=datetime.timezone.utc).timestamp() * 1e6)
		added, name_port, drained = {}, {}, {}
		for line in open(sys.argv[2]):
		    f = line.split()
		    if len(f) < 8 or f[3] != "runtime:": continue
		    if f[4:6] == ["add", "server"]:
		        port = f[7].rsplit(":", 1)[1]
		        added.setdefault(port, us(f[0])); name_port[f[6]] = port
		    elif f[4:6] == ["set", "server"] and f[-1] == "drain" and f[6] in name_port:
		        drained.setdefault(name_port[f[6]], us(f[0]))
		for line in open(sys.argv[1]):
		    f = line.split()
		    if len(f) != 3: continue
		    kind, t, port = f[0], int(f[1]), f[2]
		    got = (added if kind == "add" else drained).get(port)
		    print(kind, "%.1f" % ((got - t) / 1000) if got else "missing")
	PY
fi

# ---------------------------------------------------------------- report
{
	echo
	echo "== $SD_TEST_NAME: $S services × $BACKENDS backends, runtime API on"
	bench_machine
	echo "burst: load at start $load_burst; writing all znodes took $((last_ms - first_ms)) ms"
	echo "  last znode → HAProxy serves all ($want, show servers state): $((serving_ms - last_ms)) ms"
	echo "  last znode → haproxy.cfg names all: $((cfg_ms - last_ms)) ms"
	echo "  watcher VmRSS $rss KiB, VmHWM $hwm KiB; CPU $((cpu1 - cpu0)) ms (ZooKeeper $((zcpu1 - zcpu0)) ms)"
	echo "  of the VmRSS: RssAnon (heap, stacks) $rss_anon KiB, RssFile (binary, libraries) $rss_file KiB"
	echo "  5 s after: VmRSS $rss_settled KiB (RssAnon $rss_anon_settled, RssFile $rss_file_settled)"
	echo "  reloads: $((reloads1 - reloads0)) (worker pid $hpid0 → $hpid1)"
	echo "  resident by mapping (KiB): $(tr '\n' ';' <"$SD_TMP/maps")"
	bench_result burst.last_to_serving_ms $((serving_ms - last_ms)) ms
	bench_result burst.last_to_cfg_ms $((cfg_ms - last_ms)) ms
	bench_result burst.vmrss_kib "$rss" KiB
	bench_result burst.vmhwm_kib "$hwm" KiB
	bench_result burst.rss_anon_kib "$rss_anon" KiB
	bench_result burst.rss_file_kib "$rss_file" KiB
	bench_result burst.settled_vmrss_kib "$rss_settled" KiB
	bench_result burst.settled_rss_anon_kib "$rss_anon_settled" KiB
	bench_result burst.watcher_cpu_ms $((cpu1 - cpu0)) ms
	bench_result burst.reloads $((reloads1 - reloads0)) count
	if [ "$CHURN_S" -gt 0 ]; then
		st=$(bench_stats "$(awk '$2 != "missing" { print $2 }' "$SD_TMP/churn-lat")")
		sta=$(bench_stats "$(awk '$1 == "add" && $2 != "missing" { print $2 }' "$SD_TMP/churn-lat")")
		std=$(bench_stats "$(awk '$1 == "del" && $2 != "missing" { print $2 }' "$SD_TMP/churn-lat")")
		missing=$(grep -c missing "$SD_TMP/churn-lat" || true)
		echo "churn: $CHURN_RATE changes/s for $CHURN_S s, load at start $load_churn"
		echo "  reloads: $creloads (worker pid $hpid1 → $hpid2)"
		echo "  change sent → its runtime command answered (watcher log, ms), p50 / p99 / max (n): all $st"
		echo "    adds (create → add server): $sta; removals (delete → state drain): $std; not seen: $missing"
		echo "  watcher CPU $((ccpu1 - ccpu0)) ms; VmRSS $crss KiB, VmHWM $chwm KiB"
		read -r p50 p99 max n <<<"$st"
		bench_result churn.applied_ms.p50 "$p50" ms
		bench_result churn.applied_ms.p99 "$p99" ms
		bench_result churn.applied_ms.max "$max" ms
		bench_result churn.changes_measured "$n" count
		bench_result churn.changes_not_seen "$missing" count
		bench_result churn.reloads "$creloads" count
		bench_result churn.watcher_cpu_ms $((ccpu1 - ccpu0)) ms
	fi
	if [ "${BENCH_PERF:-0}" != 0 ]; then
		for ph in burst churn; do
			[ -f "$SD_TMP/perf-$ph.data" ] || continue
			echo "perf ($ph), self time, top 15:"
			{ perf report -i "$SD_TMP/perf-$ph.data" --no-children --sort dso,symbol --stdio 2>/dev/null || true; } |
				awk '/^ +[0-9.]+%/ && n++ < 15 { print "  " $0 }'
		done
	fi
	cat "$SD_TMP/results"
} | tee -a "$SD_TMP/report"
if [ -n "${BENCH_WRAP:-}" ]; then # the watcher alone, so the wrapper writes its data
	kill -TERM "$wpid"
	sd_wait_for "the wrapped watcher done" 120 bash -c "! kill -0 $(sd_pid watcher) 2>/dev/null"
fi
sd_kill writer TERM
sd_kill churn TERM
sd_log "done"
