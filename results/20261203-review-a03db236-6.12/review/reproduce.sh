#!/usr/bin/env bash
# Reproduce pinlab review 20261203-review-a03db236-6.12: run from anywhere; it works in the pinlab checkout that
# holds it (made at pinlab 9a726f6). Arguments: another run id (default: 20261203-review-a03db236-6.12-again).
set -euo pipefail
# base: linux-source-6.12 6.12.117-1~deb12u1 (tarball sha256 585a4a074597aefa2b1a68ada83a3184ba351c127544dea80618bbcceaa3961f)
# Debian config: config.amd64_none_cloud-amd64.xz sha256 db136e517bd7c5460ae9edab2d5c046b510c02ac41d997f102a986f10a4a6233
# qemu: QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)
# tree: directory sha256 c174eb4759b21da3ed2c2ce469f19b9402728c8e8de368743a206377dfec8308 version 6.12.117
#   was at /var/cache/pinlab/trees/6.12-minus-a03db236; set TREE to a tree with that identity (a different one is named differently in the new run)
top="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$top"
# the series as reviewed, in order
sha256sum -c --quiet <<'EOF'
a75e51a93d42724116d9feead9df83a143d610b75dd0baee4c713f4d0e73f1c4  results/20261203-review-a03db236-6.12/review/kernel-patches/6.12/series/0001-gup-optimize-longterm-pin-user-pages-for-large-folio.patch
EOF
scripts/lab review --tree "${TREE:-/var/cache/pinlab/trees/6.12-minus-a03db236}" --matrix review --id "${1:-20261203-review-a03db236-6.12-again}" \
    results/20261203-review-a03db236-6.12/review/kernel-patches/6.12/series/0001-gup-optimize-longterm-pin-user-pages-for-large-folio.patch
