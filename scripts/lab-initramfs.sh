#!/usr/bin/env bash
# Build the lab guest's initramfs (busybox, pinbench, pinsem, ndctl, mkfs).
# Usage: scripts/lab initramfs   (prints the cpio.gz path on its last line)
#
# Everything comes from Debian's packages on this machine; dynamically linked
# programs travel with the libraries ldd names.  Cached by content.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 0 ] || usage_die "usage: scripts/lab initramfs"
make -s -C "$top" all
progs=(
	"$top/bench/pinbench" "$top/bench/pinsem"
	/usr/bin/ndctl /usr/bin/daxctl /sbin/mke2fs /sbin/mkfs.xfs
)
# numactl shows the guest's NUMA layout; fio (workloads) is left out for
# now: Debian's pulls in ~80 MB of libraries (ceph, gluster)
[ -x /usr/bin/numactl ] && progs+=(/usr/bin/numactl)
for p in /bin/busybox "${progs[@]}"; do
	[ -x "$p" ] || die "initramfs: $p missing (scripts/deps.sh all)"
done
file /bin/busybox | grep -q "statically linked" || die "initramfs: /bin/busybox is not busybox-static"

key="$(cat "${progs[@]}" /bin/busybox "$top/scripts/guest/init" "$0" | sha256sum | cut -c1-16)"
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
mkdir -p "$root"/{bin,sbin,usr/bin,proc,sys,dev,tmp,mnt,results,etc,run,var/tmp}
cp /bin/busybox "$root/bin/busybox"
for p in "${progs[@]}"; do
	cp "$p" "$root/usr/bin/"
	ldd "$p" | awk '/=> \//{print $3} /^[ \t]*\//{print $1}' | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -nL "$lib" "$root$lib"
	done
done
ln -s mke2fs "$root/usr/bin/mkfs.ext4"
cp "$top/scripts/guest/init" "$root/init"
chmod 755 "$root/init"
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
# keep the cache to the newest few
find "$cache/initramfs" -maxdepth 1 -name 'initramfs-*.cpio.gz' -printf '%T@ %p\n' |
	sort -rn | tail -n +4 | cut -d' ' -f2- | xargs -r rm -f
say "initramfs: $(du -h "$out" | cut -f1) -> $out"
echo "$out"
