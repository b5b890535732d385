#!/usr/bin/env bash
# TLS to a real Docker engine, configured as the Docker CLI and
# gliderlabs/registrator are: DOCKER_HOST=tcp://127.0.0.1:PORT,
# DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem). The
# engine wants client certificates (--tlsverify). A container registers; a
# client whose CA does not know the engine's certificate is refused with
# an error naming the certificate problem, and registers nothing.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_need_root
sd_need_cmd openssl
sd_setup
sd_zk_start
tcp=$(sd_free_port)
sd_dockerd_start d1 "$tcp" tls
sd_image d1

port=$(sd_free_port)
sd_docker d1 run -d --network host --name web1 --expose "$port" -e SERVICE_NAME=tlsweb \
	smartdock/hello /bin/hello 127.0.0.2 "$port" web1 >/dev/null
uri="zookeeper://$SD_ZK_ADDR/services"

# Without TLS the engine's tcp port answers nothing useful.
curl -s --max-time 5 "http://127.0.0.1:$tcp/version" | grep -q ApiVersion &&
	sd_fail "the engine answered plain http"

sd_bg reg env DOCKER_HOST="tcp://127.0.0.1:$tcp" DOCKER_TLS_VERIFY=1 \
	DOCKER_CERT_PATH="$DOCKER_CERT_PATH_d1" "$SD_BIN/smartdock-registrator" -v -ip 127.0.0.2 -explicit "$uri"
sd_wait_for "tlsweb registered over TLS" 60 sd_zk_count_is /services/tlsweb 1
sd_zkctl dump /services/tlsweb | grep -q "\"port\":$port" || sd_fail "payload: $(sd_zkctl dump /services/tlsweb)"
sd_kill reg TERM
sd_wait_for "withdrawn" 30 sd_zk_count_is /services/tlsweb 0

# Another CA: its client certificate is not trusted by the engine, and the
# engine's certificate is not trusted by the client.
sd_pki "$SD_TMP/wrong"
sd_bg wrong env DOCKER_HOST="tcp://127.0.0.1:$tcp" DOCKER_TLS_VERIFY=1 \
	DOCKER_CERT_PATH="$SD_TMP/wrong" "$SD_BIN/smartdock-registrator" -v -ip 127.0.0.2 -explicit "$uri"
sd_wait_for "a certificate error logged" 60 sd_log_has wrong "127\.0\.0\.1:$tcp.*(certificate|SSL)"
sd_log "wrong CA: $(grep -iE "certificate|SSL" "$SD_TMP/wrong.log" | head -1)"
sd_alive wrong || sd_fail "the registrator exited instead of retrying"
sd_zk_count_is /services/tlsweb 0 || sd_fail "registered through an untrusted engine"
sd_kill wrong TERM
sd_log "ok"
