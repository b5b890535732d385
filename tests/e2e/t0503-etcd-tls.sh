#!/usr/bin/env bash
# etcd over TLS with client certificates: a registrator and a watcher given
# the CA, a client certificate and its key work; one without a client
# certificate says why in its log.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_need_root
sd_need_cmd openssl etcd
sd_setup

# A CA, a server certificate for 127.0.0.1 and a client certificate.
pki=$SD_TMP/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=smartdock-test-ca \
	-keyout "$pki/ca.key" -out "$pki/ca.pem" 2>/dev/null
cert() { # cert NAME EXTENSIONS
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
	printf '%s\n' "$2" >"$pki/$1.ext"
	openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
		-days 2 -extfile "$pki/$1.ext" -out "$pki/$1.pem" 2>/dev/null
}
# etcd's JSON gateway dials etcd's own gRPC port with the server
# certificate as its client certificate, so it needs clientAuth too.
cert server "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth"
cert client "extendedKeyUsage=clientAuth"

cport=$(sd_free_port)
pport=$(sd_free_port)
sd_bg etcd etcd --name tls --data-dir "$SD_TMP/etcd-data" \
	--listen-client-urls "https://127.0.0.1:$cport" --advertise-client-urls "https://127.0.0.1:$cport" \
	--cert-file "$pki/server.pem" --key-file "$pki/server.key" \
	--client-cert-auth --trusted-ca-file "$pki/ca.pem" \
	--listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
	--initial-cluster "tls=http://127.0.0.1:$pport" --initial-cluster-state new \
	--logger zap --log-outputs stderr
export SD_ETCD_ENDPOINT=https://127.0.0.1:$cport
export SD_ETCD_CURL_TLS="--cacert $pki/ca.pem --cert $pki/client.pem --key $pki/client.key"
tls_healthy() {
	sd_alive etcd || { echo "etcd exited"; return 1; }
	# shellcheck disable=SC2086
	curl -fsS --max-time 2 $SD_ETCD_CURL_TLS "$SD_ETCD_ENDPOINT/health" | grep -q '"health":"true"'
}
sd_wait_for "etcd healthy over TLS" 60 tls_healthy
sd_dockerd_start d1
sd_image d1

prefix=/smartdock/services/web/
app=$(sd_free_port)
lb=$(sd_free_port)
sd_docker d1 run -d --network host --name c1 -l smartdock.service=web -l smartdock.port="$app" \
	smartdock/hello /bin/hello 127.0.0.2 "$app" c1 >/dev/null
c1=127.0.0.2_${app}_$(sd_container_id d1 c1 | cut -c1-12)_127.0.0.2:${app}
tls="\"ca_file\": \"$pki/ca.pem\", \"cert_file\": \"$pki/client.pem\", \"key_file\": \"$pki/client.key\""

sd_etcd_registrator_config "$SD_TMP/r1.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}' 10 "$tls"
sd_registrator r1 "$SD_TMP/r1.json"
sd_wait_for "registered over TLS" 30 sd_etcd_count_is "$prefix" 1
sd_watcher_config "$SD_TMP/watcher.json" "$(sd_etcd_service "$lb" "$prefix" "$tls")" '"do_reloads": false'
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"
in_cfg() { grep -q "server $c1 " "$SD_TMP/haproxy.cfg" 2>/dev/null; }
sd_wait_for "watcher renders c1 read over TLS" 30 in_cfg

# The CA but no client certificate: etcd refuses the handshake.
sd_etcd_registrator_config "$SD_TMP/r2.json" 127.0.0.3 "$DOCKER_HOST_d1" '{}' 10 \
	"\"ca_file\": \"$pki/ca.pem\""
sd_registrator r2 "$SD_TMP/r2.json"
sd_wait_for "r2 explains" 30 sd_log_has r2 "error .*granting an etcd lease: etcd $SD_ETCD_ENDPOINT: .*(alert bad certificate|certificate required).*; retrying"
sd_etcd_count_is "$prefix" 1 || sd_fail "r2 registered without a client certificate"

sd_kill r1 TERM
sd_etcd_count_is "$prefix" 0 || sd_fail "r1's key left after SIGTERM over TLS"
sd_log "ok"
