# deploy/lib/deps.sh: install missing Debian packages, shared by tests/run.sh
# and deploy/demo.sh. Source it, then:
#
#   sd_install_packages cmake haproxy docker.io ...
#
# Only the packages not installed yet are passed to apt-get (after one
# apt-get update). Their services are kept stopped: smartdock's tests and demo
# start their own servers from temp dirs, and a system dockerd or HAProxy that
# a postinst started would only get in the way. Messages go to stderr, prefixed
# with $SD_DEPS_NAME (default: the calling script's name). Returns 0 when
# everything is installed, 1 when packages are missing and we are not root,
# apt-get's exit status when it fails. Works under `set -e`, `set -u` and `set -o pipefail`, and
# leaves the caller's traps and options alone (the work runs in a subshell).

# _sd_deps_services_of PKG: the Debian services a newly installed PKG may
# start. (Debian's zookeeper package has none: zookeeperd does.)
_sd_deps_services_of() {
	case $1 in
	etcd-server) echo etcd ;;
	haproxy) echo haproxy ;;
	docker.io) echo docker.socket docker ;;
	containerd) echo containerd ;;
	esac
}

# _sd_deps_installed PKG: true when dpkg has PKG fully installed.
_sd_deps_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | cut -c1-2)" = ii ]
}

_sd_deps_stop_service() {
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		systemctl stop "$1" >/dev/null 2>&1 || true
	elif [ -x "/etc/init.d/$1" ]; then
		"/etc/init.d/$1" stop >/dev/null 2>&1 || true
	fi
}

# sd_install_packages PKG...: see the top of this file.
sd_install_packages() (
	set -eu -o pipefail
	trap - ERR
	name=${SD_DEPS_NAME:-$(basename "$0")}
	log() { printf '%s: %s\n' "$name" "$*" >&2; }

	missing=()
	for p in "$@"; do
		_sd_deps_installed "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || exit 0
	if [ "$(id -u)" != 0 ]; then
		log "missing packages: ${missing[*]}; run as root to install them"
		exit 1
	fi
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	new=("${missing[@]}")
	_sd_deps_installed containerd || new+=(containerd)
	# Keep apt from starting the packages' services: policy-rc.d answering
	# 101 ("action forbidden") is honoured by invoke-rc.d and
	# deb-systemd-invoke. Ours only, only for this install.
	policy=/usr/sbin/policy-rc.d
	own_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		own_policy=1
	fi
	# this subshell's own traps: the caller's are not affected
	trap 'if [ $own_policy = 1 ]; then rm -f "$policy"; fi' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	rc=0
	apt-get update || rc=$?
	[ $rc = 0 ] && { apt-get install -y --no-install-recommends "${missing[@]}" || rc=$?; }
	if [ $own_policy = 1 ]; then
		rm -f "$policy"
		own_policy=0
	fi
	# Anything that started anyway (socket activation, a postinst that
	# ignores policy-rc.d) belongs to a package we just installed: stop it.
	for p in "${new[@]}"; do
		for s in $(_sd_deps_services_of "$p"); do
			_sd_deps_stop_service "$s"
		done
	done
	if [ $rc != 0 ]; then
		log "apt-get failed (exit $rc)"
		exit $rc
	fi
	exit 0
)
