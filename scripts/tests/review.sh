#!/usr/bin/env bash
# Review and bisect for real, TAP: bad input (one line, non-zero exit,
# nothing left behind); a three-patch review on 6.1 (the positive control
# planted by patch 1, a comment by patch 2, a patch that does not apply);
# a bisection over a git history made from 6.1's source (four commits,
# the second plants known-cost) that must name the planted commit.  The
# history is a fixture made once under the cache (fixed dates and names:
# the same commits every time, so its kernels are built once).
set -euo pipefail

top="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d /tmp/pinlab-reviewtest.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# shellcheck source=scripts/tests/tap.sh
. "$top/scripts/tests/tap.sh"
# shellcheck source=scripts/lib.sh
. "$top/scripts/lib.sh"
lab=(bash "$top/scripts/lab")
export PINLAB_RESULTS="$tmp/results"
# the VMs' scratch directories under this test's own: which QEMUs are its
export TMPDIR="$tmp/vm"
mkdir -p "$PINLAB_RESULTS" "$TMPDIR"

if ! command -v qemu-system-x86_64 >/dev/null; then
	skip "review and bisect: qemu-system-x86_64 missing (scripts/deps.sh installs it)"
	tap_end review
	exit 0
fi

# one_line NAME EXPECTED-RC REGEX CMD...: one line on stderr matching REGEX,
# that exit status, no result directory left
one_line() {
	local name="$1" want="$2" rx="$3" rc=0
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -eq "$want" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -Eq "$rx" "$tmp/err" &&
		[ -z "$(ls -A "$PINLAB_RESULTS")" ]; then
		ok "$name: exit $rc, '$(cat "$tmp/err")'"
	else
		notok "$name: exit $rc (want $want), results: $(find "$PINLAB_RESULTS" -mindepth 1 -maxdepth 1 -printf '%f ')"
		sed 's/^/# /' "$tmp/err" | tail -5
	fi
}

# ---- fixtures ---------------------------------------------------------------
use_base 6.1
fetch_base
src61="$(unpack_base)"
kc="$top/kernel-patches/6.1/known-cost/0001-gup-known-cost-positive-control.patch"
patchfile() { # patchfile FILE SUBJECT TARGET LINE: a format-patch adding LINE at the top of TARGET
	local d="$tmp/pf"
	rm -rf "$d" && mkdir -p "$d/a/$(dirname "$3")" "$d/b/$(dirname "$3")"
	cp "$src61/$3" "$d/a/$3"
	{ echo "$4"; cat "$src61/$3"; } >"$d/b/$3"
	(
		printf 'From 0000000000000000000000000000000000000001 Mon Sep 17 00:00:00 2001\n'
		printf 'From: Pinlab Test <test@pinlab.invalid>\nSubject: [PATCH] %s\n\n---\n' "$2"
		printf 'diff --git a/%s b/%s\n' "$3" "$3"
		cd "$d"
		diff -u "a/$3" "b/$3" || [ $? -eq 1 ]
	) >"$1"
}
patchfile "$tmp/0002-comment.patch" "mm: a comment in mm/memory.c" mm/memory.c "/* pinlab review test: a comment, no code */"
cp "$kc" "$tmp/0001-known-cost.patch"
patchfile "$tmp/0004-nobuild.patch" "mm: does not build" mm/mmap.c '#error "pinlab review test: a patch that does not build"'
printf 'From 0000000000000000000000000000000000000003 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] mm: does not apply\n\n---\ndiff --git a/mm/gup.c b/mm/gup.c\n--- a/mm/gup.c\n+++ b/mm/gup.c\n@@ -1,1 +1,1 @@\n-no such line in gup.c\n+nor this one\n' >"$tmp/0003-bad.patch"

# ---- bad input --------------------------------------------------------------
mkdir -p "$tmp/notkernel" "$tmp/old/mm"
printf 'VERSION = 2\nPATCHLEVEL = 6\nSUBLEVEL = 39\n' >"$tmp/old/Makefile"
echo "int gup;" >"$tmp/old/mm/gup.c"
printf 'From x Mon Sep 17 00:00:00 2001\nSubject: [PATCH 0/2] cover\n\nno diff\n\nFrom y Mon Sep 17 00:00:00 2001\nSubject: [PATCH 1/2] no diff either\n\ntext\n' >"$tmp/empty.mbox"
one_line "review: not a kernel tree" 2 "not a kernel tree" "${lab[@]}" review --tree "$tmp/notkernel" "$tmp/0002-comment.patch"
one_line "review: a version with no instrumentation" 2 "no instrumentation for 2\.6\.39.*does not apply" \
	"${lab[@]}" review --tree "$tmp/old" "$tmp/0002-comment.patch"
one_line "review: a patch that does not apply" 2 "no patch of the series applies" \
	"${lab[@]}" review --base 6.1 "$tmp/0003-bad.patch"
one_line "review: an mbox with no patches" 2 "no patch in it" "${lab[@]}" review --base 6.1 "$tmp/empty.mbox"
one_line "review: an unknown base" 2 "unknown base" "${lab[@]}" review --base 9.9 "$tmp/0002-comment.patch"

# the bisect fixture: 6.1's source and four commits, the second known-cost
hist="$cache/fixtures/history-6.1"
if [ ! -f "$hist/.done" ]; then
	rm -rf "$hist"
	mkdir -p "$hist"
	cp -a "$src61/." "$hist/"
	chmod -R u+w "$hist"
	export GIT_AUTHOR_NAME="Pinlab Test" GIT_AUTHOR_EMAIL="test@pinlab.invalid" GIT_COMMITTER_NAME="Pinlab Test"
	export GIT_COMMITTER_EMAIL="test@pinlab.invalid" GIT_AUTHOR_DATE="2026-01-01T00:00:00Z"
	export GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
	git -C "$hist" init -q -b main
	echo ".done" >"$hist/.git/info/exclude"
	git -C "$hist" add -f -A   # Debian's linux-source .gitignore ignores the top level
	git -C "$hist" commit -qm "linux-source-6.1 as Debian ships it"
	git -C "$hist" tag good
	(cd "$hist" && patch -s -p1 <"$tmp/0002-comment.patch")
	git -C "$hist" commit -qam "mm: a comment in mm/memory.c"
	(cd "$hist" && patch -s -p1 <"$kc")
	git -C "$hist" commit -qam "mm/gup: plant a known cost on pin_user_pages()"
	git -C "$hist" tag planted
	echo "pinlab bisect fixture" >>"$hist/Documentation/process/howto.rst"
	git -C "$hist" commit -qam "Documentation: a line"
	sed -i '1i /* pinlab bisect fixture: a comment */' "$hist/mm/mmap.c"
	git -C "$hist" commit -qam "mm: a comment in mm/mmap.c"
	git -C "$hist" tag bad
	unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL GIT_AUTHOR_DATE GIT_COMMITTER_DATE
	: >"$hist/.done"
fi
one_line "bisect: --good not an ancestor of --bad" 2 "is not an ancestor" \
	"${lab[@]}" bisect --tree "$hist" --good bad --bad good --bench pin_longterm/anon
one_line "bisect: a --bench that matches nothing" 2 "matches nothing" \
	"${lab[@]}" bisect --tree "$hist" --good good --bad bad --bench pin_nothing/anon
one_line "bisect: not a git checkout" 2 "not a git checkout" \
	"${lab[@]}" bisect --tree "$tmp/notkernel" --good good --bad bad --bench pin_longterm/anon
# a dirty user tree: refused unless --allow-dirty
dirty="$tmp/dirty"
mkdir -p "$dirty/mm"
cp "$src61/Makefile" "$dirty/"
echo "int x;" >"$dirty/mm/gup.c"
git -C "$dirty" init -q
git -C "$dirty" add -A
git -C "$dirty" -c user.name=t -c user.email=t@t commit -qm x
echo "int y;" >"$dirty/mm/gup.c"
one_line "review: a dirty user tree" 2 "uncommitted changes.*--allow-dirty" \
	"${lab[@]}" review --tree "$dirty" "$tmp/0002-comment.patch"

# ---- a real review: known-cost, a comment, a patch that does not apply, one
# that does not build (each prefix boots while the next builds: the failed
# build must not stop the boots of the prefixes before it)
rc=0
"${lab[@]}" review --base 6.1 --matrix control --id rv "$tmp/0001-known-cost.patch" "$tmp/0002-comment.patch" \
	"$tmp/0003-bad.patch" "$tmp/0004-nobuild.patch" >"$tmp/rv.log" 2>&1 || rc=$?
r="$PINLAB_RESULTS/rv"
if [ "$rc" -eq 1 ] && grep -q "1 patch(es) did not apply" "$tmp/rv.log" &&
	grep -q "^variant p04: FAILED build" "$r/manifest.txt"; then
	ok "review: ran the two patches that apply and build, exit 1 for the one that does not apply and the one that does not build"
else notok "review: exit $rc"; tail -8 "$tmp/rv.log" | sed 's/^/# /'; fi
if att="$(python3 - "$r/report.md" <<'PY'
import re, sys
md = open(sys.argv[1]).read()
part = lambda n: md.split(f"### Patch {n}:")[1].split("###")[0]
p1, p2, p3, p4 = part(1), part(2), part(3), part(4)
flag1 = re.findall(r"^- (\S+): .* -> .*insn/page \(([+-][0-9.]+) %", p1, re.M)
ok = (flag1 and all(n.startswith("pin_longterm/") for n, _ in flag1) and all(float(c) > 0 for _, c in flag1)
      and "nothing beyond the noise threshold" in p2 and "does not apply" in p3
      and "Not measured: build" in p4 and "semantics: unchanged" in p1)
print(f"patch 1 flags {len(flag1)} (all pin_longterm, all up), patch 2 nothing, patch 3 does not apply, "
      "patch 4 does not build" if ok else
      f"patch 1: {flag1}; patch 2: {p2[:200]!r}; patch 3: {p3[:100]!r}; patch 4: {p4[:100]!r}")
sys.exit(0 if ok else 1)
PY
)"; then ok "review: attribution: $att"
else notok "review: attribution: ${att:-no report}"; fi
if [ -f "$r/report.txt" ] && [ "$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$r/report.txt")" -le 80 ] &&
	grep -q "^\[1/4\]" "$r/report.txt" && [ -x "$r/review/reproduce.sh" ] &&
	grep -q "$(sha256sum "$tmp/0001-known-cost.patch" | cut -c1-64)" "$r/review/reproduce.sh"; then
	ok "review: report.txt within 80 columns, reproduce.sh with the patches' hashes"
else notok "review: report.txt / reproduce.sh"; fi

# ---- a real bisection ---------------------------------------------------------
rc=0
"${lab[@]}" bisect --tree "$hist" --good good --bad bad --bench pin_longterm/anon/size_kb:4096/ppc:512 \
	--id bs >"$tmp/bs.log" 2>&1 || rc=$?
planted="$(git -C "$hist" rev-parse planted)"
if [ "$rc" -eq 0 ] && grep -q "first commit that moved .*: ${planted:0:12} " "$PINLAB_RESULTS/bs/bisect.log" &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["first"]==sys.argv[2] and d["boots"]<=2+5))' \
		"$PINLAB_RESULTS/bs/bisect.json" "$planted"; then
	ok "bisect: names the planted commit: $(grep "first commit" "$PINLAB_RESULTS/bs/bisect.log" | cut -c1-120)"
else notok "bisect: exit $rc"; tail -8 "$tmp/bs.log" | sed 's/^/# /'; fi
if [ -z "$(git -C "$hist" status --porcelain)" ] && [ ! -e "$hist/.git/BISECT_LOG" ] &&
	! ls -d "$cache"/bisect-bs-* 2>/dev/null; then
	ok "bisect: the user's tree untouched, its work directory gone"
else notok "bisect: left something behind"; fi
if ! pgrep -f "qemu-system-x86_64.*$TMPDIR/pinlab-vm\." >/dev/null; then ok "no VM left running"
else notok "a VM is still running"; fi
tap_end review
