#!/bin/sh
# Print "NAME PAGE" for every name in the NAME section of each section-3
# manual page given, except the page's own name.  'make install' writes an
# alias page ".so man3/PAGE.3" as NAME.3 for each line, so that
# 'man vtpm_relay_run' finds vtpm_relay_new(3); the tests use it to check
# that every exported function is documented.
#
# Usage: man/list-names.sh [--all] PAGE.3...   (--all: include the page's own name)
set -eu
all=
[ "${1-}" = --all ] && { all=1; shift; }
for page in "$@"; do
	base=${page##*/}
	base=${base%.3}
	awk -v base="$base" -v all="$all" '
		/^\.SH / { if (in_name) exit; in_name = ($2 == "NAME"); next }
		in_name { text = text " " $0 }
		END {
			sub(/[ ]*\\-.*/, "", text)
			n = split(text, names, /[ ,]+/)
			for (i = 1; i <= n; i++)
				if (names[i] != "" && (all || names[i] != base))
					print names[i], base
		}' "$page"
done
