# shellcheck shell=sh
# pinlab guest job runner (in the initramfs; /init runs it).  The job on the
# transport is data: /job/roles (the VM table: ROLE SLOT MODE FS MOUNT
# OPTIONS LINK), /job/commands.tsv (NAME, stdout file, argv; TAB-separated)
# and the files the commands read.  Sets the NVDIMMs up by role, runs every
# command as it stands, records each exit status in rc/NAME, keeps dmesg.
out=/tmp/out
mkdir -p "$out/rc"
# shellcheck source=scripts/guest/guest-lib.sh
. /usr/share/pinlab/guest-lib.sh
step() { echo "pinlab-job: $*"; }
fail() {
	echo "pinlab-job: FAILED: $*"
	dmesg >"$out/dmesg.txt"
	exit 1
}
json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$2" | head -1; }

# --map=mem: struct pages in RAM; with map=dev (pages on the device) the
# second NVDIMM fails to probe here (add_pages -ENOMEM from the altmap)
setup() { # setup ROLE SLOT MODE FS MOUNT OPTIONS LINK
	r="$(region_of_slot "$2")" || fail "$1: no NVDIMM region in slot $2"
	dev=""
	case "$3" in
	fsdax | devdax | kmem)
		m="$3"
		[ "$m" = kmem ] && m=devdax
		ndctl create-namespace -f -e "namespace$r.0" -m "$m" --map=mem >"$out/ns-$1.json" 2>&1 ||
			fail "ndctl $3 ($1, region$r)"
		cat "$out/ns-$1.json" >>"$out/namespaces.txt"
		if [ "$3" = fsdax ]; then dev="/dev/$(json_field blockdev "$out/ns-$1.json")"; else
			dev="$(json_field chardev "$out/ns-$1.json")"
		fi
		rm -f "$out/ns-$1.json"
		;;
	raw) dev="$(raw_blockdev "$r")" || fail "$1: no raw pmem block device in region$r" ;;
	*) fail "$1: unknown mode $3" ;;
	esac
	step "pmem: $1 in slot $2 = region$r, $3 ${dev}"
	if [ "$3" = kmem ]; then
		# what daxctl reconfigure-device --mode=system-ram does; by hand,
		# since daxctl wants to modprobe kmem, which is built in here.
		# Blocks stay offline when added (Debian's 6.12 config onlines
		# hot-added memory itself, MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO,
		# into ZONE_NORMAL), so that they can be onlined movable below
		echo offline >/sys/devices/system/memory/auto_online_blocks || fail "auto_online_blocks"
		echo "$dev" >/sys/bus/dax/drivers/device_dax/unbind || fail "unbind $dev"
		echo "$dev" >/sys/bus/dax/drivers/kmem/new_id || fail "bind $dev to kmem"
		for mb in /sys/devices/system/memory/memory*; do
			[ "$(cat "$mb/state")" = offline ] && { echo online_movable >"$mb/state" || fail "online_movable ${mb##*/}"; }
		done
		grep -A3 "zone   Movable" /proc/zoneinfo >>"$out/namespaces.txt"
		return
	fi
	if [ "$3" = devdax ]; then
		[ -c "/dev/$dev" ] || fail "$1: no device-DAX char device ($dev)"
		[ "$7" = - ] || ln -sf "/dev/$dev" "$7"
		return
	fi
	[ "$4" = - ] && return
	[ -b "$dev" ] || fail "$1: $dev is not a block device"
	case "$4" in
	ext4) mkfs.ext4 -q -F -b 4096 "$dev" || fail "mkfs.ext4 $dev" ;;
	# su=2m: allocation groups and stripe-aligned extents on 2 MiB
	# boundaries, so that a file with a 2 MiB extent-size hint (pinbench's
	# fsdax) is PMD-mappable in every boot (two groups and a 4 KiB log
	# stripe unit: the 64 MiB log fits)
	xfs) mkfs.xfs -q -f -m reflink=0 -d su=2m,sw=1,agcount=2 -l su=4096 "$dev" || fail "mkfs.xfs $dev" ;;
	*) fail "$1: unknown filesystem $4" ;;
	esac
	mkdir -p "$5"
	if [ "$6" = - ]; then mount -t "$4" "$dev" "$5" || fail "mount $dev $5"; else
		mount -t "$4" -o "$6" "$dev" "$5" || fail "mount -o $6 $dev $5"
	fi
}

ndctl list -R >"$out/namespaces.txt" 2>&1
while read -r role slot mode fs mnt opts link; do
	[ "$role" = transport ] && continue
	setup "$role" "$slot" "$mode" "$fs" "$mnt" "$opts" "$link"
done </job/roles
cat /proc/cmdline >"$out/cmdline"
numactl -H >"$out/numa.txt" 2>&1
grep -H . /sys/devices/system/node/node*/meminfo 2>/dev/null | grep MemTotal >>"$out/numa.txt"

# every command as it stands: TAB-separated argv, no shell in between
tab="$(printf '\t')"
while IFS="$tab" read -r name stdout args; do
	[ -n "$name" ] || continue
	step "$name"
	set -f
	old_ifs="$IFS"
	IFS="$tab"
	# shellcheck disable=SC2086 # split on TABs only: the argv
	set -- $args
	IFS="$old_ifs"
	set +f
	if [ "$stdout" = - ]; then
		"$@" </dev/null
		echo "$?" >"$out/rc/$name"
	else
		{
			"$@" </dev/null 2>&1
			echo "$?" >"$out/rc/$name"
		} | tee "$out/$stdout"
	fi
	step "$name: exit $(cat "$out/rc/$name")"
done </job/commands.tsv
dmesg >"$out/dmesg.txt"
awk '$2 ~ "^/mnt/" {print $2}' /proc/mounts | while read -r m; do umount "$m"; done
