#!/usr/bin/env bash
# The harness itself: every server tests/lib/lib.sh starts comes up, serves,
# and is gone afterwards, leaving no process and no mount behind.
. "$(dirname "$0")/../lib/lib.sh"
sd_need_root
sd_setup

# ZooKeeper, and zkCli against it
sd_zk_start
sd_zkcli create /sd-harness hello-zk >/dev/null 2>&1
got=$(sd_zkcli get /sd-harness)
[ "$got" = hello-zk ] || sd_fail "zkcli get /sd-harness: '$got'"
sd_zkcli ls / | grep sd-harness >/dev/null || sd_fail "zkcli ls / does not list sd-harness"
if sd_zkcli get /sd-harness-missing >/dev/null 2>&1; then
	sd_fail "zkcli get of a missing node succeeded"
fi

# two dockerd side by side, one container on its own loopback address in each
sd_dockerd_start d1
d2_port=$(sd_free_port)
sd_dockerd_start d2 "$d2_port"
sd_image d1
sd_image d2
sd_image_tag d2 example.test/hello:v1
sd_docker d2 image inspect example.test/hello:v1 >/dev/null

p1=$(sd_free_port)
p2=$(sd_free_port)
sd_docker d1 run -d --name c1 --network host "$SD_IMAGE" /bin/hello 127.0.0.2 "$p1" c1 >/dev/null
sd_docker d2 run -d --name c2 --network host "$SD_IMAGE" /bin/hello 127.0.0.3 "$p2" c2 >/dev/null
sd_wait_for "c1 serves on 127.0.0.2:$p1" 30 curl -fsS --max-time 2 "http://127.0.0.2:$p1/"
sd_wait_for "c2 serves on 127.0.0.3:$p2" 30 curl -fsS --max-time 2 "http://127.0.0.3:$p2/"
[ "$(curl -fsS "http://127.0.0.2:$p1/")" = "Hello from c1" ] || sd_fail "c1 body"
[ "$(curl -fsS "http://127.0.0.3:$p2/x/y?z")" = "Hello from c2" ] || sd_fail "c2 body"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X OPTIONS "http://127.0.0.2:$p1/")
[ "$code" = 200 ] || sd_fail "OPTIONS got $code"
# the TCP API of d2 answers too
curl -fsS --max-time 5 "http://127.0.0.1:$d2_port/version" | grep '"ApiVersion"' >/dev/null ||
	sd_fail "dockerd d2 does not answer on tcp 127.0.0.1:$d2_port"
# and the two daemons do not see each other's containers
[ -z "$(sd_docker d1 ps -q --filter name=c2)" ] || sd_fail "d1 sees c2"

# a container that ignores SIGTERM makes `docker stop -t 2` wait for SIGKILL
p3=$(sd_free_port)
sd_docker d1 run -d --name c3 --network host "$SD_IMAGE" \
	/bin/hello 127.0.0.4 "$p3" c3 --ignore-term >/dev/null
sd_wait_for "c3 serves" 30 curl -fsS --max-time 2 "http://127.0.0.4:$p3/"
t0=$(date +%s%N)
sd_docker d1 stop -t 2 c3 >/dev/null
sd_log "docker stop -t 2 of a SIGTERM-ignoring container took $((($(date +%s%N) - t0) / 1000000)) ms"

# HAProxy in front of both containers
hp=$(sd_free_port)
cat >"$SD_TMP/haproxy.cfg" <<EOF
global
	maxconn 1000
defaults
	mode http
	timeout connect 2s
	timeout client 10s
	timeout server 10s
frontend www
	bind 127.0.0.1:$hp
	default_backend hello
backend hello
	balance roundrobin
	option httpchk /
	default-server inter 500ms fall 2 rise 1
	server c1 127.0.0.2:$p1 check
	server c2 127.0.0.3:$p2 check
EOF
sd_haproxy_start "$SD_TMP/haproxy.cfg"
seen_both() {
	local a b
	a=$(curl -fsS --max-time 2 "http://127.0.0.1:$hp/")
	b=$(curl -fsS --max-time 2 "http://127.0.0.1:$hp/")
	echo "$a / $b"
	[ "$(printf '%s\n' "$a" "$b" | sort -u | tr '\n' ' ')" = "Hello from c1 Hello from c2 " ]
}
sd_wait_for "haproxy balances over c1 and c2" 30 seen_both

# etcd through its v3 JSON gateway
sd_etcd_start
key=$(printf /sd-harness | base64)
val=$(printf hello-etcd | base64)
curl -fsS -X POST "$SD_ETCD_ENDPOINT/v3/kv/put" -d "{\"key\":\"$key\",\"value\":\"$val\"}" >/dev/null
reply=$(curl -fsS -X POST "$SD_ETCD_ENDPOINT/v3/kv/range" -d "{\"key\":\"$key\"}")
got=$(sed -n 's/.*"value":"\([^"]*\)".*/\1/p' <<<"$reply" | base64 -d)
[ "$got" = hello-etcd ] || sd_fail "etcd range gave '$got' ($reply)"

# restarts keep ports and data
sd_zk_restart
[ "$(sd_zkcli get /sd-harness)" = hello-zk ] || sd_fail "zk lost /sd-harness across a restart"
sd_etcd_restart
curl -fsS -X POST "$SD_ETCD_ENDPOINT/v3/kv/range" -d "{\"key\":\"$key\"}" | grep "\"$val\"" >/dev/null ||
	sd_fail "etcd lost the key across a restart"

# teardown leaves nothing behind
tmp=$SD_TMP
pids="$(sd_pid zk) $(sd_pid etcd) $(sd_haproxy_pid) $(sd_pid dockerd-d1) $(sd_pid dockerd-d2)"
pids="$pids $(cat "$tmp/d1/exec/containerd/containerd.pid") $(cat "$tmp/d2/exec/containerd/containerd.pid")"
pids="$pids $(pgrep -f "^/bin/hello 127.0.0.2 $p1 c1\$") $(pgrep -f "^/bin/hello 127.0.0.3 $p2 c2\$")"
sd_log "tearing down (pids $pids)"
sd_teardown
for pid in $pids; do
	if [ -e "/proc/$pid" ] && [ "$(awk '{ print $3 }' "/proc/$pid/stat")" != Z ]; then
		sd_fail "pid $pid ($(cat "/proc/$pid/comm")) survived the teardown"
	fi
done
if ps -eo args= | grep -F "$tmp/" | grep -v grep; then
	sd_fail "processes mentioning $tmp survived the teardown"
fi
if grep -F " $tmp/" /proc/self/mounts; then
	sd_fail "mounts under $tmp survived the teardown"
fi
[ ! -e "$tmp" ] || sd_fail "$tmp still exists"
for port in "$p1" "$p2" "$p3" "$hp" "$SD_ZK_PORT"; do
	[ ! -e "$SD_PORTS_DIR/$port" ] || sd_fail "port $port still reserved"
done
sd_log "harness OK"
