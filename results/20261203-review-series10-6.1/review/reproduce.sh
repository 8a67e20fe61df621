#!/usr/bin/env bash
# Reproduce pinlab review 20261203-review-series10-6.1: run from anywhere; it works in the pinlab checkout that
# holds it (made at pinlab f4d2f5c). Arguments: another run id (default: 20261203-review-series10-6.1-again).
set -euo pipefail
# base: linux-source-6.1 6.1.192-2 (tarball sha256 4d415b3d364834fd818270e88813e90323bbfce4f519a0e6bd4940ddcd7df693)
# Debian config: config.amd64_none_cloud-amd64.xz sha256 9ec72e910367dc1513659ba6674381b2d29c2530417ab96cebe1df94ed0748f1
# qemu: QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)
top="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$top"
# the series as reviewed, in order
sha256sum -c --quiet <<'EOF'
b7181fc5369ef6b30e0031f0e8c850da0903f7ac3cb71f06142479df58ccced3  results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0001-mm-a-comment-in-mm-mremap-c-6.patch
a725c91b4a0b295d67c8f87dfd67fdd06a78d00a2be2a2313b78dcb35201db54  results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0002-mm-a-comment-in-mm-rmap-c-7.patch
4dd10bffb9f715ee974d4b49de534a4a8a37dafdc83aa55b2515e87e6dbd0ca5  results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0003-mm-a-comment-in-mm-swap-c-8.patch
ba89f1b37be1d231a11ab95cff2ac517b09abf3c51451c60dcaa3c690acf1a2e  results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0004-mm-a-comment-in-mm-filemap-c-9.patch
dec521851410ef1f3dd6cebd042367889b66d8d0b45b372889059d347132b6b4  results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0005-mm-a-comment-in-mm-shmem-c-10.patch
43eba90876c58932dc16b8b20cb8b3bcd763d10cf4ad7b492c6f66726cacfb81  results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0006-mm-gup-plant-a-known-cost-on-pin-user-pages.patch
ee18b76b35223f82a2280e0e45eca7304e1c3239d919cb0ba2840ab7ac17ed81  results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0007-mm-a-comment-in-mm-hugetlb-c-12.patch
4a82efef650a67cd50f32a588808e20090b41a0f89423fb66e3ff78ab3b60c0a  results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0008-mm-a-comment-in-mm-page-alloc-c-13.patch
26726bffa28429c793fdf501a481faa79437e6f9bb2dde0c5549d359f89d27c0  results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0009-mm-a-comment-in-mm-vmscan-c-14.patch
2760889239d959bd7272c7afc3aadb786441b24b8d63b3fa94e870df089ce54f  results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0010-mm-a-comment-in-mm-migrate-c-15.patch
EOF
scripts/lab review --base 6.1 --matrix review-quick --id "${1:-20261203-review-series10-6.1-again}" \
    results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0001-mm-a-comment-in-mm-mremap-c-6.patch \
    results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0002-mm-a-comment-in-mm-rmap-c-7.patch \
    results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0003-mm-a-comment-in-mm-swap-c-8.patch \
    results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0004-mm-a-comment-in-mm-filemap-c-9.patch \
    results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0005-mm-a-comment-in-mm-shmem-c-10.patch \
    results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0006-mm-gup-plant-a-known-cost-on-pin-user-pages.patch \
    results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0007-mm-a-comment-in-mm-hugetlb-c-12.patch \
    results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0008-mm-a-comment-in-mm-page-alloc-c-13.patch \
    results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0009-mm-a-comment-in-mm-vmscan-c-14.patch \
    results/20261203-review-series10-6.1/review/kernel-patches/6.1/series/0010-mm-a-comment-in-mm-migrate-c-15.patch
