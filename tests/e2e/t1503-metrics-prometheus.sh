#!/usr/bin/env bash
# Prometheus metrics, scraped by a real Prometheus (Debian's package, on
# loopback, 1 s scrape interval, its own temp dir): the series the operator
# needs exist for both daemons and move as containers come and go, as seen
# through Prometheus's query API.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/smartdock.sh"
sd_need_root
sd_need_cmd prometheus jq curl
sd_world zk d1

reg_metrics=127.0.0.1:$(sd_free_port)
w_metrics=127.0.0.1:$(sd_free_port)
prom=127.0.0.1:$(sd_free_port)

sd_registrator_config "$SD_TMP/reg.json" 127.0.0.2 "$DOCKER_HOST_d1" '{}'
jq --arg l "$reg_metrics" '. + {metrics: {listen: $l}}' "$SD_TMP/reg.json" >"$SD_TMP/reg.json.new"
mv "$SD_TMP/reg.json.new" "$SD_TMP/reg.json"
sd_registrator reg "$SD_TMP/reg.json"

lb=$(sd_free_port)
# reload_command "true": every change is a (validated) reload, which the
# reload counter sees; no HAProxy has to run.
sd_watcher_config "$SD_TMP/watcher.json" "$(sd_zk_service "$lb" /smartdock/services/web)" \
	'"reload_command": "true"'
jq --arg l "$w_metrics" '. + {metrics: {listen: $l}}' "$SD_TMP/watcher.json" >"$SD_TMP/w.json.new"
mv "$SD_TMP/w.json.new" "$SD_TMP/watcher.json"
sd_bg watcher "$SD_BIN/smartdock-watcher" -v -c "$SD_TMP/watcher.json"

sd_wait_for "registrator serves /metrics" 30 curl -fsS -o /dev/null "http://$reg_metrics/metrics"
sd_maps_library reg libcurl || sd_fail "the registrator talks to Docker without libcurl mapped?"
sd_wait_for "watcher serves /metrics" 30 curl -fsS -o /dev/null "http://$w_metrics/metrics"
# libmicrohttpd is dlopen'd because metrics are configured; this watcher
# (ZooKeeper) never needs libcurl.
sd_maps_library watcher libmicrohttpd || sd_fail "the watcher serves /metrics without libmicrohttpd mapped?"
if sd_maps_library watcher libcurl; then sd_fail "a ZooKeeper watcher has libcurl mapped"; fi
curl -fsS -D "$SD_TMP/headers" -o "$SD_TMP/reg.metrics" "http://$reg_metrics/metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$SD_TMP/headers" ||
	sd_fail "content type: $(cat "$SD_TMP/headers")"

mkdir -p "$SD_TMP/prom"
cat >"$SD_TMP/prom/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: registrator
    static_configs: [{targets: ["$reg_metrics"]}]
  - job_name: watcher
    static_configs: [{targets: ["$w_metrics"]}]
YAML
sd_bg prometheus prometheus --config.file="$SD_TMP/prom/prometheus.yml" \
	--storage.tsdb.path="$SD_TMP/prom/data" --web.listen-address="$prom" \
	--web.console.templates="$SD_TMP/prom" --web.console.libraries="$SD_TMP/prom"
sd_wait_for "prometheus ready" 60 curl -fsS -o /dev/null "http://$prom/-/ready"

# query EXPR: the values of an instant query, one per line (sorted).
query() {
	curl -fsS --max-time 5 "http://$prom/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[].value[1]' | sort
}
# query_is EXPR VALUE: the query gives exactly one series, of VALUE.
query_is() {
	local got
	got=$(query "$1") || return 1
	echo "$1 = ${got:-(none)}" >"$SD_TMP/query.last"
	[ "$got" = "$2" ]
}
query_gt() { # query_gt EXPR N: one series, above N
	local got
	got=$(query "$1") || return 1
	echo "$1 = ${got:-(none)}" >"$SD_TMP/query.last"
	[ -n "$got" ] && [ "$(wc -l <<<"$got")" = 1 ] && awk -v g="$got" -v n="$2" 'BEGIN { exit !(g > n) }'
}
wait_query() { # wait_query DESC EXPR VALUE
	sd_wait_for "$1 ($(cat "$SD_TMP/query.last" 2>/dev/null))" 60 query_is "$2" "$3"
}

wait_query "both targets up" 'sum(up{job=~"registrator|watcher"})' 2
for job in registrator watcher; do
	for m in process_resident_memory_bytes process_cpu_seconds_total process_open_fds \
		process_start_time_seconds; do
		query_gt "$m{job=\"$job\"}" 0 || sd_fail "no $m for $job: $(cat "$SD_TMP/query.last")"
	done
	query_is "smartdock_build_info{job=\"$job\",daemon=\"$job\"}" 1 ||
		sd_fail "no smartdock_build_info for $job"
done
wait_query "registrator connected to docker" 'smartdock_registrator_docker_connected' 1
wait_query "registrator connected to zookeeper" 'smartdock_registrator_registry_connected' 1
wait_query "watcher connected to zookeeper" 'smartdock_watcher_registry_connected' 1
query_is 'smartdock_registrator_reconnects_total' 0 || sd_fail "reconnects: $(cat "$SD_TMP/query.last")"

# Containers come: the gauges follow, the watcher reloads and times it.
sd_run_web d1 web1 127.0.0.2 "$(sd_free_port)"
wait_query "1 registration" 'smartdock_registrator_registrations{service="web"}' 1
wait_query "1 backend" 'smartdock_watcher_backends{service="web"}' 1
# web2 with an http check of ours (smartdock.check.* labels): its runs count.
web2_port=$(sd_free_port)
sd_docker d1 run -d --network host --name web2 -l smartdock.service=web -l smartdock.port="$web2_port" \
	-l smartdock.check.type=http -l smartdock.check.uri=/health -l smartdock.check_interval=0.5 \
	smartdock/hello /bin/hello 127.0.0.2 "$web2_port" web2 >/dev/null
wait_query "2 registrations" 'smartdock_registrator_registrations{service="web"}' 2
sd_wait_for "check runs counted" 60 query_gt 'smartdock_registrator_checks_total{service="web",result="healthy"}' 0
wait_query "2 backends" 'smartdock_watcher_backends{service="web"}' 2
reloads=$(query smartdock_watcher_haproxy_reloads_total)
[ "${reloads:-0}" -ge 1 ] || sd_fail "no reload counted: '$reloads'"
sd_wait_for "apply_seconds observed" 60 query_gt 'smartdock_watcher_apply_seconds_count' 0
query_gt 'smartdock_watcher_apply_seconds_bucket{le="+Inf"}' 0 || sd_fail "no +Inf bucket"

# ... and go.
sd_docker d1 stop -t 5 web1 >/dev/null
wait_query "1 registration again" 'smartdock_registrator_registrations{service="web"}' 1
wait_query "1 backend again" 'smartdock_watcher_backends{service="web"}' 1
sd_wait_for "another reload counted" 60 query_gt smartdock_watcher_haproxy_reloads_total "$reloads"

# A registration the watcher refuses is counted with its reason.
sd_zkctl create /smartdock/services/web/bogus_0000000001 '{"host":"127.0.0.9","port":"x"}' >/dev/null
sd_wait_for "rejection counted" 60 query_gt 'sum(smartdock_watcher_rejected_registrations_total{service="web"})' 0
sd_log "rejections: $(curl -fsS "http://$w_metrics/metrics" | grep '^smartdock_watcher_rejected')"

# A lost Docker connection shows, and its reconnect is counted.
sd_dockerd_restart d1
sd_wait_for "a reconnect counted" 90 query_gt smartdock_registrator_reconnects_total 0
wait_query "docker connected again" 'smartdock_registrator_docker_connected' 1

# Every query of the Grafana dashboard (deploy/) is valid PromQL and finds data.
while IFS= read -r expr; do
	expr=${expr//\$__rate_interval/1m}
	expr=${expr//\$instance/.*}
	expr=${expr//\$job/.*}
	out=$(curl -fsS --max-time 5 "http://$prom/api/v1/query" --data-urlencode "query=$expr") ||
		sd_fail "dashboard query refused: $expr"
	[ "$(jq -r .status <<<"$out")" = success ] || sd_fail "dashboard query failed: $expr: $out"
done < <(jq -r '.panels[].targets[].expr' "$SD_SOURCE_DIR/deploy/grafana-smartdock.json")
sd_log "PASS"
