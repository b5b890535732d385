#!/usr/bin/env bash
# deploy/image.sh [IMAGE]: build the registrator's container image with
# `docker import`: the smartdock-registrator binary, the shared libraries ldd
# says it needs, the ones it loads on first use, glibc's NSS modules for host
# names, and nothing else.
# IMAGE defaults to smartdock/registrator:<version>. The last line printed
# is the image name.
#
#   SMARTDOCK_BINARY=PATH  use this binary instead of building a Release one
#                          into build-image/
#   DOCKER=PATH            the docker CLI (default: docker); DOCKER_HOST as usual
#
# Run it the way gliderlabs/registrator is run (see README, "Container image"):
#   docker run -d --name smartdock-registrator --network host \
#     -v /var/run/docker.sock:/var/run/docker.sock:ro \
#     -v /etc/smartdock/registrator.json:/etc/smartdock/registrator.json:ro IMAGE
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
docker=${DOCKER:-docker}
version=$(sed -n 's/^project(smartdock VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
image=${1:-smartdock/registrator:$version}

binary=${SMARTDOCK_BINARY:-}
if [ -z "$binary" ]; then
	cmake -S "$root" -B "$root/build-image" -DCMAKE_BUILD_TYPE=Release -DSMARTDOCK_TESTS=OFF >&2
	cmake --build "$root/build-image" -j2 --target smartdock-registrator >&2
	binary=$root/build-image/smartdock-registrator
fi
[ -x "$binary" ] || { echo "image.sh: no executable $binary" >&2; exit 1; }

work=$(mktemp -d /tmp/smartdock-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs"/{usr/bin,etc/smartdock,tmp,proc,sys,dev,var/run}
chmod 1777 "$rootfs/tmp"
cp "$binary" "$rootfs/usr/bin/smartdock-registrator"

# copy_with_deps FILE...: each file and every library ldd resolves for it, at
# the same path (the dynamic loader included), following symlinks.
copy_with_deps() {
	local f lib
	for f in "$@"; do
		for lib in "$f" $(ldd "$f" | grep -o '/[^ ]*'); do
			[ -e "$rootfs$lib" ] && continue
			mkdir -p "$rootfs$(dirname "$lib")"
			cp -L "$lib" "$rootfs$lib"
		done
	done
}
copy_with_deps "$binary"
# getaddrinfo loads these at run time; ldd cannot see them.
libdir=$(dirname "$(ldd "$binary" | grep -o '/[^ ]*/libc\.so\.6')")
copy_with_deps "$libdir"/libnss_files.so.2 "$libdir"/libnss_dns.so.2
# The registrator dlopen's these on first use (common/curl_lib.h, mhd_lib.h,
# sha1.c name the same sonames), so ldd of the binary does not list them:
# libcurl for Docker, etcd and http checks, libmicrohttpd for metrics,
# libcrypto for ZooKeeper digest auth.
for soname in libcurl.so.4 libmicrohttpd.so.12 libcrypto.so.3; do
	[ -e "$libdir/$soname" ] || { echo "image.sh: $soname not found in $libdir" >&2; exit 1; }
	copy_with_deps "$libdir/$soname"
done
# etcd over https: the system's CA bundle, when there is one.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
	mkdir -p "$rootfs/etc/ssl/certs"
	cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
fi
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
printf 'root:x:0:0:root:/:/nonexistent\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"

tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -cf "$work/rootfs.tar" .
"$docker" import \
	--change 'ENTRYPOINT ["/usr/bin/smartdock-registrator"]' \
	--change 'CMD ["-c", "/etc/smartdock/registrator.json"]' \
	--change "LABEL org.opencontainers.image.title=smartdock-registrator org.opencontainers.image.version=$version" \
	--message "smartdock-registrator $version (deploy/image.sh)" \
	"$work/rootfs.tar" "$image" >&2
echo "$image"
