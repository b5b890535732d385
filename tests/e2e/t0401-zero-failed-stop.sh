#!/usr/bin/env bash
# Not one failed request while containers come and go. With requests flowing
# through HAProxy (the watcher in managed mode, the demo's setup):
#  - a backend that ignores SIGTERM is `docker stop -t 3`'d: the registrator
#    deregisters it on the "kill" event, the watcher drains it through the
#    runtime API while it still serves, and it dies 3 s later, out of rotation;
#  - a backend is `docker kill`'ed (a crash: it dies before anyone can drain
#    it): the generated retry-on/redispatch defaults resend refused
#    connections to another server, but a request the dying process had
#    already accepted can still fail: those are counted and reported, not
#    held against the test;
#  - a new backend joins.
# Every other request must succeed, and none of it may need a reload.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk d1

lb=$(sd_free_port)
sock=$SD_TMP/haproxy.sock
run() { # run NAME ADDRESS [--ignore-term]
	local port
	port=$(sd_free_port)
	sd_run_web d1 "$1" "$2" "$port" ${3:-}
}
sd_label_registrator r1 127.0.0.2 d1
run stubborn 127.0.0.2 --ignore-term
run c2 127.0.0.2
run c3 127.0.0.2
sd_wait_for "three registered" 30 sd_zk_count_is /smartdock/services/web 3

sd_watcher_config "$SD_TMP/watcher.json" "$(sd_zk_service "$lb" /smartdock/services/web)" \
	"\"managed\": true, \"socket_file_path\": \"$sock\""
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
url=http://127.0.0.1:$lb/
sd_wait_for "all three answer" 30 sd_all_answer "$url" stubborn c2 c3
sd_wait_for "runtime API confirmed" 30 sd_log_has watcher "runtime: stats socket .* answers from haproxy pid"
pid0=$(sd_hap_worker_pid "$sock")
reloads0=$(sd_watcher_reloads watcher)

sd_load_start load "$url"
sd_wait_for "load flowing" 30 sd_load_at_least load 50 "^ok "

# 1. A backend that ignores SIGTERM: docker stop waits 3 s, then SIGKILL.
sd_docker d1 stop -t 3 stubborn >/dev/null
sd_wait_for "stubborn deleted from haproxy" 30 sd_log_has watcher "runtime: del server web/127\.0\.0\.2_"
n=$(sd_load_count load)
sd_wait_for "load after the stop" 30 sd_load_at_least load $((n + 50))

# 2. A crash: killed at once, deregistered after. The requests of this
# window (its line numbers in load.out) are judged apart.
crash_from=$(($(sd_load_count load) + 1))
sd_docker d1 kill c3 >/dev/null
sd_wait_for "c3 deregistered" 30 sd_zk_count_is /smartdock/services/web 1
sd_wait_for "c3 out of haproxy" 30 sd_log_has watcher "runtime: del server web/127\.0\.0\.2_.*_$(sd_container_id d1 c3 | cut -c1-12)"
crash_to=$(sd_load_count load)
n=$crash_to
sd_wait_for "load after the kill" 30 sd_load_at_least load $((n + 50))

# 3. A newcomer.
run c4 127.0.0.2
sd_wait_for "c4 in rotation" 30 sd_load_has_answer load "Hello from c4"
n=$(sd_load_count load)
sd_wait_for "load after the add" 30 sd_load_at_least load $((n + 50))
sd_load_stop load

total=$(sd_load_count load)
failed=$(awk -v a="$crash_from" -v b="$crash_to" '!/^ok / && (NR < a || NR > b)' "$SD_TMP/load.out")
crashed=$(awk -v a="$crash_from" -v b="$crash_to" '!/^ok / && NR >= a && NR <= b' "$SD_TMP/load.out")
[ -z "$failed" ] || sd_fail "$(echo "$failed" | wc -l) of $total requests failed outside the crash: $(echo "$failed" | sort | uniq -c | head)"
sd_log "$total requests; none failed at the stop or the add; $(printf '%s' "$crashed" | grep -c . || true) of $((crash_to - crash_from + 1)) failed around the crash"
grep -q "Hello from stubborn" "$SD_TMP/load.out" || sd_fail "stubborn never answered"
[ "$(sd_hap_worker_pid "$sock")" = "$pid0" ] || sd_fail "haproxy was reloaded (worker pid changed)"
[ "$(sd_watcher_reloads watcher)" = "$reloads0" ] || sd_fail "the watcher reloaded haproxy"
sd_wait_for "only c2 and c4 answer" 30 sd_all_answer "$url" c2 c4
sd_log "ok"
