#!/bin/sh
# The peer suite in the guest: the running kernel's own gup_longterm
# selftest (gup_longterm-6.12, gup_longterm-7.3: built static from each
# base's source, unmodified), run from DIR so that its "local tmpfile"
# cases sit on the lab's page-cache filesystem.  Its TAP goes to stdout;
# the host judges it (a "not ok" the variant does not declare fails the
# boot).  A kernel with no such selftest (6.1: it came in v6.4) is one TAP
# SKIP line, and this exits 0 either way: the verdict is the TAP's.
# Usage: sh peer.sh DIR
ver="$(uname -r | cut -d. -f1,2)"
prog="gup_longterm-$ver"
if ! command -v "$prog" >/dev/null; then
	echo "1..0 # SKIP no gup_longterm for kernel $(uname -r): the selftest came in v6.4"
	exit 0
fi
cd "$1" || { echo "Bail out! peer: cannot cd to $1"; exit 0; }
"$prog"
echo "# peer: $prog exited $?"
exit 0
