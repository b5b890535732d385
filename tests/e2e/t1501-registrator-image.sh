#!/usr/bin/env bash
# The registrator's container image (deploy/image.sh): imported into the test
# dockerd and run the way gliderlabs/registrator is run (Docker socket mounted
# read-only, --network host), it registers a container of that dockerd in
# ZooKeeper and withdraws it when the container stops.
#
# The image is built from a Release build of its own (deploy/image.sh caches
# it in build-image/); SMARTDOCK_BINARY=PATH imports that binary instead.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_need_root
sd_need_cmd ldd tar cmake
sd_world zk d1

sd_log "building the image (deploy/image.sh)"
DOCKER=$SD_DOCKER_CLI DOCKER_HOST=$DOCKER_HOST_d1 DOCKER_CONFIG=$SD_TMP/.docker \
	"$SD_SOURCE_DIR/deploy/image.sh" smartdock/registrator:test >"$SD_TMP/image.log" 2>&1 ||
	sd_fail "deploy/image.sh failed: $(tail -20 "$SD_TMP/image.log")"
image=$(tail -1 "$SD_TMP/image.log")
[ "$image" = smartdock/registrator:test ] || sd_fail "image.sh printed '$image' last"
sd_docker d1 image inspect "$image" >/dev/null
files=$(sd_docker d1 image inspect -f '{{.Size}}' "$image")
sd_log "image $image, $files bytes"

# Inside the container the socket is /var/run/docker.sock, as on a real host.
sd_registrator_config "$SD_TMP/reg.json" 127.0.0.2 unix:///var/run/docker.sock '{}'
sd_docker d1 run -d --name registrator --network host \
	-v "$SD_TMP/d1/docker.sock:/var/run/docker.sock:ro" \
	-v "$SD_TMP/reg.json:/etc/smartdock/registrator.json:ro" \
	"$image" -c /etc/smartdock/registrator.json -v >/dev/null
registrator_logs() { sd_docker d1 logs registrator 2>&1 | tail -30; }
registrator_running() {
	[ "$(sd_docker d1 inspect -f '{{.State.Running}}' registrator)" = true ] ||
		{ registrator_logs; return 1; }
}
registrator_running || sd_fail "the registrator container is not running"

port=$(sd_free_port)
sd_run_web d1 web1 127.0.0.2 "$port"
sd_wait_for "web1 registered by the containerised registrator" 30 \
	sd_zk_count_is /smartdock/services/web 1
node=$(sd_zkctl ls /smartdock/services/web)
case $node in
127.0.0.2_${port}_*) ;;
*) sd_fail "unexpected znode $node" ;;
esac
sd_docker d1 logs registrator 2>&1 | grep -q "registered web 127.0.0.2:$port" ||
	sd_fail "no 'registered' line in the container's log: $(registrator_logs)"

sd_docker d1 stop -t 5 web1 >/dev/null
sd_wait_for "web1 withdrawn" 30 sd_zk_count_is /smartdock/services/web 0

# docker stop sends SIGTERM to the registrator, PID 1 of its container: it
# exits 0 and its session closes.
sd_run_web d1 web2 127.0.0.2 "$(sd_free_port)"
sd_wait_for "web2 registered" 30 sd_zk_count_is /smartdock/services/web 1
sd_docker d1 stop -t 20 registrator >/dev/null
code=$(sd_docker d1 inspect -f '{{.State.ExitCode}}' registrator)
[ "$code" = 0 ] || sd_fail "the registrator exited $code: $(registrator_logs)"
sd_wait_for "web2 withdrawn at the registrator's exit" 30 sd_zk_count_is /smartdock/services/web 0
sd_log "PASS"
