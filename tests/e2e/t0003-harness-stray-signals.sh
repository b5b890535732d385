#!/usr/bin/env bash
# The harness never signals a process that took the pid of one it started,
# and a stray signal never ends a test script without a word.
#
# pid_max is 32768 here and every ZooKeeper or dockerd thread takes a pid, so
# pids come round within seconds. CI lost a run of t1301 to a signal that
# ended the script silently: bash runs the EXIT trap with status 0 after a
# fatal signal, so the teardown printed no logs.
. "$(dirname "$0")/../lib/lib.sh"
sd_setup

# A nested script: its own sd_setup and teardown, run to the end.
inner=$SD_TMP/inner.sh
cat >"$inner" <<'SH'
. "$SD_LIB_DIR/lib.sh"
sd_setup
kill -USR1 $$
kill -USR2 $$
kill -HUP $$
# "victim" ends; a stranger takes its pid (as a pid, and as the number of
# its process group), which is what pid reuse looks like to the harness
sd_bg victim sleep 300
victim_start=$(cat "$SD_TMP/.pids/victim.start")
sd_kill victim KILL
setsid sleep 301 </dev/null >/dev/null 2>&1 &
stranger=$!
echo "$stranger" >"$STRANGER_FILE"
echo "$stranger" >"$SD_TMP/.pids/victim"
echo "$victim_start" >"$SD_TMP/.pids/victim.start"
echo "bg victim" >>"$SD_TMP/.stack"
echo "$stranger $victim_start" >>"$SD_TMP/.pgids"
sd_alive victim && sd_fail "the stranger was taken for victim"
sd_kill victim TERM
echo "inner: alive at the end"
SH
export STRANGER_FILE=$SD_TMP/stranger
out=$(SD_LIB_DIR=$SD_LIB_DIR bash "$inner" 2>&1) || sd_fail "the inner script failed: $out"
for sig in USR1 USR2 HUP; do
	grep -q "stray SIG$sig to the test script: ignored" <<<"$out" || sd_fail "no word of SIG$sig: $out"
done
grep -q "inner: alive at the end" <<<"$out" || sd_fail "the inner script did not run to its end: $out"
stranger=$(cat "$STRANGER_FILE")
alive=no
_sd_running "$stranger" && alive=yes
kill -KILL "$stranger" 2>/dev/null || true
[ "$alive" = yes ] || sd_fail "the harness killed pid $stranger, which was not its own: $out"
sd_log "ok"
