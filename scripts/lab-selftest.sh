#!/usr/bin/env bash
# The kernel's own GUP benchmark, tools/testing/selftests/vm/gup_test.c of
# the pinned base (unmodified), built static for the lab guest, where the
# calibration runs it beside pinbench's gup_test probes.
# Usage: scripts/lab-selftest.sh OUT   (make build/selftests/gup_test)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || usage_die "usage: scripts/lab-selftest.sh OUT"
out="$1"
load_base
[ -f "$TARBALL" ] || die "$TARBALL missing: scripts/deps.sh lab installs $PACKAGE"
dir="$cache/selftest-$SHA256"
if [ ! -x "$dir/gup_test" ]; then
	say "building the base's own gup_test selftest (static)"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	src="${TARBALL##*/}"
	src="${src%.tar.xz}"
	tar -C "$dir.tmp" -xf "$TARBALL" "$src/tools/testing/selftests/vm/gup_test.c" \
		"$src/tools/testing/selftests/vm/util.h" "$src/tools/testing/selftests/kselftest.h" \
		"$src/mm/gup_test.h"
	gcc -static -O2 -I "$dir.tmp/$src" -o "$dir.tmp/gup_test" \
		"$dir.tmp/$src/tools/testing/selftests/vm/gup_test.c" -lpthread
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
fi
mkdir -p "$(dirname "$out")"
cp "$dir/gup_test" "$out"
