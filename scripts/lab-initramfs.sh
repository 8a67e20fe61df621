#!/usr/bin/env bash
# Build the lab guest's initramfs (busybox, pinbench, pinsem, ndctl, mkfs).
# Usage: scripts/lab initramfs [--workloads | --extra PROG...]
#        (prints the cpio.gz path last)
#
# Everything comes from Debian's packages on this machine; dynamically linked
# programs travel with the libraries ldd names.  Cached by content.
# --workloads builds the second archive that runs append for fio jobs and
# perf profiles: fio, perf (Debian's linux-perf 6.1, the guest kernel's
# version) and workloads/, ~100 MB unpacked (Debian's fio links ceph and
# gluster libraries), so it only travels when a matrix asks for it.
# --extra PROG... builds an archive of the programs a matrix's [[extra]]
# entries name (static or dynamic), appended the same way.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

workloads=0 extra=()
case "${1:-}" in
"") ;;
--workloads) workloads=1 ;;
--extra)
	shift
	extra=("$@")
	[ "${#extra[@]}" -gt 0 ] || usage_die "usage: scripts/lab initramfs --extra PROG..."
	;;
*) usage_die "usage: scripts/lab initramfs [--workloads | --extra PROG...]" ;;
esac
# copy_progs ROOT PROG...: programs into ROOT/usr/bin with the libraries a
# dynamic one needs (a static one needs none: ldd says so and exits 1)
copy_progs() {
	local root="$1" p lib libs
	shift
	for p in "$@"; do
		if [ ! -f "$p" ] || [ ! -x "$p" ]; then die "initramfs: $p is not an executable file"; fi
		cp "$p" "$root/usr/bin/"
		if ! libs="$(ldd "$p" 2>&1)"; then
			case "$libs" in
			*"not a dynamic executable"* | *"statically linked"*) continue ;;
			*) die "initramfs: ldd $p: $libs" ;;
			esac
		fi
		echo "$libs" | awk '/=> \//{print $3} /^[ \t]*\//{print $1}' | while read -r lib; do
			mkdir -p "$root$(dirname "$lib")"
			cp -nL "$lib" "$root$lib"
		done
	done
}
# pack ROOT OUT KEEP: the cpio.gz of ROOT, and only the KEEP newest of its kind
pack() {
	local root="$1" out="$2" keep="$3" kind
	kind="$(basename "$out" | sed 's/-[0-9a-f]*\.cpio\.gz$//')"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
	mv "$out.tmp" "$out"
	find "$cache/initramfs" -maxdepth 1 -name "$kind-*.cpio.gz" -printf '%T@ %p\n' |
		sort -rn | tail -n +"$((keep + 1))" | cut -d' ' -f2- | xargs -r rm -f
	say "initramfs: $kind $(du -h "$out" | cut -f1) -> $out"
}
if [ "${#extra[@]}" -gt 0 ]; then
	key="$(cat "${extra[@]}" "$0" | sha256sum | cut -c1-16)"
	out="$cache/initramfs/extra-$key.cpio.gz"
	if [ ! -f "$out" ]; then
		mkdir -p "$cache/initramfs"
		root="$(mktemp -d "$cache/initramfs/xroot.XXXXXX")"
		trap 'rm -rf "$root"' EXIT
		mkdir -p "$root/usr/bin"
		copy_progs "$root" "${extra[@]}"
		pack "$root" "$out" 2
	fi
	echo "$out"
	exit 0
fi
if [ "$workloads" -eq 1 ]; then
	wprogs=(/usr/bin/fio /usr/bin/perf)
	for p in "${wprogs[@]}"; do [ -x "$p" ] || die "initramfs: $p missing (scripts/deps.sh lab)"; done
	key="$( (cat "${wprogs[@]}" "$0"; cd "$top" && tar -c --sort=name --mtime=@0 --owner=0 --group=0 workloads) | sha256sum | cut -c1-16)"
	out="$cache/initramfs/workloads-$key.cpio.gz"
	if [ ! -f "$out" ]; then
		say "initramfs: assembling the workloads archive (fio, perf)"
		mkdir -p "$cache/initramfs"
		root="$(mktemp -d "$cache/initramfs/wroot.XXXXXX")"
		trap 'rm -rf "$root"' EXIT
		mkdir -p "$root/usr/bin" "$root/usr/share/pinlab"
		copy_progs "$root" "${wprogs[@]}"
		cp -r "$top/workloads" "$root/usr/share/pinlab/"
		pack "$root" "$out" 2
	fi
	echo "$out"
	exit 0
fi
mkdir -p "$top/build"
# one make at a time in this tree (two lab runs of it would race on build/)
flock "$top/build/.make.lock" make -s -C "$top" all
progs=(
	"$top/bench/pinbench" "$top/bench/pinsem"
	/usr/bin/ndctl /usr/bin/daxctl /sbin/mke2fs /sbin/mkfs.xfs
)
# numactl shows the guest's NUMA layout (fio and perf: --workloads)
[ -x /usr/bin/numactl ] && progs+=(/usr/bin/numactl)
for p in /bin/busybox "${progs[@]}"; do
	[ -x "$p" ] || die "initramfs: $p missing (scripts/deps.sh all)"
done
file /bin/busybox | grep -q "statically linked" || die "initramfs: /bin/busybox is not busybox-static"

guest=("$top/scripts/guest/init" "$top/scripts/guest/job.sh" "$top/scripts/guest/guest-lib.sh"
	"$top/scripts/guest/calibrate.sh" "$top/scripts/guest/peer.sh")
key="$(cat "${progs[@]}" /bin/busybox "${guest[@]}" "$0" | sha256sum | cut -c1-16)"
out="$cache/initramfs/initramfs-$key.cpio.gz"
if [ -f "$out" ]; then
	say "initramfs: cached $out"
	echo "$out"
	exit 0
fi
say "initramfs: assembling"
mkdir -p "$cache/initramfs"
root="$(mktemp -d "$cache/initramfs/root.XXXXXX")"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/share/pinlab,proc,sys,dev,tmp,mnt,results,etc,run,var/tmp}
cp /bin/busybox "$root/bin/busybox"
copy_progs "$root" "${progs[@]}"
ln -s mke2fs "$root/usr/bin/mkfs.ext4"
cp "$top/scripts/guest/init" "$root/init"
chmod 755 "$root/init"
cp "$top/scripts/guest/job.sh" "$top/scripts/guest/guest-lib.sh" "$top/scripts/guest/calibrate.sh" "$top/scripts/guest/peer.sh" \
	"$root/usr/share/pinlab/"
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
pack "$root" "$out" 3
echo "$out"
