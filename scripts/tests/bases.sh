#!/usr/bin/env bash
# The lab's bases against a real apt and a local repository made here: small
# fake linux-source-9.9 packages (dpkg-deb --build, dpkg-scanpackages, a
# file: sources list through PINLAB_APT_SOURCES), a fake base 9.9 pinning
# one of them.  The pinned version found; absent, with a newer point release
# used and said on one line; nothing of the series (one line, exit 1); a
# sha256 mismatch refused with nothing left in the cache; caches keyed by
# content (a truncated tarball, an upgrade, a downgrade, a re-pinned sha256,
# a killed download); a malformed BASE and an unknown base (one line, exit 2).
set -euo pipefail

top="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d /tmp/pinlab-bases.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
# a signal ends the script through its EXIT trap (bash runs none on an untrapped one)
trap 'exit 143' TERM
trap 'exit 130' INT
# shellcheck source=scripts/tests/tap.sh
. "$top/scripts/tests/tap.sh"

echo "TAP version 13"
for need in dpkg-deb dpkg-scanpackages apt-get; do
	if ! command -v "$need" >/dev/null; then
		if [ "${CI:-}" = true ]; then echo "not ok 1 - $need missing (scripts/deps.sh)"; echo "1..1"; exit 1; fi
		echo "1..0 # SKIP $need missing (scripts/deps.sh: dpkg-dev)"
		exit 0
	fi
done

# pkg NAME VERSION CONTENT: a linux-source-like .deb holding
# usr/src/NAME.tar.xz whose one file says CONTENT; prints the tarball's sha256
pkg() {
	local d="$tmp/pkg/$1_$2"
	mkdir -p "$d/root/DEBIAN" "$d/root/usr/src" "$d/src/$1"
	echo "$3" >"$d/src/$1/Makefile"
	tar -C "$d/src" -cJf "$d/root/usr/src/$1.tar.xz" "$1"
	printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: pinlab test <t@localhost>\nDescription: fake kernel source\n' \
		"$1" "$2" >"$d/root/DEBIAN/control"
	dpkg-deb -Zxz --build "$d/root" "$d/$1_$2_all.deb" >/dev/null
	sha256sum "$d/root/usr/src/$1.tar.xz" | cut -d' ' -f1
}
# repo NAME PKGDIR...: a flat repository of those packages, and its sources list
repo() {
	local r="$tmp/repo-$1" p
	shift
	mkdir -p "$r"
	for p in "$@"; do cp "$tmp/pkg/$p"/*.deb "$r/"; done
	(cd "$r" && dpkg-scanpackages -m . /dev/null 2>/dev/null | tee Packages | gzip -9n >Packages.gz)
	echo "deb [trusted=yes] file:$r ./" >"$r.list"
	echo "$r.list"
}
# base VERSION SHA256 [KEY=VALUE...]: the fake base 9.9 pinning it
kp="$tmp/kp"
mkdir -p "$kp/9.9/baseline"
cp "$top/kernel-patches/6.1/config.amd64_none_cloud-amd64.xz" "$kp/9.9/"
csha="$(sha256sum "$kp/9.9/config.amd64_none_cloud-amd64.xz" | cut -d' ' -f1)"
echo 'SERIES=""' >"$kp/9.9/baseline/variant.conf"
: >"$kp/9.9/lab.config"
base() {
	printf '%s\n' "# fake base (bases test)" "PACKAGE=linux-source-9.9" "VERSION=$1" "SHA256=$2" \
		"CONFIG_PACKAGE=linux-config-9.9" "CONFIG_VERSION=9.9.2-1" "CONFIG=config.amd64_none_cloud-amd64.xz" \
		"CONFIG_SHA256=$csha" "${@:3}" >"$kp/9.9/BASE"
}
# fetch CACHE SOURCES: scripts/lab bases fetch 9.9; stdout in $tmp/out, stderr in $tmp/err
fetch() {
	set +e
	PINLAB_PATCHES="$kp" PINLAB_CACHE="$1" PINLAB_APT_SOURCES="$2" bash "$top/scripts/lab" bases fetch 9.9 \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
}
show() { sed 's/^/# /' "$tmp/out" "$tmp/err" || true; }
leftovers() { find "$1/bases" -mindepth 1 -maxdepth 1 ! -name .lock 2>/dev/null | wc -l; }

s1="$(pkg linux-source-9.9 9.9.1-1 one)"
s2="$(pkg linux-source-9.9 9.9.2-1 two)"
s3="$(pkg linux-source-9.9 9.9.3-1 three)"
pkg linux-source-9.8 9.8.1-1 other >/dev/null
all="$(repo all linux-source-9.9_9.9.1-1 linux-source-9.9_9.9.2-1 linux-source-9.9_9.9.3-1)"
gone="$(repo gone linux-source-9.9_9.9.1-1 linux-source-9.9_9.9.3-1)"
none="$(repo none linux-source-9.8_9.8.1-1)"

# 1. the pinned version, found among three, fetched and verified
base 9.9.2-1 "$s2"
c="$tmp/c1"
fetch "$c" "$all"
if [ "$rc" -eq 0 ] && [ "$(cat "$tmp/out")" = "$c/bases/linux-source-9.9_9.9.2-1/linux-source-9.9.tar.xz" ] &&
	[ "$(sha256sum <"$(cat "$tmp/out")" | cut -d' ' -f1)" = "$s2" ] && ! grep -q "no suite" "$tmp/err"; then
	ok "pinned 9.9.2-1 found among 9.9.1-1..9.9.3-1, fetched, sha256 verified: $(cat "$tmp/out")"
else notok "pinned version found (exit $rc)"; show; fi
# the shell form lab-build.sh reads
PINLAB_PATCHES="$kp" PINLAB_CACHE="$c" PINLAB_APT_SOURCES="$all" bash "$top/scripts/lab" bases fetch 9.9 --shell \
	>"$tmp/out" 2>"$tmp/err" || true
if grep -qx "VERSION_USED=9.9.2-1" "$tmp/out" && grep -qx "FALLBACK=''" "$tmp/out"; then ok "--shell: VERSION_USED=9.9.2-1, no FALLBACK"
else notok "--shell output"; show; fi
# again: taken from the cache, not fetched
fetch "$c" "$all"
if [ "$rc" -eq 0 ] && ! grep -q "fetching" "$tmp/err"; then ok "a second fetch reuses the verified download"
else notok "second fetch (exit $rc)"; show; fi
# the cache is keyed by content: a truncated tarball is noticed and fetched again
tarball="$(cat "$tmp/out")"
truncate -s 10 "$tarball"
fetch "$c" "$all"
if [ "$rc" -eq 0 ] && grep -q "no longer the one recorded" "$tmp/err" && grep -q "fetching" "$tmp/err" &&
	[ "$(sha256sum <"$tarball" | cut -d' ' -f1)" = "$s2" ]; then
	ok "a truncated cached tarball is fetched again, not reused"
else notok "truncated tarball (exit $rc)"; show; fi
# a killed download (a .tmp-* directory) and a directory without its
# completion record are never taken for a base
mkdir -p "$c/bases/.tmp-linux-source-9.9_9.9.3-1-999" "$c/bases/linux-source-9.9_9.9.3-1"
echo partial >"$c/bases/.tmp-linux-source-9.9_9.9.3-1-999/linux-source-9.9.tar.xz"
cp "$tarball" "$c/bases/linux-source-9.9_9.9.3-1/linux-source-9.9.tar.xz"
base 9.9.3-1 "$s3"
fetch "$c" "$all"
if [ "$rc" -eq 0 ] && grep -q "fetching linux-source-9.9 9.9.3-1" "$tmp/err" &&
	[ "$(sha256sum <"$(cat "$tmp/out")" | cut -d' ' -f1)" = "$s3" ] && [ ! -e "$c/bases/.tmp-linux-source-9.9_9.9.3-1-999" ]; then
	ok "upgrade (BASE re-pinned to 9.9.3-1): fetched; a killed download's leftovers and an unrecorded directory not reused"
else notok "upgrade / leftovers (exit $rc)"; show; fi
# a downgrade: back to 9.9.1-1, its own tarball, not the newer one's hash
base 9.9.1-1 "$s1"
fetch "$c" "$all"
if [ "$rc" -eq 0 ] && [ "$(sha256sum <"$(cat "$tmp/out")" | cut -d' ' -f1)" = "$s1" ]; then
	ok "downgrade (BASE re-pinned to 9.9.1-1): its own tarball, verified"
else notok "downgrade (exit $rc)"; show; fi
# the same version re-pinned to another sha256: the cache is not reused, the
# archive's file does not match, refused and removed
base 9.9.1-1 "$s3"
fetch "$c" "$all"
if [ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -le 4 ] && tail -1 "$tmp/err" | grep -q "pinned $s3: refused" &&
	[ ! -e "$c/bases/linux-source-9.9_9.9.1-1" ]; then
	ok "a re-pinned sha256 for a cached version: not reused; the download refused, not kept"
else notok "re-pinned sha256 (exit $rc)"; show; fi

# 2. the pinned version gone from every suite: the newest of the series,
# said on one line before anything is built
base 9.9.2-1 "$s2"
c="$tmp/c2"
fetch "$c" "$gone"
notice="$(grep -c "pinned linux-source-9.9 9.9.2-1 is in no suite any more; using 9.9.3-1" "$tmp/err" || true)"
if [ "$rc" -eq 0 ] && [ "$notice" -eq 1 ] && [ "$(sha256sum <"$(cat "$tmp/out")" | cut -d' ' -f1)" = "$s3" ]; then
	ok "pinned absent: $(grep "no suite" "$tmp/err")"
else notok "pinned absent (exit $rc, notice lines $notice)"; show; fi
# (into a file, then grep: grep -q on a pipe may close it early, and under
# pipefail the writer's SIGPIPE would fail the case at random)
if PINLAB_PATCHES="$kp" PINLAB_CACHE="$c" PINLAB_APT_SOURCES="$gone" bash "$top/scripts/lab" bases fetch 9.9 --shell \
	>"$tmp/out" 2>/dev/null && grep -q "^FALLBACK='pinned linux-source-9.9 9.9.2-1 is in no suite" "$tmp/out"; then
	ok "--shell: FALLBACK says pinned, used and why (kernel.txt's base_fallback)"
else notok "--shell FALLBACK"; fi

# 3. nothing of the series: one line, exit 1, nothing cached
c="$tmp/c3"
fetch "$c" "$none"
if [ "$rc" -eq 1 ] && grep -q "^bases: base 9.9: no version of linux-source-9.9 in any suite" "$tmp/err" &&
	[ "$(grep -c '^bases:' "$tmp/err")" -eq 1 ] && [ "$(leftovers "$c")" -eq 0 ]; then
	ok "nothing of the series: exit 1, $(grep '^bases:' "$tmp/err")"
else notok "nothing of the series (exit $rc)"; show; fi

# 4. a sha256 mismatch on the pinned version: refused, nothing left
base 9.9.2-1 "$s1"
c="$tmp/c4"
fetch "$c" "$all"
if [ "$rc" -eq 1 ] && grep -q "has sha256 $s2, pinned $s1: refused, nothing kept" "$tmp/err" &&
	[ "$(leftovers "$c")" -eq 0 ]; then
	ok "sha256 mismatch: refused, exit 1, nothing left in the cache"
else notok "sha256 mismatch (exit $rc, $(leftovers "$c") left)"; show; find "$c/bases" | sed 's/^/# /' || true; fi
# the .deb's own pin, where BASE has one
base 9.9.2-1 "$s2" "DEB_SHA256=$(printf '0%.0s' $(seq 64))"
fetch "$c" "$all"
if [ "$rc" -eq 1 ] && grep -q "_all.deb has sha256 .*: refused" "$tmp/err" && [ "$(leftovers "$c")" -eq 0 ]; then
	ok "a .deb whose sha256 is not DEB_SHA256: refused, nothing left"
else notok ".deb sha256 mismatch (exit $rc)"; show; fi

# 5. bad input: one line, exit 2
for bad in "VERSION=9.9.2 1" "SHA256=xyz" "CONFIG_SHA256=$(printf 'g%.0s' $(seq 64))"; do
	base 9.9.2-1 "$s2"
	k="${bad%%=*}"
	sed -i "s/^$k=.*/$bad/" "$kp/9.9/BASE"
	fetch "$tmp/c5" "$all"
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^bases: kernel-patches/9.9/BASE: $k=" "$tmp/err"; then
		ok "malformed BASE ($bad): exit 2, $(cat "$tmp/err")"
	else notok "malformed BASE ($bad): exit $rc"; show; fi
done
base 9.9.2-1 "$s2"
set +e
PINLAB_PATCHES="$kp" bash "$top/scripts/lab" bases fetch 7.0 >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "unknown base '7.0' (known: 9.9)" "$tmp/err"; then
	ok "unknown base: exit 2, $(cat "$tmp/err")"
else notok "unknown base: exit $rc"; show; fi
# the build refuses a malformed BASE the same way, before anything else
sed -i "s/^VERSION=.*/VERSION=not a version/" "$kp/9.9/BASE"
set +e
PINLAB_PATCHES="$kp" PINLAB_CACHE="$tmp/c6" bash "$top/scripts/lab" build baseline@9.9 >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "VERSION='not a version' is not a Debian version" "$tmp/err"; then
	ok "lab build on a malformed BASE: exit 2, one line"
else notok "lab build on a malformed BASE: exit $rc"; show; fi

# the committed config is checked against CONFIG_SHA256 before anything is
# fetched (bases.check_config: the one check, the build's too)
base 9.9.2-1 "$s2"
sed -i "s/^CONFIG_SHA256=.*/CONFIG_SHA256=$(printf 'a%.0s' $(seq 64))/" "$kp/9.9/BASE"
set +e
PINLAB_PATCHES="$kp" PINLAB_CACHE="$tmp/c7" PINLAB_APT_SOURCES="$all" bash "$top/scripts/lab" bases fetch 9.9 --shell \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "config.amd64_none_cloud-amd64.xz has sha256 $csha, pinned aaaa" "$tmp/err" &&
	[ ! -e "$tmp/c7/bases" ]; then
	ok "a committed config that is not its pin: exit 2, nothing fetched, $(cut -c1-90 "$tmp/err")…"
else notok "committed config sha256 mismatch: exit $rc"; show; fi

# a listing and a fetch at once on an empty cache (CI's `lab bases` beside a
# build): one apt update at a time, both answer
base 9.9.2-1 "$s2"
set +e
for i in 1 2 3; do
	PINLAB_PATCHES="$kp" PINLAB_CACHE="$tmp/c8" PINLAB_APT_SOURCES="$all" bash "$top/scripts/lab" bases \
		>"$tmp/out.l$i" 2>&1 &
done
PINLAB_PATCHES="$kp" PINLAB_CACHE="$tmp/c8" PINLAB_APT_SOURCES="$all" bash "$top/scripts/lab" bases fetch 9.9 \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
lrc=0
for i in 1 2 3; do wait -n || lrc=$?; done
set -e
if [ "$rc" -eq 0 ] && [ "$lrc" -eq 0 ] && ! grep -q "lock" "$tmp/err" "$tmp"/out.l*; then
	ok "three listings and a fetch at once on an empty cache: all answer, no apt lock error"
else notok "concurrent listing and fetch: fetch exit $rc, listing exit $lrc"; show; cat "$tmp"/out.l* | sed 's/^/# /'; fi

# scripts/lab build --cached: whether a kernel is built, building nothing
base 9.9.2-1 "$s2"
set +e
PINLAB_PATCHES="$kp" PINLAB_CACHE="$tmp/c9" PINLAB_APT_SOURCES="$all" bash "$top/scripts/lab" build baseline@9.9 --cached \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
if [ "$rc" -eq 3 ] && grep -q "baseline@9.9: not built yet" "$tmp/err" && [ ! -s "$tmp/out" ] &&
	! ls -d "$tmp/c9"/work-* "$tmp/c9"/base-* "$tmp/c9/kernels" >/dev/null 2>&1; then
	ok "lab build --cached of a kernel not built: exit 3, nothing unpacked or built"
else notok "lab build --cached: exit $rc"; show; find "$tmp/c9" -maxdepth 1 | sed 's/^/# /'; fi

# 6. the listing: pins, what the suites have, what is cached
base 9.9.2-1 "$s2"
if PINLAB_PATCHES="$kp" PINLAB_CACHE="$tmp/c1" PINLAB_APT_SOURCES="$gone" bash "$top/scripts/lab" bases \
	>"$tmp/out" 2>"$tmp/err" && grep -q "^base 9.9: linux-source-9.9 9.9.2-1 pinned" "$tmp/out" &&
	grep -q "pinned version available: NO" "$tmp/out" && grep -q "versions available: 9.9.3-1 (.*), 9.9.1-1" "$tmp/out" &&
	grep -q "cached: 9.9.2-1, 9.9.3-1$" "$tmp/out"; then
	ok "scripts/lab bases lists pinned, available (newest first) and cached"
else notok "scripts/lab bases"; show; fi

tap_end bases
