#!/usr/bin/env bash
# Synapse's multi watcher: a service whose discovery is one ZooKeeper and
# whose discovery_multi adds a second, with the sequential resolver, serves
# the first; when the first goes away it fails over to the second, and back
# when it returns. A union service over both serves both. Each is a
# three-server ensemble, and the first goes away entirely (all three
# members killed), as the issue asks.
. "$(dirname "$0")/../lib/lib.sh"
. "$SD_LIB_DIR/smartdock.sh"
. "$SD_LIB_DIR/cluster.sh"
sd_need_root
sd_setup
sd_zk_ensemble_start 3 zka
zka=$SD_ZK_HOSTS
zka_json=$(sd_zk_hosts_json)
zka_members=$SD_ZK_MEMBERS
sd_zk_ensemble_start 3 zkb
zkb=$SD_ZK_HOSTS
zkb_json=$(sd_zk_hosts_json)

app=$(sd_free_port)
seq_port=$(sd_free_port)
union_port=$(sd_free_port)
hello=$(sd_hello_bin)
sd_bg b1 "$hello" 127.0.0.2 "$app" b1
sd_bg b2 "$hello" 127.0.0.3 "$app" b2
# Persistent Nerve nodes (written by "someone else"), so they are there
# again when the first ZooKeeper comes back.
SD_ZK_ADDR=$zka sd_zkctl mkdirs /nerve/web
SD_ZK_ADDR=$zka sd_zkctl create /nerve/web/b1_ "{\"host\":\"127.0.0.2\",\"port\":$app,\"name\":\"b1\"}" sequential >/dev/null
SD_ZK_ADDR=$zkb sd_zkctl mkdirs /nerve/web
SD_ZK_ADDR=$zkb sd_zkctl create /nerve/web/b2_ "{\"host\":\"127.0.0.3\",\"port\":$app,\"name\":\"b2\"}" sequential >/dev/null

listen="\"listen\": [\"mode http\", \"option httpchk /\", \"http-check expect string Hello\"]"
services="{
 \"seq\": {\"discovery\": {\"method\": \"zookeeper\", \"hosts\": [$zka_json], \"path\": \"/nerve/web\"},
         \"discovery_multi\": {\"resolver\": {\"method\": \"sequential\", \"sequential_order\": [\"primary\", \"secondary\"]},
                               \"watchers\": {\"secondary\": {\"method\": \"zookeeper\", \"hosts\": \"$zkb\", \"path\": \"/nerve/web\"}}},
         \"haproxy\": {\"port\": $seq_port, \"bind_address\": \"127.0.0.1\", $listen}},
 \"all\": {\"discovery\": {\"method\": \"multi\", \"resolver\": {\"method\": \"union\"},
                         \"watchers\": {\"a\": {\"method\": \"zookeeper\", \"hosts\": [$zka_json], \"path\": \"/nerve/web\"},
                                        \"b\": {\"method\": \"zookeeper\", \"hosts\": [$zkb_json], \"path\": \"/nerve/web\"}}},
         \"haproxy\": {\"port\": $union_port, \"bind_address\": \"127.0.0.1\", $listen}}}"
sd_watcher_config "$SD_TMP/watcher.json" "$services" "\"managed\": true"
"$SD_BIN/smartdock-watcher" --check -c "$SD_TMP/watcher.json" 2>"$SD_TMP/check.log" ||
	sd_fail "--check: $(cat "$SD_TMP/check.log")"
if grep -E "not supported|unknown key" "$SD_TMP/check.log"; then sd_fail "warnings on a multi config"; fi
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"

seq=http://127.0.0.1:$seq_port/
sd_wait_for "sequential serves the first ZooKeeper's b1" 30 sd_all_answer "$seq" b1
sd_wait_for "union serves both" 30 sd_all_answer "http://127.0.0.1:$union_port/" b1 b2

# The first ensemble goes away, every member: the sequential service fails over.
for m in $zka_members; do sd_kill "$m" KILL; done
sd_wait_for "failed over to the second ZooKeeper's b2" 60 sd_all_answer "$seq" b2
sd_log_has watcher "service seq: sequential resolver now serves watcher secondary \(was primary\)" ||
	sd_fail "no failover line in the watcher's log"
# The union keeps what the lost ZooKeeper last said, as Synapse's does.
sd_all_answer "http://127.0.0.1:$union_port/" b1 b2 || sd_fail "union lost a backend: $(cat "$SD_TMP/answers.last")"

# A change on the second one is followed while it is in use.
SD_ZK_ADDR=$zkb sd_zkctl create /nerve/web/b1_ "{\"host\":\"127.0.0.2\",\"port\":$app,\"name\":\"b1\"}" sequential >/dev/null
sd_wait_for "the second ZooKeeper's change served" 30 sd_all_answer "$seq" b1 b2
SD_ZK_ADDR=$zkb sd_zkctl delete "/nerve/web/$(SD_ZK_ADDR=$zkb sd_zkctl ls /nerve/web | grep '^b1_')"
sd_wait_for "back to b2 alone" 30 sd_all_answer "$seq" b2

# The first comes back (same data): it is the first choice again.
for m in $zka_members; do sd_zk_member_start "$m"; done
SD_ZK_MEMBERS=$zka_members sd_zk_wait_quorum
sd_wait_for "back on the first ZooKeeper's b1" 60 sd_all_answer "$seq" b1
sd_log_has watcher "service seq: sequential resolver now serves watcher primary \(was secondary\)" ||
	sd_fail "no fail-back line in the watcher's log"
sd_alive watcher || sd_fail "watcher died"
sd_log "ok"
