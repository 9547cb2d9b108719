#!/bin/sh
# Every manual page formats without a groff warning.
set -eu
. "$abs_top_srcdir/tests/skip.sh"
command -v groff >/dev/null || skip "groff not installed"
status=0
for page in $MANPAGES; do
	out=$(groff -t -man -ww -z "$abs_top_srcdir/$page" 2>&1) || status=1
	if [ -n "$out" ]; then
		echo "FAIL: $page: $out"
		status=1
	else
		echo "PASS: $page"
	fi
done
exit $status
