# shellcheck shell=sh
# pinlab guest job (appended to VARIANT= and MATRIX_FILE= by lab-run.sh).
# Runs inside the lab VM from /init: pmem setup, semantics, the matrix.
# Outputs go to /tmp/out; /init writes them back on the transport NVDIMM.
out=/tmp/out
mkdir -p "$out"
step() { echo "pinlab-job: $*"; }
fail() {
	echo "pinlab-job: FAILED: $*"
	dmesg >"$out/dmesg.txt"
	exit 1
}
# regions by size (bytes): three 512M (fsdax ext4, fsdax xfs, devdax), one
# 256M raw (ext4 without DAX: the page cache), and the 128M transport
regions() {
	for r in /sys/bus/nd/devices/region*; do
		[ "$(cat "$r/size")" = "$1" ] && echo "${r##*region}"
	done
}
# shellcheck disable=SC2046
set -- $(regions 536870912)
[ $# -eq 3 ] || fail "expected three 512M NVDIMM regions, found $#"
r_ext4=$1 r_xfs=$2 r_dax=$3
r_disk=$(regions 268435456)
[ -n "$r_disk" ] || fail "no 256M NVDIMM region for the page-cache disk"
# --map=mem: struct pages in RAM; with map=dev (pages on the device) the
# second NVDIMM fails to probe here (add_pages -ENOMEM from the altmap)
step "pmem: fsdax (ext4) on region$r_ext4, fsdax (xfs) on region$r_xfs, devdax on region$r_dax"
ndctl list -R >"$out/namespaces.txt" 2>&1
ndctl create-namespace -f -e "namespace$r_ext4.0" -m fsdax --map=mem >"$out/ns-ext4.json" 2>&1 || fail "ndctl fsdax (ext4)"
ndctl create-namespace -f -e "namespace$r_xfs.0" -m fsdax --map=mem >"$out/ns-xfs.json" 2>&1 || fail "ndctl fsdax (xfs)"
ndctl create-namespace -f -e "namespace$r_dax.0" -m devdax --map=mem >"$out/ns-dax.json" 2>&1 || fail "ndctl devdax"
cat "$out"/ns-*.json >>"$out/namespaces.txt"
dev_ext4=/dev/$(sed -n 's/.*"blockdev":"\([^"]*\)".*/\1/p' "$out/ns-ext4.json")
dev_xfs=/dev/$(sed -n 's/.*"blockdev":"\([^"]*\)".*/\1/p' "$out/ns-xfs.json")
devdax=/dev/$(sed -n 's/.*"chardev":"\([^"]*\)".*/\1/p' "$out/ns-dax.json" | head -1)
dev_disk=""
for b in /sys/bus/nd/devices/namespace"$r_disk".0/block/*; do dev_disk=/dev/${b##*/}; done
rm -f "$out"/ns-*.json
[ -c "$devdax" ] || fail "no device-DAX char device ($devdax)"
[ -b "$dev_disk" ] || fail "no raw pmem block device for the disk"
# ZONE_MOVABLE: a 768M NVDIMM as device-DAX, onlined as movable system RAM
r_kmem=$(regions 805306368)
if [ -n "$r_kmem" ]; then
	step "movable: region$r_kmem as system RAM in ZONE_MOVABLE (kmem, online_movable)"
	ndctl create-namespace -f -e "namespace$r_kmem.0" -m devdax --map=mem >"$out/ns-kmem.json" 2>&1 ||
		fail "ndctl devdax (kmem)"
	kdax=$(sed -n 's/.*"chardev":"\([^"]*\)".*/\1/p' "$out/ns-kmem.json" | head -1)
	cat "$out/ns-kmem.json" >>"$out/namespaces.txt"
	# what daxctl reconfigure-device --mode=system-ram does; by hand,
	# since daxctl wants to modprobe kmem, which is built in here
	echo "$kdax" >/sys/bus/dax/drivers/device_dax/unbind || fail "unbind $kdax"
	echo "$kdax" >/sys/bus/dax/drivers/kmem/new_id || fail "bind $kdax to kmem"
	for m in /sys/devices/system/memory/memory*; do
		[ "$(cat "$m/state")" = offline ] && { echo online_movable >"$m/state" || fail "online_movable ${m##*/}"; }
	done
	rm -f "$out/ns-kmem.json"
	grep -A3 "zone   Movable" /proc/zoneinfo >>"$out/namespaces.txt"
fi
mkfs.ext4 -q -F -b 4096 "$dev_ext4" || fail "mkfs.ext4 $dev_ext4"
mount -o dax "$dev_ext4" /mnt/ext4 || fail "mount -o dax ext4"
mkfs.xfs -q -f -m reflink=0 "$dev_xfs" || fail "mkfs.xfs $dev_xfs"
mount -o dax "$dev_xfs" /mnt/xfs || fail "mount -o dax xfs"
mkfs.ext4 -q -F "$dev_disk" || fail "mkfs.ext4 $dev_disk"
mount "$dev_disk" /mnt/disk || fail "mount $dev_disk"
cat /proc/cmdline >"$out/cmdline"
numactl -H >"$out/numa.txt" 2>&1
grep -H . /sys/devices/system/node/node*/meminfo 2>/dev/null | grep MemTotal >>"$out/numa.txt"

common="--fsdax-dir /mnt/ext4 --devdax $devdax --dir /mnt/disk"
step "semantics (ext4 DAX)"
# shellcheck disable=SC2086
pinsem $common /job/semantics >"$out/semantics.tap" 2>&1
step "semantics (xfs DAX)"
# shellcheck disable=SC2086
pinsem --fsdax-dir /mnt/xfs --devdax "$devdax" --dir /mnt/disk /job/semantics >"$out/semantics-xfs.tap" 2>&1
tail -1 "$out/semantics.tap"
if [ -f /job/semantics.cross ]; then
	# baseline's table on this kernel: must fail where the variant differs
	step "semantics cross-check (baseline's table)"
	# shellcheck disable=SC2086
	pinsem $common /job/semantics.cross >"$out/semantics-cross.tap" 2>&1
fi

# shellcheck source=/dev/null
. "$MATRIX_FILE"
rc=0 rc1=0
if [ -n "${MAIN:-}" ]; then
	step "matrix: node 0"
	# shellcheck disable=SC2086 # word splitting wanted: MAIN is a list of words
	{
		pinbench $MAIN --label="$VARIANT" --fsdax-dir=/mnt/ext4 --devdax="$devdax" --dir=/mnt/disk \
			--benchmark_out="$out/pinbench.json" --benchmark_out_format=json 2>&1
		echo "$?" >"$out/rc0"
	} | tee "$out/pinbench.txt"
	rc=$(cat "$out/rc0")
fi
if [ -n "${NODE1:-}" ]; then
	step "matrix: node 1"
	# shellcheck disable=SC2086
	{
		pinbench $NODE1 --label="$VARIANT" --dir=/mnt/disk \
			--benchmark_out="$out/pinbench-node1.json" --benchmark_out_format=json 2>&1
		echo "$?" >"$out/rc1"
	} | tee -a "$out/pinbench.txt"
	rc1=$(cat "$out/rc1")
fi
rc2=0
if [ -n "${FIO:-}" ]; then
	# fio through the pin paths: O_DIRECT target on the page-cache disk (raw
	# pmem, ext4 without DAX), FS-DAX buffers on the ext4-DAX mount
	step "fio: $FIO"
	# shellcheck disable=SC2086
	sh /usr/share/pinlab/workloads/fio/run.sh --out "$out/fio" --dir /mnt/disk --fsdax-dir /mnt/ext4 $FIO || rc2=$?
	echo "$rc2" >"$out/fio.rc"
fi
if [ -n "${PERF_RECORD:-}" ]; then
	# a call-graph profile of one benchmark: cpu-clock sampling (no PMU in
	# the guest); the host folds the stacks and draws the flame graph
	step "perf record: pinbench $PERF_RECORD"
	# shellcheck disable=SC2086
	perf record -q -g -e cpu-clock -F 999 -o /tmp/perf.data -- \
		pinbench $PERF_RECORD --label="$VARIANT" --fsdax-dir=/mnt/ext4 --devdax="$devdax" --dir=/mnt/disk \
		>"$out/perf-pinbench.txt" 2>&1 || rc2=$?
	perf script -i /tmp/perf.data >"$out/perf.script" 2>/dev/null || rc2=$?
	# shellcheck source=workloads/lib.sh
	. /usr/share/pinlab/workloads/lib.sh
	pinlab_perf_report /tmp/perf.data "$out/perf-report.txt"
	rm -f /tmp/perf.data
fi
step "pinbench exit $rc / $rc1, workloads exit $rc2"
dmesg >"$out/dmesg.txt"
rm -f "$out/rc0" "$out/rc1"
umount /mnt/ext4 /mnt/xfs /mnt/disk
[ "$rc" -eq 0 ] && [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ]
