#!/usr/bin/env bash
# deploy/package.sh [OUTDIR]: build the Debian package smartdock_<version>_<arch>.deb
# with debhelper (debian/) from this checkout, into OUTDIR (default
# build-deb/). The last line printed is the path of every package built.
#
# Needs: build-essential debhelper cmake pkg-config and the -dev packages of
# debian/control's Build-Depends (dpkg-checkbuilddeps says which are missing).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(mkdir -p "${1:-$root/build-deb}" && cd "${1:-$root/build-deb}" && pwd)
version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)

# dpkg-buildpackage writes beside the source tree, so build from a copy of
# the sources (no build dirs, no .git) in a temp dir.
work=$(mktemp -d /tmp/smartdock-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/smartdock-${version%-*}
mkdir "$src"
tar -C "$root" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$src" -xf -
(
	cd "$src"
	dpkg-checkbuilddeps
	DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }noddebs parallel=2" dpkg-buildpackage -b -us -uc
) >&2
debs=()
for f in "$work"/*.deb; do
	cp "$f" "$out/"
	debs+=("$out/${f##*/}")
done
[ ${#debs[@]} -gt 0 ] || { echo "package.sh: no package built" >&2; exit 1; }
echo "${debs[*]}"
