#!/usr/bin/env bash
# A git history made from a base's source, for bisect's test and its
# committed log: the base as Debian ships it (tag good), then 16 commits,
# the 11th of them the lab's positive control, known-cost (tag planted),
# the others a comment or a line of documentation each (tag bad: the last).
# Fixed names and dates: the same commits, the same hashes, every time, so
# the kernels built for them are built once.
# Usage: scripts/tests/make-history.sh DIR [BASE]   (DIR must not exist)
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$top/scripts/lib.sh"
[ $# -ge 1 ] || usage_die "usage: $0 DIR [BASE]"
dir="$1" b="${2:-6.1}"
[ ! -e "$dir" ] || die "$dir exists"
use_base "$b"
[ -f "$kp/known-cost/variant.conf" ] || die "base $b has no known-cost variant to plant"
fetch_base
src="$(unpack_base)"
export GIT_AUTHOR_NAME="Pinlab Test" GIT_AUTHOR_EMAIL="test@pinlab.invalid" GIT_COMMITTER_NAME="Pinlab Test"
export GIT_COMMITTER_EMAIL="test@pinlab.invalid" GIT_AUTHOR_DATE="2026-01-01T00:00:00Z"
export GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
tmp="$dir.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
say "history: copying $b's source into a git repository (once)"
cp -a "$src/." "$tmp/"
chmod -R u+w "$tmp"
git -C "$tmp" init -q -b main
git -C "$tmp" add -f -A # Debian's linux-source .gitignore ignores the top level
git -C "$tmp" commit -qm "linux-source-$b as Debian ships it"
git -C "$tmp" tag good
files=(mm/memory.c mm/mmap.c mm/mprotect.c mm/madvise.c mm/mlock.c mm/mremap.c mm/rmap.c mm/swap.c
	mm/filemap.c mm/shmem.c mm/huge_memory.c mm/hugetlb.c mm/page_alloc.c mm/vmscan.c mm/migrate.c)
for i in $(seq 1 16); do
	if [ "$i" -eq 11 ]; then
		(cd "$tmp" && patch -s -p1 <"$kp/known-cost/0001-gup-known-cost-positive-control.patch")
		git -C "$tmp" commit -qam "mm/gup: plant a known cost on pin_user_pages()"
		git -C "$tmp" tag planted
		continue
	fi
	f="${files[$(((i - 1) % ${#files[@]}))]}"
	sed -i "1i /* pinlab history $i: a comment, no code */" "$tmp/$f"
	git -C "$tmp" commit -qam "$(dirname "$f"): a comment in $f ($i)"
done
git -C "$tmp" tag bad
mv "$tmp" "$dir"
say "history: $dir: $(git -C "$dir" rev-list --count good..bad) commits after good, planted $(git -C "$dir" rev-parse --short=12 planted)"
