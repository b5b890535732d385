#!/usr/bin/env bash
# The cluster harness: a 3-server ZooKeeper ensemble and a 3-member etcd
# cluster on loopback come up, elect a leader, survive the leader's death
# (a new one is elected, data written before is still there) and are torn
# down with everything else.
. "$(dirname "$0")/../lib/lib.sh"
. "$SD_LIB_DIR/smartdock.sh"
. "$SD_LIB_DIR/cluster.sh"
sd_need_root
sd_setup

sd_zk_ensemble_start 3
[ "$(tr ',' '\n' <<<"$SD_ZK_HOSTS" | wc -l)" = 3 ] || sd_fail "SD_ZK_HOSTS: $SD_ZK_HOSTS"
[ "$(sd_zk_followers | wc -l)" = 2 ] || sd_fail "expected 2 followers: $(sd_zk_followers)"
sd_zkctl mkdirs /sd-cluster/a
old=$(sd_zk_leader)
sd_kill "$old" KILL
sd_wait_for "a new ZooKeeper leader" 60 sd_zk_leader
new=$(sd_zk_leader)
[ "$new" != "$old" ] || sd_fail "the killed leader $old still leads"
sd_wait_for "data survives the leader's death" 30 sd_zkctl get /sd-cluster/a
sd_zk_member_start "$old"
sd_zk_wait_quorum
sd_log "ZooKeeper: leader $old killed, $new took over, $old rejoined as $(sd_zk_member_mode "$old")"

sd_etcd_cluster_start 3
sd_etcd_put /sd-cluster/k v1
old=$(sd_etcd_leader)
sd_kill "$old" KILL
# the client talks to a surviving member
for m in $SD_ETCD_MEMBERS; do [ "$m" != "$old" ] && { url=SD_ETCD_URL_$m; SD_ETCD_ENDPOINT=${!url}; break; }; done
sd_wait_for "a new etcd leader" 60 sd_etcd_leader
new=$(sd_etcd_leader)
[ "$new" != "$old" ] || sd_fail "the killed etcd leader $old still leads"
[ "$(sd_etcd_get /sd-cluster/k)" = v1 ] || sd_fail "etcd lost /sd-cluster/k"
sd_etcd_member_start "$old"
sd_etcd_wait_healthy
sd_log "etcd: leader $old killed, $new took over, $old rejoined"
