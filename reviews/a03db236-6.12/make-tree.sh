#!/usr/bin/env bash
# The tree this review takes a03db236 onto: Debian's linux-source-6.12 (the
# lab's pinned 6.12 base, fetched and verified by the lab) with a03db236
# reverted (tree.patch), as a plain source directory.
# Usage: reviews/a03db236-6.12/make-tree.sh DIR   (DIR must not exist)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/../.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$top/scripts/lib.sh"
[ $# -eq 1 ] || usage_die "usage: $0 DIR"
[ ! -e "$1" ] || die "$1 exists"
use_base 6.12
fetch_base
src="$(unpack_base)"
mkdir -p "$(dirname "$1")"
cp -a "$src" "$1.tmp"
chmod -R u+w "$1.tmp"
patch -s -p1 -d "$1.tmp" <"$here/tree.patch"
mv "$1.tmp" "$1"
say "tree: $1 (linux-source-6.12 $VERSION_USED, a03db236 reverted)"
