#!/usr/bin/env bash
# Reproduce pinlab review 20261203-review-612-variants: run from anywhere; it works in the pinlab checkout that
# holds it (made at pinlab 9a726f6). Arguments: another run id (default: 20261203-review-612-variants-again).
set -euo pipefail
# base: linux-source-6.12 6.12.117-1~deb12u1 (tarball sha256 585a4a074597aefa2b1a68ada83a3184ba351c127544dea80618bbcceaa3961f)
# Debian config: config.amd64_none_cloud-amd64.xz sha256 db136e517bd7c5460ae9edab2d5c046b510c02ac41d997f102a986f10a4a6233
# qemu: QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)
top="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$top"
# the series as reviewed, in order
sha256sum -c --quiet <<'EOF'
18dd899395810b23e6c4d7f586ba8698a19144560e985df4faeed88d6580901d  results/20261203-review-612-variants/review/kernel-patches/6.12/series/0001-revert-mm-gup-avoid-an-unnecessary-allocation-call-f.patch
f7bcf4d6268bb7c2e48f9b2d57aae78a29adbaf3d9714134d19b2b745012d039  results/20261203-review-612-variants/review/kernel-patches/6.12/series/0002-mm-gup-gup-fast-keeps-device-dax-under-foll-longterm.patch
ccc085a2446604f372be9225fdf8b9150c47eafdbf234190f21b76fd9d6493ec  results/20261203-review-612-variants/review/kernel-patches/6.12/series/0003-kernel-pinlab-aa-build-a-padding-object-for-the-buil.patch
EOF
scripts/lab review --base 6.12 --matrix review --id "${1:-20261203-review-612-variants-again}" \
    results/20261203-review-612-variants/review/kernel-patches/6.12/series/0001-revert-mm-gup-avoid-an-unnecessary-allocation-call-f.patch \
    results/20261203-review-612-variants/review/kernel-patches/6.12/series/0002-mm-gup-gup-fast-keeps-device-dax-under-foll-longterm.patch \
    results/20261203-review-612-variants/review/kernel-patches/6.12/series/0003-kernel-pinlab-aa-build-a-padding-object-for-the-buil.patch
