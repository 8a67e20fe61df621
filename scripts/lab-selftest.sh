#!/usr/bin/env bash
# The kernel's own GUP benchmark, gup_test.c of a pinned base (unmodified:
# tools/testing/selftests/vm/ in 6.1, tools/testing/selftests/mm/ with
# the .c files of its local headers from 6.3 on), built static for the lab guest, where the
# calibration runs it beside pinbench's gup_test probes.
# Usage: scripts/lab-selftest.sh OUT [BASE]   (make build/selftests/gup_test-BASE)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage_die "usage: scripts/lab-selftest.sh OUT [BASE]"; fi
out="$1"
use_base "${2:-$default_base}"
fetch_base
dir="$cache/selftest-$SHA256"
if [ ! -x "$dir/gup_test" ]; then
	say "building base $base_name's own gup_test selftest (static)"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	src="${TARBALL##*/}"
	src="${src%.tar.xz}"
	if tar -tf "$TARBALL" "$src/tools/testing/selftests/vm/gup_test.c" >/dev/null 2>&1; then
		# 6.1: one file, the system's uapi headers suffice
		tar -C "$dir.tmp" -xf "$TARBALL" "$src/tools/testing/selftests/vm/gup_test.c" \
			"$src/tools/testing/selftests/vm/util.h" "$src/tools/testing/selftests/kselftest.h" \
			"$src/mm/gup_test.h"
		gcc -static -O2 -I "$dir.tmp/$src" -o "$dir.tmp/gup_test" \
			"$dir.tmp/$src/tools/testing/selftests/vm/gup_test.c" -lpthread
	else
		# mm/ (6.3 on): gup_test.c with vm_util.c, against the base's own
		# uapi headers (PAGEMAP_SCAN is newer than the host's)
		tree="$(unpack_base)"
		make -s -C "$tree" O="$dir.tmp/obj" headers_install INSTALL_HDR_PATH="$dir.tmp/usr" >&2
		# with the .c of every local header it includes (vm_util.c; 7.x
		# also hugepage_settings.c)
		st="$tree/tools/testing/selftests/mm"
		srcs=("$st/gup_test.c")
		while IFS= read -r h; do
			[ ! -f "$st/$h.c" ] || srcs+=("$st/$h.c")
		done < <(sed -n 's/^#include "\([a-z_]*\)\.h"$/\1/p' "$st/gup_test.c")
		gcc -static -O2 -isystem "$dir.tmp/usr/include" -I "$tree" -I "$tree/tools/testing/selftests" \
			-I "$st" -o "$dir.tmp/gup_test" "${srcs[@]}" -lpthread
		rm -rf "$dir.tmp/obj" "$dir.tmp/usr"
	fi
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
fi
mkdir -p "$(dirname "$out")"
cp "$dir/gup_test" "$out"
