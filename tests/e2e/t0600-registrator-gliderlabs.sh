#!/usr/bin/env bash
# gliderlabs/registrator's users switch without relabelling: its command line
# (registry URI, -ip, -explicit), its SERVICE_* metadata from env and labels
# (the examples of its docs/user/services.md), and zero-config registration
# under its default names. Containers run on the host network, where every
# exposed port counts as published (registrator's bridge/bridge.go).
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_world zk,etcd d1
sd_image_tag d1 progrium/redis:latest
sd_image_tag d1 progrium/nginx:latest
sd_image_tag d1 dockerfile/redis:latest

p_redis=$(sd_free_port)
p_db=$(sd_free_port)
p_http=$(sd_free_port)
p_https=$(sd_free_port)
p_n1=$(sd_free_port)
p_n2=$(sd_free_port)
p_lab=$(sd_free_port)
p_ign=$(sd_free_port)

run() { # NAME PORT [docker run args...] IMAGE: a hello container serving PORT on 127.0.0.2
	local name=$1 port=$2
	shift 2
	local image=${!#}
	sd_docker d1 run -d --network host --name "$name" "${@:1:$#-1}" "$image" \
		/bin/hello 127.0.0.2 "$port" "$name" >/dev/null
}
# services.md "Single service with defaults"
run redis.0 "$p_redis" --expose "$p_redis" progrium/redis
# "Single service with metadata"
run redis.1 "$p_db" --expose "$p_db" -e SERVICE_NAME=db -e SERVICE_TAGS=master,backups \
	-e SERVICE_REGION=us2 progrium/redis
# "Multiple services with metadata"
run nginx.0 "$p_http" --expose "$p_http" --expose "$p_https" -e SERVICE_${p_https}_NAME=https \
	-e SERVICE_${p_https}_ID=https.12345 -e SERVICE_${p_https}_SNI=enabled \
	-e SERVICE_${p_http}_NAME=http -e SERVICE_TAGS=www progrium/nginx
# "Multiple services with defaults"
run nginx.1 "$p_n1" --expose "$p_n1" --expose "$p_n2" progrium/nginx
# "Using labels to define metadata"
run redis.2 "$p_lab" --expose "$p_lab" -l SERVICE_NAME=labelled -l SERVICE_REGION=eu progrium/redis
# SERVICE_IGNORE
run ignored "$p_ign" --expose "$p_ign" -e SERVICE_IGNORE=true progrium/redis

uri="zookeeper://$SD_ZK_ADDR/services"
export DOCKER_HOST=$DOCKER_HOST_d1
"$SD_BIN/smartdock-registrator" -ip 127.0.0.2 --check "$uri" || sd_fail "--check refused $uri"

# Zero-config: every exposed port, registrator's names.
sd_bg reg "$SD_BIN/smartdock-registrator" -v -ip 127.0.0.2 "$uri"
for svc in redis db https http "nginx-$p_n1" "nginx-$p_n2" labelled; do
	sd_wait_for "$svc registered" 30 sd_zk_count_is "/services/$svc" 1
done
[ "$(sd_zkctl ls /services | wc -l)" = 7 ] || sd_fail "unexpected services: $(sd_zkctl ls /services)"

data=$(sd_zkctl dump /services/redis)
echo "$data" | grep -q "\"host\":\"127.0.0.2\",\"port\":$p_redis" || sd_fail "redis payload $data"
data=$(sd_zkctl dump /services/db)
echo "$data" | grep -q '"tags":"master,backups"' || sd_fail "db payload $data"
echo "$data" | grep -q '"region":"us2"' || sd_fail "db payload $data"
data=$(sd_zkctl dump /services/https)
echo "$data" | grep -q "\"port\":$p_https" || sd_fail "https payload $data"
echo "$data" | grep -q '"name":"https.12345"' || sd_fail "https payload $data"
echo "$data" | grep -q '"sni":"enabled"' || sd_fail "https payload $data"
echo "$data" | grep -q '"tags":"www"' || sd_fail "https payload $data"
data=$(sd_zkctl dump /services/labelled)
echo "$data" | grep -q '"region":"eu"' || sd_fail "labelled payload $data"

# A container started later registers at once; a stopped one leaves.
p_late=$(sd_free_port)
run late "$p_late" --expose "$p_late" dockerfile/redis
sd_wait_for "a second redis registered" 30 sd_zk_count_is /services/redis 2
sd_docker d1 stop -t 1 late >/dev/null
sd_wait_for "the late redis withdrawn" 30 sd_zk_count_is /services/redis 1

sd_kill reg TERM
[ "$(sd_zk_count /services/redis)" = 0 ] || sd_fail "registrations left after SIGTERM"

# -explicit: only what SERVICE_NAME names (and smartdock.service).
sd_bg reg2 "$SD_BIN/smartdock-registrator" -v -ip 127.0.0.2 -explicit "$uri"
for svc in db https http labelled; do
	sd_wait_for "$svc registered (-explicit)" 30 sd_zk_count_is "/services/$svc" 1
done
sd_wait_for "resync done" 30 sd_log_has reg2 "registered labelled"
for svc in redis "nginx-$p_n1" "nginx-$p_n2"; do
	sd_zk_count_is "/services/$svc" 0 || sd_fail "-explicit registered $svc"
done
sd_kill reg2 TERM

# The etcd URI: the same names under the prefix.
sd_bg reg3 "$SD_BIN/smartdock-registrator" -v -ip 127.0.0.2 -ttl 10 -ttl-refresh 2 \
	"etcd://${SD_ETCD_ENDPOINT#http://}/reg"
sd_wait_for "db in etcd" 30 sd_etcd_count_is /reg/db/ 1
sd_wait_for "redis in etcd" 30 sd_etcd_count_is /reg/redis/ 1
sd_etcd_get "/reg/db/127.0.0.2_${p_db}_$(sd_container_id d1 redis.1 | cut -c1-12)" | grep -q '"region":"us2"' ||
	sd_fail "db key in etcd: $(sd_etcd_keys /reg/)"
sd_kill reg3 TERM
sd_wait_for "lease revoked" 30 sd_etcd_count_is /reg/ 0

# -deregister on-success: a crash (exit 3) keeps the registration, its
# restart keeps the same znode, a clean exit (0) withdraws it.
p_fl=$(sd_free_port)
sd_docker d1 run -d --network host --name flaky --expose "$p_fl" -e SERVICE_NAME=flaky \
	progrium/redis sh -c "/bin/hello 127.0.0.2 $p_fl flaky & rm -f /tmp/code;
		while [ ! -e /tmp/code ]; do sleep 0.1; done; exit \$(cat /tmp/code)" >/dev/null
sd_bg reg4 "$SD_BIN/smartdock-registrator" -v -ip 127.0.0.2 -explicit -resync 3600 \
	-deregister on-success "$uri"
sd_wait_for "flaky registered" 30 sd_zk_count_is /services/flaky 1
czxid=$(sd_zkctl czxids /services/flaky)
sd_docker d1 exec flaky sh -c 'echo 3 >/tmp/code'
sd_wait_for "flaky kept after exit 3" 30 sd_log_has reg4 "exited with code 3: its 1 registration kept"
[ "$(sd_docker d1 inspect -f '{{.State.Running}}' flaky)" = false ] || sd_fail "flaky still runs"
sd_zk_count_is /services/flaky 1 || sd_fail "on-success withdrew a crashed container"
sd_docker d1 start flaky >/dev/null
sd_wait_for "flaky serving again" 30 sd_port_open 127.0.0.2 "$p_fl"
sd_zk_count_is /services/flaky 1 || sd_fail "flaky's restart duplicated or lost its znode"
[ "$(sd_zkctl czxids /services/flaky)" = "$czxid" ] ||
	sd_fail "flaky's znode was recreated: $czxid -> $(sd_zkctl czxids /services/flaky)"
sd_docker d1 exec flaky sh -c 'echo 0 >/tmp/code'
sd_wait_for "flaky withdrawn after exit 0" 30 sd_zk_count_is /services/flaky 0
sd_kill reg4 TERM

# -retry-attempts: a registry that never answers is given up after N + 1
# attempts, -retry-interval apart, with exit status 1.
dead=$(sd_free_port)
rc=0
timeout 60 "$SD_BIN/smartdock-registrator" -ip 127.0.0.2 -retry-attempts 2 -retry-interval 300 \
	"zookeeper://127.0.0.1:$dead/x" 2>"$SD_TMP/retry.log" || rc=$?
[ "$rc" = 1 ] || sd_fail "-retry-attempts: exit status $rc, want 1: $(cat "$SD_TMP/retry.log")"
grep -q "not connected after 3 attempts 300 ms apart" "$SD_TMP/retry.log" ||
	sd_fail "-retry-attempts: $(tail -5 "$SD_TMP/retry.log")"
sd_log "ok"
