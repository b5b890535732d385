# tests/lib/dns.sh: a real DNS server on loopback for the dns discovery
# methods: Debian's dnsmasq with its own config, on a free port of
# 127.0.0.1, answering only from $SD_TMP/dns.hosts (no upstream, no
# /etc/hosts). Needs lib.sh.

# sd_dns_start: start dnsmasq as background process "dns"; sets SD_DNS_PORT
# and SD_DNS_ADDR (127.0.0.1:PORT). Records come from sd_dns_records. A
# restart keeps the port.
sd_dns_start() {
	_sd_need_setup
	sd_need_cmd dnsmasq
	SD_DNS_PORT=${SD_DNS_PORT:-$(sd_free_port)}
	SD_DNS_ADDR=127.0.0.1:$SD_DNS_PORT
	[ -f "$SD_TMP/dns.hosts" ] || : >"$SD_TMP/dns.hosts"
	_sd_dns_reads=$(grep -c "read $SD_TMP/dns.hosts" "$SD_TMP/dns.log" 2>/dev/null || true)
	# --conf-file=/dev/null: not /etc/dnsmasq.conf; --local-ttl=0: every
	# lookup sees the current records.
	sd_bg dns dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--no-dhcp-interface=lo --bind-interfaces --listen-address=127.0.0.1 \
		--port="$SD_DNS_PORT" --addn-hosts="$SD_TMP/dns.hosts" --local-ttl=0 \
		--user=root --pid-file= --log-queries --log-facility=-
	sd_wait_for "dnsmasq answers" 30 sd_dns_answers
	sd_log "dnsmasq up on $SD_DNS_ADDR"
}

# sd_dns_answers: true once this dnsmasq has read its hosts file (its log
# says so, after binding its socket).
sd_dns_answers() {
	sd_alive dns || { echo "dnsmasq exited"; return 1; }
	[ "$(grep -c "read $SD_TMP/dns.hosts" "$SD_TMP/dns.log")" -gt "${_sd_dns_reads:-0}" ]
}

# sd_dns_queries NAME: how many A queries for NAME dnsmasq has logged.
sd_dns_queries() {
	grep -c "query\[A\] $1 " "$SD_TMP/dns.log" || true
}

# sd_dns_records "ADDRESS NAME" ...: replace every record, then make a
# running dnsmasq read them again (SIGHUP) and wait until it has.
sd_dns_records() {
	local before
	printf '%s\n' "$@" >"$SD_TMP/dns.hosts.tmp"
	mv "$SD_TMP/dns.hosts.tmp" "$SD_TMP/dns.hosts"
	sd_alive dns 2>/dev/null || return 0
	before=$(grep -c "read $SD_TMP/dns.hosts" "$SD_TMP/dns.log")
	kill -HUP "$(sd_pid dns)"
	_sd_dns_reread() { [ "$(grep -c "read $SD_TMP/dns.hosts" "$SD_TMP/dns.log")" -gt "$before" ]; }
	sd_wait_for "dnsmasq re-read its records" 30 _sd_dns_reread
}
