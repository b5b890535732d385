#!/usr/bin/env bash
# tests/lint/config-keys.sh: the config keys in README's tables and in
# man/smartdock.conf.5 are the same set, for each daemon.
#
# README.md is the source of truth. A row's key cell holds one or more
# `keys`; a key without a dot after one with dots is its sibling
# (`registry.endpoints`, `prefix` is registry.prefix). In the watcher's table
# the "where" column places the key: service -> services.NAME., discovery ->
# services.NAME.discovery., top and ours -> the top level. The man page names
# each key once as `.It Cm full.path` (NAME as `Ar NAME`).
set -euo pipefail
root=${SMARTDOCK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
readme=$root/README.md
man=$root/man/smartdock.conf.5

# readme_keys HEADING: the expanded keys of every config table under the "## HEADING" section.
readme_keys() {
	awk -v want="## $1" '
	/^## / { insec = ($0 == want); intable = 0; next }
	!insec { next }
	/^\|/ {
		n = split($0, cell, "|")
		if (!intable) {
			keycol = 0; wherecol = 0
			for (i = 2; i < n; i++) {
				h = cell[i]; gsub(/ /, "", h)
				if (h == "key") keycol = i
				if (h == "where") wherecol = i
			}
			intable = keycol ? 1 : -1
			next
		}
		if (intable < 0 || cell[2] ~ /^-+$/) next
		prefix = ""
		if (wherecol) {
			w = cell[wherecol]; gsub(/ /, "", w)
			if (w == "service") prefix = "services.NAME."
			else if (w == "discovery") prefix = "services.NAME.discovery."
		}
		c = cell[keycol]; parent = ""
		while (match(c, /`[^`]+`/)) {
			k = substr(c, RSTART + 1, RLENGTH - 2); c = substr(c, RSTART + RLENGTH)
			if (k ~ /\./) { parent = k; sub(/[^.]*$/, "", parent) } else k = parent k
			print prefix k
		}
		next
	}
	{ intable = 0 }' "$readme" | sort -u
}

# man_keys SECTION: the `.It Cm` keys of one .Sh section of smartdock.conf.5.
man_keys() {
	awk -v want=".Sh $1" '
	/^\.Sh / { insec = ($0 == want); next }
	insec && /^\.It Cm / {
		s = substr($0, 5); gsub(/\\&/, "", s)
		out = ""; n = split(s, w, " ")
		for (i = 1; i <= n; i++) if (w[i] != "Cm" && w[i] != "Ns" && w[i] != "Ar") out = out w[i]
		print out
	}' "$man" | sort -u
}

status=0
compare() {
	local what=$1 readme_set=$2 man_set=$3 d
	[ -n "$readme_set" ] || { echo "FAIL: no $what keys found in README.md"; status=1; return; }
	d=$(comm -23 <(echo "$readme_set") <(echo "$man_set"))
	[ -z "$d" ] || { echo "FAIL: $what keys in README.md but not in man/smartdock.conf.5:"; echo "$d"; status=1; }
	d=$(comm -13 <(echo "$readme_set") <(echo "$man_set"))
	[ -z "$d" ] || { echo "FAIL: $what keys in man/smartdock.conf.5 but not in README.md:"; echo "$d"; status=1; }
}
compare registrator "$(readme_keys smartdock-registrator)" "$(man_keys 'REGISTRATOR CONFIGURATION')"
compare watcher "$(readme_keys smartdock-watcher)" "$(man_keys 'WATCHER CONFIGURATION')"
[ $status = 0 ] && echo "config keys: README.md and man/smartdock.conf.5 agree"
exit $status
