#!/usr/bin/env bash
# A 3-server ZooKeeper ensemble in trouble while deploys go on. Two simulated
# hosts (two dockerd, two registrators at 127.0.0.2 and .3), one watcher with
# the runtime API, requests flowing through HAProxy the whole time. Three
# faults, each during a rolling replacement (docker run new, docker stop old):
#   1. the leader is killed (-9);
#   2. a follower holding sessions is frozen (SIGSTOP) past the session
#      timeout, then thawed;
#   3. quorum is lost (2 of 3 down) for longer than the session timeout, a
#      container stops meanwhile, then quorum comes back.
# After each: not one failed request, no HAProxy reload, and Docker, the
# registry and HAProxy agree (sd_views_agree: nothing missing, stale or twice).
. "$(dirname "$0")/../lib/lib.sh"
. "$SD_LIB_DIR/smartdock.sh"
. "$SD_LIB_DIR/cluster.sh"
sd_need_root
sd_setup

session_ms=4000
sd_zk_ensemble_start 3
sd_dockerd_start d1
sd_dockerd_start d2
sd_image d1
sd_image d2

for h in 1 2; do
	sd_registrator_config "$SD_TMP/r$h.json" "127.0.0.$((h + 1))" "$(eval echo "\$DOCKER_HOST_d$h")" '{}' "$session_ms"
	sd_registrator "r$h" "$SD_TMP/r$h.json"
done

run() { # run HOST NAME: a new web container on host 1 or 2
	local port
	port=$(sd_free_port)
	sd_run_web "d$1" "$2" "127.0.0.$(($1 + 1))" "$port"
}
# replace HOST OLD NEW: a rolling replacement on one host.
replace() {
	run "$1" "$3"
	sd_wait_for "$3 registered" 60 sd_log_has "r$1" "registered web .*container=$(sd_container_id "d$1" "$3" | cut -c1-12)"
	sd_docker "d$1" stop -t 5 "$2" >/dev/null
}

a1=a1 b1=b1 a2=a2 b2=b2
run 1 "$a1"
run 1 "$b1"
run 2 "$a2"
run 2 "$b2"
sd_wait_for "four registered" 60 sd_zk_count_is /smartdock/services/web 4

lb=$(sd_free_port)
sock=$SD_TMP/haproxy.sock
sd_watcher_config "$SD_TMP/watcher.json" "$(sd_zk_service "$lb" /smartdock/services/web)" \
	"\"managed\": true, \"socket_file_path\": \"$sock\""
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
url=http://127.0.0.1:$lb/
sd_wait_for "all four answer" 60 sd_all_answer "$url" "$a1" "$b1" "$a2" "$b2"
sd_wait_for "runtime API confirmed" 60 sd_log_has watcher "runtime: stats socket .* answers from haproxy pid"
pid0=$(sd_hap_worker_pid "$sock")
reloads0=$(sd_watcher_reloads watcher)

hosts=(d1=127.0.0.2 d2=127.0.0.3)
agree() { sd_views_agree web "$sock" web zk "${hosts[@]}"; }
settled() { # settled WHAT: load kept flowing, nothing failed, nothing reloaded
	local n
	n=$(sd_load_count load)
	sd_wait_for "load flowing after $1" 60 sd_load_at_least load $((n + 30))
	local failed
	failed=$(sd_load_failures load)
	[ -z "$failed" ] || sd_fail "$1: $(wc -l <<<"$failed") failed requests: $(sort <<<"$failed" | uniq -c | head -5)"
	[ "$(sd_hap_worker_pid "$sock")" = "$pid0" ] || sd_fail "$1: haproxy was reloaded (worker pid changed)"
	[ "$(sd_watcher_reloads watcher)" = "$reloads0" ] || sd_fail "$1: the watcher reloaded haproxy"
	sd_log "$1: $(sd_load_count load) requests so far, none failed, no reload"
}

sd_load_start load "$url"
sd_wait_for "load flowing" 60 sd_load_at_least load 30 "^ok "
agree

# 1. The leader dies in the middle of a replacement on host 1.
leader=$(sd_zk_leader)
new=a1-next
run 1 "$new"
sd_kill "$leader" KILL
sd_log "killed leader $leader while $new starts"
sd_wait_for "a new leader" 60 sd_zk_leader
sd_docker d1 stop -t 5 "$a1" >/dev/null
a1=$new
agree
sd_zk_member_start "$leader"
sd_zk_wait_quorum
settled "leader killed"

# 2. A follower with client sessions freezes past the session timeout.
frozen=
for m in $(sd_zk_followers); do
	if [ "$(sd_zk_sessions_on "$m")" -gt 0 ]; then
		frozen=$m
		break
	fi
done
[ -n "$frozen" ] || frozen=$(sd_zk_followers | sed -n 1p)
sd_log "freezing follower $frozen ($(sd_zk_sessions_on "$frozen") sessions)"
sd_kill "$frozen" STOP
replace 2 "$b2" b2-next
b2=b2-next
sleep $((session_ms * 2 / 1000)) # the fault lasts past the session timeout
agree
sd_kill "$frozen" CONT
sd_zk_wait_quorum
agree
settled "follower frozen"

# 3. Quorum lost for longer than the session timeout; a container stops
# meanwhile (the registrator cannot write; HAProxy's checks and retries carry
# the requests); then quorum is back.
down=$(sd_zk_followers | sed -n 1p)
leader=$(sd_zk_leader)
sd_kill "$down" KILL
sd_kill "$leader" KILL
sd_log "quorum lost: $down and $leader down"
sd_docker d1 stop -t 5 "$b1" >/dev/null
sleep $((session_ms * 2 / 1000)) # the outage lasts past the session timeout
n=$(sd_load_count load)
sd_wait_for "HAProxy serves during the outage" 60 sd_load_at_least load $((n + 30)) "^ok "
sd_zk_member_start "$down"
sd_zk_member_start "$leader"
sd_zk_wait_quorum
agree
settled "quorum lost"

sd_load_stop load
sd_log "ok: $(sd_load_count load) requests, none failed, no reload"
