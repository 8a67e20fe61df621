#!/usr/bin/env bash
# Installs the Debian packages pinlab needs (Debian 12).  Idempotent: only
# what is missing is installed.  Usage: scripts/deps.sh [bench|lab|all]
set -euo pipefail

what="${1:-all}"
bench=(build-essential g++ pkg-config libbenchmark-dev libbenchmark-tools
	python3 python3-scipy python3-matplotlib python3-numpy python3-pytest libnuma-dev
	numactl liburing-dev libcmocka-dev clang-format shellcheck util-linux
	valgrind git chromium)
# the kernel bases are not here: the lab fetches each base's source itself
# (scripts/lab bases), so that nothing apt does to the system moves a base
lab=(qemu-system-x86 busybox-static ndctl daxctl e2fsprogs
	xfsprogs flex bison bc libelf-dev libssl-dev ccache cpio xz-utils
	dwarves fio linux-perf rsync)

# the fleet: a LAVA server and worker of Debian's (the lava engine's test
# stands a private one up; a lab that has its own LAVA needs none of these)
lava=(postgresql lava-server lava-dispatcher lavacli python3-yaml)

case "$what" in
bench) pkgs=("${bench[@]}") ;;
lab) pkgs=("${lab[@]}") ;;
lava) pkgs=("${lava[@]}") ;;
all) pkgs=("${bench[@]}" "${lab[@]}" "${lava[@]}") ;;
*)
	echo "usage: $0 [bench|lab|lava|all]" >&2
	exit 2
	;;
esac

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
