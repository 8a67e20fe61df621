# pinlab guest job (appended to VARIANT= and MATRIX_FILE= by lab-run.sh).
# Runs inside the lab VM from /init: pmem setup, semantics, the matrix.
# Outputs go to /tmp/out first (no 9p traffic while measuring), then /results.
out=/tmp/out
mkdir -p "$out"
step() { echo "pinlab-job: $*"; }
fail() {
	echo "pinlab-job: FAILED: $*"
	dmesg >"$out/dmesg.txt"
	cp "$out"/* /results/ 2>/dev/null
	exit 1
}

# --map=mem: struct pages in RAM; with map=dev (pages on the device) the
# second 256M NVDIMM fails to probe here (add_pages -ENOMEM from the altmap)
step "pmem: three NVDIMMs -> fsdax (ext4), fsdax (xfs), devdax"
ndctl list -R >"$out/namespaces.txt" 2>&1
ndctl create-namespace -f -e namespace0.0 -m fsdax --map=mem >>"$out/namespaces.txt" 2>&1 || fail "ndctl fsdax 0"
ndctl create-namespace -f -e namespace1.0 -m fsdax --map=mem >>"$out/namespaces.txt" 2>&1 || fail "ndctl fsdax 1"
ndctl create-namespace -f -e namespace2.0 -m devdax --map=mem >>"$out/namespaces.txt" 2>&1 || fail "ndctl devdax"
devdax=""
for d in /dev/dax*; do [ -c "$d" ] && devdax="$d" && break; done
[ -n "$devdax" ] || fail "no /dev/dax* after create-namespace"
mkfs.ext4 -q -F -b 4096 /dev/pmem0 || fail "mkfs.ext4 pmem0"
mount -o dax /dev/pmem0 /mnt/ext4 || fail "mount -o dax ext4"
mkfs.xfs -q -f -m reflink=0 /dev/pmem1 || fail "mkfs.xfs pmem1"
mount -o dax /dev/pmem1 /mnt/xfs || fail "mount -o dax xfs"
mkfs.ext4 -q -F /dev/vda || fail "mkfs.ext4 vda"
mount /dev/vda /mnt/disk || fail "mount vda"
cat /proc/cmdline >"$out/cmdline"
numactl -H >"$out/numa.txt" 2>&1
grep -H . /sys/devices/system/node/node*/meminfo 2>/dev/null | grep MemTotal >>"$out/numa.txt"

common="--fsdax-dir /mnt/ext4 --devdax $devdax --dir /mnt/disk"
step "semantics (ext4 DAX)"
# shellcheck disable=SC2086
pinsem $common /results/semantics >"$out/semantics.tap" 2>&1
step "semantics (xfs DAX)"
# shellcheck disable=SC2086
pinsem --fsdax-dir /mnt/xfs --devdax "$devdax" --dir /mnt/disk /results/semantics >"$out/semantics-xfs.tap" 2>&1
tail -1 "$out/semantics.tap"

# shellcheck source=/dev/null
. "$MATRIX_FILE"
step "matrix: node 0"
# shellcheck disable=SC2086 # word splitting wanted: MAIN is a list of words
pinbench $MAIN --label="$VARIANT" --fsdax-dir=/mnt/ext4 --devdax="$devdax" --dir=/mnt/disk \
	--benchmark_out="$out/pinbench.json" --benchmark_out_format=json >"$out/pinbench.txt" 2>&1
rc=$?
step "matrix: node 1"
# shellcheck disable=SC2086
pinbench $NODE1 --label="$VARIANT" --dir=/mnt/disk \
	--benchmark_out="$out/pinbench-node1.json" --benchmark_out_format=json >>"$out/pinbench.txt" 2>&1
rc1=$?
step "pinbench exit $rc / $rc1"
dmesg >"$out/dmesg.txt"
cp "$out"/* /results/
umount /mnt/ext4 /mnt/xfs /mnt/disk
[ "$rc" -eq 0 ] && [ "$rc1" -eq 0 ]
