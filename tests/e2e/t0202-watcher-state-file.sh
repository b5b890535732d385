#!/usr/bin/env bash
# Synapse's state_file_path and file_output: the watcher saves the backends
# it serves; restarted while ZooKeeper is down, it serves them again from the
# state file. file_output writes one JSON file per service.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk

# Two backends written by "someone else" (persistent Nerve nodes), served
# by plain hello processes.
app=$(sd_free_port)
lb=$(sd_free_port)
hello=$(sd_hello_bin)
sd_bg b1 "$hello" 127.0.0.2 "$app" b1
sd_bg b2 "$hello" 127.0.0.3 "$app" b2
sd_zkctl mkdirs /smartdock/services/web
for i in 2 3; do
	sd_zkctl create "/smartdock/services/web/b${i}_" "{\"host\":\"127.0.0.$i\",\"port\":$app,\"name\":\"b$i\"}" sequential >/dev/null
done

# A second service whose path does not exist yet.
late=$(sd_free_port)
services=$(sd_zk_service "$lb" /smartdock/services/web | sed '$ s/}$//')
services+=", \"late\": {\"discovery\": {\"method\": \"zookeeper\", \"hosts\": [\"$SD_ZK_ADDR\"],
  \"path\": \"/smartdock/services/late\"}, \"haproxy\": {\"port\": $late, \"bind_address\": \"127.0.0.1\",
  \"listen\": [\"mode http\"]}}}"

mkdir -p "$SD_TMP/out"
sd_watcher_config "$SD_TMP/watcher.json" "$services" \
	"\"managed\": true, \"state_file_path\": \"$SD_TMP/state.json\"}, \"file_output\": {\"output_directory\": \"$SD_TMP/out\""
"$SD_BIN/smartdock-watcher" --check -c "$SD_TMP/watcher.json"
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
url=http://127.0.0.1:$lb/
sd_wait_for "both answer" 30 sd_all_answer "$url" b1 b2
sd_wait_for "state saved" 30 grep -q "127.0.0.3" "$SD_TMP/state.json"
grep -q '"127.0.0.2"' "$SD_TMP/out/web.json" || sd_fail "file_output: $(cat "$SD_TMP/out/web.json")"
grep -q '"127.0.0.3"' "$SD_TMP/out/web.json" || sd_fail "file_output: $(cat "$SD_TMP/out/web.json")"

# The missing path is watched until it appears.
sd_wait_for "missing path noticed" 30 sd_log_has watcher "service late: /smartdock/services/late does not exist yet"
sd_zkctl create /smartdock/services/late "" >/dev/null
sd_zkctl create /smartdock/services/late/b1_ "{\"host\":\"127.0.0.2\",\"port\":$app}" sequential >/dev/null
sd_wait_for "late service served once its path appeared" 30 sd_all_answer "http://127.0.0.1:$late/" b1

# The watcher (and its HAProxy) go; so does ZooKeeper. The watcher comes
# back alone and serves what it saved.
sd_kill watcher TERM
sd_zk_stop
sd_bg watcher2 "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
sd_wait_for "state loaded" 30 sd_log_has watcher2 "starting from 3 saved backends"
sd_wait_for "both answer from the saved state" 30 sd_all_answer "$url" b1 b2

# ZooKeeper back, one backend gone meanwhile: the watcher follows it.
sd_zk_start
sd_zkctl delete "/smartdock/services/web/$(sd_zkctl ls /smartdock/services/web | grep '^b3_')"
sd_wait_for "only b1 answers" 30 sd_all_answer "$url" b1
sd_wait_for "state follows" 30 sh -c "! grep -q 127.0.0.3 '$SD_TMP/state.json'"
sd_log "ok"
