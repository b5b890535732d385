#!/usr/bin/env bash
# A 3-member etcd cluster in trouble while deploys go on. Two simulated
# hosts (two dockerd, two registrators at 127.0.0.2 and .3, each holding a
# lease on the whole member list), one watcher with
# the runtime API, open-loop requests (250/s, or SD_FAULT_RATE; a fresh connection each)
# through HAProxy the whole time. Three
# faults, each during a rolling replacement (docker run new, docker stop old):
#   1. the leader is killed (-9);
#   2. the member the watcher's watch stream is on (a follower, usually) is
#      frozen (SIGSTOP) past the lease TTL, then thawed (SD_ETCD_FREEZE=0
#      skips it);
#   3. quorum is lost (2 of 3 down) for longer than the lease TTL, a
#      container stops meanwhile, then quorum comes back.
# After each: not one failed request, no HAProxy reload, and Docker, the
# registry and HAProxy agree (sd_views_agree: nothing missing, stale or twice).
# 250/s by default, not the issue's 1000/s: on a shared 2-core machine
# 1000/s failed with the machine stalled and overloaded, failures that HAProxy
# and plain backends without smartdock show too (sd_fault_load_start in
# tests/lib/cluster.sh has the measurements).
. "$(dirname "$0")/../lib/lib.sh"
. "$SD_LIB_DIR/smartdock.sh"
. "$SD_LIB_DIR/cluster.sh"
sd_need_root
sd_setup

ttl_s=6
sd_etcd_cluster_launch 3
sd_fault_hosts_start
sd_etcd_cluster_ready
sd_fault_registrators etcd "$ttl_s"
a1=a1 b1=b1 a2=a2 b2=b2
sd_fault_serving etcd

# 1. The leader dies in the middle of a replacement on host 1.
leader=$(sd_etcd_leader)
new=a1-next
sd_fault_run 1 "$new"
sd_kill "$leader" KILL
sd_log "killed leader $leader while $new starts"
sd_etcd_use_live_member "$leader"
sd_wait_for "a new leader" 60 sd_etcd_leader
sd_docker d1 stop -t 5 "$a1" >/dev/null
a1=$new
sd_fault_agree etcd
sd_etcd_member_start "$leader"
sd_etcd_wait_healthy
sd_fault_settled "leader killed"

# 2. The member the watcher's watch stream is on freezes past the lease TTL
# (a follower, unless phase 1 left the watcher on the new leader). The stream
# stays open and silent: the watcher must notice and move to another member.
if [ "${SD_ETCD_FREEZE:-1}" = 1 ]; then
frozen=$(sd_etcd_watch_member watcher) || sd_fail "no watch stream in the watcher's log"
role=follower
[ "$frozen" = "$(sd_etcd_leader)" ] && role=leader
sd_log "freezing $frozen ($role), which the watcher's watch stream is on"
sd_kill "$frozen" STOP
sd_etcd_use_live_member "$frozen"
sd_fault_replace 2 "$b2" b2-next
b2=b2-next
sleep $((ttl_s * 2)) # the fault lasts past the lease TTL
sd_fault_agree etcd
sd_log "the watcher now watches through $(sd_etcd_watch_member watcher)"
sd_kill "$frozen" CONT
sd_etcd_wait_healthy
sd_fault_agree etcd
sd_fault_settled "member frozen"
fi

# 3. Quorum lost for longer than the lease TTL; a container stops meanwhile
# (the registrator cannot write; HAProxy's checks and retries carry the
# requests); then quorum is back.
leader=$(sd_etcd_leader)
down=$(sd_etcd_followers | sed -n 1p)
sd_kill "$down" KILL
sd_kill "$leader" KILL
sd_etcd_use_live_member "$leader" "$down"
sd_log "quorum lost: $down and $leader down"
sd_docker d1 stop -t 5 "$b1" >/dev/null
sleep $((ttl_s * 2)) # the outage lasts past the lease TTL
n=$(sd_fault_load_count ok)
sd_wait_for "HAProxy serves during the outage" 60 sd_fault_load_at_least $((n + 200)) ok
sd_etcd_member_start "$down"
sd_etcd_member_start "$leader"
sd_etcd_wait_healthy
sd_fault_agree etcd
sd_fault_settled "quorum lost"

sd_fault_load_stop
sd_log "ok: none failed, no reload"
