#!/usr/bin/env bash
# The Debian package: deploy/package.sh builds it; apt-get installs it on this
# machine; /usr/bin/smartdock-watcher runs; the smartdock user exists; the
# units, man pages and examples are where Debian puts them; apt-get purge
# leaves nothing behind (no file of the package, no user, no /etc/smartdock).
#
# It installs into the real system, so it refuses to run when smartdock is
# already installed. SD_DEB_DIR=DIR uses the .deb already built in DIR
# instead of building one (the build takes minutes).
. "$(dirname "$0")/../lib/lib.sh"
sd_need_root
sd_need_cmd apt-get dpkg dpkg-buildpackage
sd_setup

if dpkg -s smartdock >/dev/null 2>&1; then
	sd_fail "smartdock is already installed on this machine: not touching it"
fi
purge() {
	if dpkg -s smartdock >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y smartdock >"$SD_TMP/purge.log" 2>&1 || true
	fi
}
trap 'purge; sd_teardown $?' EXIT

if [ -n "${SD_DEB_DIR:-}" ]; then
	debs=$(ls "$SD_DEB_DIR"/smartdock_*.deb)
else
	sd_log "building the package (deploy/package.sh)"
	"$SD_SOURCE_DIR/deploy/package.sh" "$SD_TMP/deb" >"$SD_TMP/package.log" 2>&1 ||
		sd_fail "deploy/package.sh failed: $(tail -20 "$SD_TMP/package.log")"
	debs=$(tail -1 "$SD_TMP/package.log")
fi
deb=$(echo "$debs" | tr ' ' '\n' | grep '/smartdock_[^/]*\.deb$' | head -1)
[ -f "$deb" ] || sd_fail "no smartdock_*.deb in '$debs'"
sd_log "package: $deb"

# Depends: runtime libraries, never a -dev package.
depends=$(dpkg-deb -f "$deb" Depends)
sd_log "Depends: $depends"
# libcurl4, libmicrohttpd12 and libssl3 are dlopen'd: named by hand in debian/control
for lib in libcurl4 libmicrohttpd12 libssl3 libcjson1 libzookeeper-mt2; do
	grep -q "$lib" <<<"$depends" || sd_fail "Depends lacks $lib: $depends"
done
! grep -q -- '-dev' <<<"$depends" || sd_fail "Depends names a -dev package: $depends"

cp "$deb" "$SD_TMP/"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$SD_TMP/${deb##*/}" \
	>"$SD_TMP/install.log" 2>&1 || sd_fail "apt-get install failed: $(tail -20 "$SD_TMP/install.log")"
files=$(dpkg -L smartdock)

version=$(/usr/bin/smartdock-watcher --version)
sd_log "installed: $version"
[[ $version == "smartdock-watcher "* ]] || sd_fail "unexpected --version: $version"
/usr/bin/smartdock-registrator --version >/dev/null
for f in /usr/bin/smartdock-registrator /lib/systemd/system/smartdock-registrator.service \
	/lib/systemd/system/smartdock-watcher.service /usr/share/man/man8/smartdock-watcher.8.gz \
	/usr/share/man/man8/smartdock-registrator.8.gz /usr/share/man/man5/smartdock.conf.5.gz \
	/usr/share/doc/smartdock/examples/registrator.json /usr/share/doc/smartdock/examples/watcher.json; do
	grep -qxF "$f" <<<"$files" || sd_fail "the package lacks $f"
done
getent passwd smartdock >/dev/null || sd_fail "postinst did not create the smartdock user"
shell=$(getent passwd smartdock | cut -d: -f7)
[[ $shell == */nologin || $shell == */false ]] || sd_fail "the smartdock user has a login shell: $shell"
/usr/bin/smartdock-registrator --check -c /usr/share/doc/smartdock/examples/registrator.json >/dev/null
/usr/bin/smartdock-watcher --check -c /usr/share/doc/smartdock/examples/watcher.json >/dev/null

DEBIAN_FRONTEND=noninteractive apt-get purge -y smartdock >"$SD_TMP/purge.log" 2>&1 ||
	sd_fail "apt-get purge failed: $(tail -20 "$SD_TMP/purge.log")"
dpkg -s smartdock >/dev/null 2>&1 && sd_fail "smartdock still installed after purge"
left=()
while IFS= read -r f; do
	# directories the package shares with others (/usr/bin, /usr/share/man/...) stay
	[ -e "$f" ] && [ ! -d "$f" ] && left+=("$f")
done <<<"$files"
for d in /usr/share/doc/smartdock /etc/smartdock /var/lib/smartdock; do
	[ -e "$d" ] && left+=("$d")
done
[ ${#left[@]} = 0 ] || sd_fail "left after purge: ${left[*]}"
getent passwd smartdock >/dev/null && sd_fail "the smartdock user is left after purge"
getent group smartdock >/dev/null && sd_fail "the smartdock group is left after purge"
ls /var/lib/dpkg/info/smartdock.* >/dev/null 2>&1 && sd_fail "dpkg still has smartdock's control files"
sd_log "PASS"
