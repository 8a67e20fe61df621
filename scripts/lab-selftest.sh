#!/usr/bin/env bash
# The kernel's own GUP selftests of a pinned base, unmodified, built static
# for the lab guest: gup_test.c (tools/testing/selftests/vm/ in 6.1,
# tools/testing/selftests/mm/ with the .c files of its local headers from
# 6.3 on), the calibration's benchmark; and gup_longterm.c (mm/, v6.4 on:
# David Hildenbrand's long-term pinning test, with liburing), the peer
# suite every semantics boot runs beside pinsem.
# Usage: scripts/lab-selftest.sh OUT [BASE [gup_test|gup_longterm]]
#   (make build/selftests/gup_test-BASE, build/selftests/gup_longterm-BASE)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

if [ $# -lt 1 ] || [ $# -gt 3 ]; then usage_die "usage: scripts/lab-selftest.sh OUT [BASE [gup_test|gup_longterm]]"; fi
out="$1"
prog="${3:-gup_test}"
case "$prog" in gup_test | gup_longterm) ;; *) usage_die "lab-selftest: unknown selftest '$prog' (gup_test, gup_longterm)" ;; esac
use_base "${2:-$default_base}"
fetch_base
dir="$cache/selftest-$SHA256"
if [ "$prog" = gup_longterm ] && [ ! -x "$dir/gup_longterm" ]; then
	src="${TARBALL##*/}"
	src="${src%.tar.xz}"
	tar -tf "$TARBALL" "$src/tools/testing/selftests/mm/gup_longterm.c" >/dev/null 2>&1 ||
		die "base $base_name has no tools/testing/selftests/mm/gup_longterm.c (it came in v6.4)"
	say "building base $base_name's own gup_longterm selftest (static, with liburing)"
	[ -f /usr/lib/x86_64-linux-gnu/liburing.a ] || die "gup_longterm: no static liburing (scripts/deps.sh installs liburing-dev)"
	rm -rf "$dir.gl"
	mkdir -p "$dir.gl"
	tree="$(unpack_base)"
	make -s -C "$tree" O="$dir.gl/obj" headers_install INSTALL_HDR_PATH="$dir.gl/usr" >&2
	st="$tree/tools/testing/selftests/mm"
	# what the selftests' Makefile generates (check_config.sh): liburing is here
	echo "#define LOCAL_CONFIG_HAVE_LIBURING 1" >"$dir.gl/local_config.h"
	cp "$dir.gl/local_config.h" "$dir.gl/local_config.h_gen" # its name from 7.x on
	# compiled from its own directory, as its Makefile does: its "local
	# tmpfile" is __FILE__ "_tmpfile_XXXXXX", relative to where it runs
	srcs=(gup_longterm.c)
	while IFS= read -r h; do
		[ ! -f "$st/$h.c" ] || srcs+=("$h.c")
	done < <(sed -n 's/^#include "\([a-z_]*\)\.h"$/\1/p' "$st/gup_longterm.c")
	(cd "$st" && gcc -static -O2 -isystem "$dir.gl/usr/include" -I "$dir.gl" -I "$tree" \
		-I "$tree/tools/testing/selftests" -I . -o "$dir.gl/gup_longterm" "${srcs[@]}" -luring -lpthread)
	mkdir -p "$dir"
	mv "$dir.gl/gup_longterm" "$dir/gup_longterm"
	rm -rf "$dir.gl"
fi
if [ "$prog" = gup_test ] && [ ! -x "$dir/gup_test" ]; then
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
	mkdir -p "$dir"
	mv "$dir.tmp/gup_test" "$dir/gup_test"
	rm -rf "$dir.tmp"
fi
mkdir -p "$(dirname "$out")"
cp "$dir/$prog" "$out"
