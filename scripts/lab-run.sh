#!/usr/bin/env bash
# Build, boot and measure kernel variants in QEMU with emulated pmem and NUMA.
# Usage: scripts/lab run --variants LIST [--matrix NAME]
#                        [--deterministic | --modes wallclock,deterministic]
#                        [--boots N] [--accel auto|kvm|tcg] [--timeout S]
#                        [--id RUN-ID]
#
# --boots N boots each variant N times in deterministic mode, to show that
# the figures repeat (repeatability.txt); wall-clock runs boot once.
#
# Writes results/RUN-ID/: per variant and mode VARIANT[.det].json (Google
# Benchmark, label = variant), .node1.json, .semantics.tap (and
# .semantics-xfs.tap), .console.log, .cmdline, .dmesg.txt; per variant
# VARIANT.config and VARIANT.kernel.txt; manifest.txt.  Deterministic files
# carry ".det", further boots ".bootN".  A variant that fails to build, panics or hangs is
# recorded as failed with its log; the run goes on; the VM is always killed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

variants="" matrix=standard modes=wallclock boots=1 accel=auto timeout=3600 id=""
while [ $# -gt 0 ]; do
	case "$1" in
	--variants) variants="${2:?--variants needs a list}"; shift 2 ;;
	--matrix) matrix="${2:?--matrix needs a name}"; shift 2 ;;
	--deterministic) modes=deterministic; shift ;;
	--modes) modes="${2:?--modes needs a list}"; shift 2 ;;
	--boots) boots="${2:?--boots needs a number}"; shift 2 ;;
	--accel) accel="${2:?--accel needs a value}"; shift 2 ;;
	--timeout) timeout="${2:?--timeout needs seconds}"; shift 2 ;;
	--id) id="${2:?--id needs a value}"; shift 2 ;;
	*) usage_die "run: unknown argument '$1' (see scripts/lab help)" ;;
	esac
done
[ -n "$variants" ] || usage_die "usage: scripts/lab run --variants LIST [--matrix NAME] [--deterministic]"
IFS=, read -r -a mlist <<<"$modes"
for m in "${mlist[@]}"; do
	case "$m" in wallclock | deterministic) ;; *) usage_die "run: unknown mode '$m' (wallclock, deterministic)" ;; esac
done
[[ "$boots" =~ ^[1-9]$ ]] || usage_die "run: --boots must be 1-9"
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || usage_die "run: --timeout must be seconds"
case "$accel" in auto | kvm | tcg) ;; *) usage_die "run: --accel auto|kvm|tcg" ;; esac
[ -f "$top/scripts/matrices/$matrix" ] ||
	usage_die "run: unknown matrix '$matrix' (known: $(cd "$top/scripts/matrices" && echo *))"
IFS=, read -r -a vlist <<<"$variants"
for v in "${vlist[@]}"; do load_variant "$v"; done
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (scripts/deps.sh lab)"
if [[ ",$modes," == *,deterministic,* ]] && [ "$accel" = kvm ]; then
	usage_die "run: deterministic mode needs TCG (-icount), not --accel kvm"
fi
[ -n "$id" ] || id="$(date -u +%Y%m%d-%H%M%S)-lab-$matrix-${modes//,/-}"
out="${PINLAB_RESULTS:-$top/results}/$id"
[ ! -e "$out" ] || usage_die "run: $out exists; pick another --id"
mkdir -p "$out"
vmdir="$(mktemp -d "${TMPDIR:-/tmp}/pinlab-vm.XXXXXX")"
qpid=""
cleanup() {
	# timeout(1) leads its own process group: kill QEMU with it
	[ -n "$qpid" ] && { kill -9 -- "-$qpid" 2>/dev/null || kill -9 "$qpid" 2>/dev/null; }
	rm -rf "$vmdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_start="$(date +%s)"
say "run $id: variants ${vlist[*]}, matrix $matrix, modes $modes, $boots boot(s) each"
initrd="$(bash "$top/scripts/lab-initramfs.sh" | tail -1)"
initrd_names="$(basename "$initrd")"
# what the matrix asks of the guest, each on one line: MAIN, FIO, PERF_RECORD
{
	read -r main
	read -r fio
	read -r perf_args
} < <(
	# shellcheck source=/dev/null
	. "$top/scripts/matrices/$matrix"
	for x in "${MAIN:-}" "${FIO:-}" "${PERF_RECORD:-}"; do echo "$x" | tr -s ' \t\n' ' '; echo; done
)
# fio or perf in the guest: a second archive, appended (the kernel unpacks
# concatenated archives)
if [ -n "$fio$perf_args" ]; then
	wl_initrd="$(bash "$top/scripts/lab-initramfs.sh" --workloads | tail -1)"
	initrd_names+=" + $(basename "$wl_initrd")"
	cat "$initrd" "$wl_initrd" >"$vmdir/initrd.cpio.gz"
	initrd="$vmdir/initrd.cpio.gz"
fi

# QEMU: 2 NUMA nodes (node 1 memory-only) and six label-less NVDIMMs on
# node 1: three 512M (fsdax/ext4, fsdax/xfs, devdax), a 256M raw one for an
# ext4 without DAX (page cache), a 768M one onlined as movable system RAM
# (ZONE_MOVABLE for the movable backing), and a 128M raw "transport" that
# carries the job in and the results out as a tar archive.  No virtio disk, no 9p: their
# asynchronous completions would break -icount determinism.
qemu_cmd() { # qemu_cmd KERNEL SHARE CONSOLE ACCEL MODE
	local kernel="$1" share="$2" console="$3" acc="$4" mode="$5" smp=2 cpu=max
	local append="console=ttyS0 panic=-1 oops=panic loglevel=4 nokaslr norandmaps"
	append+=" transparent_hugepage=madvise default_hugepagesz=2M hugepagesz=2M hugepages=64 hugepagesz=1G hugepages=1"
	QEMU=(qemu-system-x86_64 -nodefaults -display none -monitor none -no-reboot
		-machine "pc,nvdimm=on,accel=$acc")
	[ "$mode" = deterministic ] && QEMU[${#QEMU[@]} - 1]="pc,nvdimm=on,accel=tcg"
	if [ "$mode" = deterministic ]; then
		acc=tcg smp=1 cpu="max,-rdrand,-rdseed"
		QEMU+=(-icount "shift=0,sleep=off" -rtc "base=2024-01-01T00:00:00,clock=vm")
	fi
	[ "$acc" = kvm ] && cpu=host
	QEMU+=(-cpu "$cpu" -smp "$smp" -m "5G,slots=8,maxmem=12G"
		-object "memory-backend-ram,id=m0,size=3584M"
		-object "memory-backend-ram,id=m1,size=1536M"
		-numa "node,nodeid=0,cpus=0-$((smp - 1)),memdev=m0"
		-numa "node,nodeid=1,memdev=m1")
	# ext4, xfs (needs > 300M), devdax, page-cache disk, transport; the
	# guest tells them apart by size (regions are not numbered in order)
	local i sizes=(512M 512M 512M 256M 128M 768M)
	for i in 0 1 2 3 4 5; do
		if [ "$i" -ne 4 ]; then
			truncate -s 0 "$vmdir/nv$i" && truncate -s "${sizes[$i]}" "$vmdir/nv$i"
		fi
		QEMU+=(-object "memory-backend-file,id=nv$i,share=on,mem-path=$vmdir/nv$i,size=${sizes[$i]},align=2M"
			-device "nvdimm,memdev=nv$i,id=nvdimm$i,node=1")
	done
	QEMU+=(-serial "file:$console"
		-kernel "$kernel/bzImage" -initrd "$initrd" -append "$append")
}

# Boot one kernel with one job; 0 when the guest said it was done.
boot() { # boot KERNEL SHARE CONSOLE ACCEL LIMIT MODE
	local rc=0
	# the job goes in as a tar on the transport NVDIMM, results come back on it
	rm -f "$vmdir/nv4"
	tar -C "$2" -cf "$vmdir/nv4" .
	truncate -s 128M "$vmdir/nv4"
	qemu_cmd "$1" "$2" "$3" "$4" "${6:-wallclock}"
	printf '%q ' "${QEMU[@]}" >"$2/qemu.cmdline"
	timeout -k 5 "$5" "${QEMU[@]}" </dev/null >>"$3.qemu" 2>&1 &
	qpid=$!
	local t=0
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 5
		t=$((t + 5))
		if [ $((t % 60)) -eq 0 ]; then
			say "  ... ${t} s: $(grep -c '/manual_time ' "$3" 2>/dev/null || true) benchmark results, $(grep -c '^fio-run: \[' "$3" 2>/dev/null || true) fio runs so far"
		fi
	done
	wait "$qpid" || rc=$?
	qpid=""
	tar -C "$2" -xf "$vmdir/nv4" 2>/dev/null || true
	[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && return 124
	grep -q "pinlab-guest: done" "$3" || return 1
	return 0
}

# accel: KVM where a guest boots under it, else TCG
accel_asked="$accel"
if [ "$accel" = auto ]; then
	accel=tcg
	if [ -w /dev/kvm ]; then
		k="$(bash "$top/scripts/lab-build.sh" "${vlist[0]}" | tail -1)"
		mkdir -p "$vmdir/probe"
		if boot "$k" "$vmdir/probe" "$vmdir/probe.console" kvm 60; then
			accel=kvm
		else
			say "KVM did not boot a guest (see manifest); using TCG"
			echo "kvm_probe: failed, $(tail -c 300 "$vmdir/probe.console.qemu" 2>/dev/null | tr '\n' ' ')" >"$out/kvm-probe.txt"
		fi
	fi
fi

{
	echo "run: $id"
	echo "command: scripts/lab run --variants $variants --matrix $matrix --modes $modes --boots $boots --accel $accel_asked --id $id"
	echo "modes: $modes"
	[[ ",$modes," == *,deterministic,* ]] &&
		echo "deterministic: QEMU TCG -icount shift=0,sleep=off, 1 vCPU, -cpu max,-rdrand,-rdseed, RTC fixed at 2024-01-01 (clock=vm): kernel times are instruction counts (1 ns = 1 instruction); files *.det.*"
	echo "wallclock accel: $accel (2 vCPUs)$([ "$accel_asked" = auto ] && echo ", chosen by --accel auto")"
	echo "qemu: $(qemu-system-x86_64 --version | head -1)"
	load_base
	echo "base: $PACKAGE $VERSION sha256 $SHA256"
	echo "matrix: $matrix"
	echo "host: $(hostname -s), $(nproc) CPUs, $(awk '/MemTotal/{print $2" kB"}' /proc/meminfo), $(uname -r)"
	echo "cpu: $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
	echo "pinlab: $(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "initramfs: $initrd_names"
	echo "guest: 5G in 2 NUMA nodes (3.5G node 0 with the CPUs, 1.5G node 1 memory only), 6 QEMU NVDIMMs on node 1 (3 x 512M: fsdax/ext4, fsdax/xfs, devdax; 256M raw: ext4 page cache; 768M devdax onlined movable as system RAM (daxctl): ZONE_MOVABLE; 128M raw: job/results transport), hugepages 64 x 2M + 1 x 1G"
} >"$out/manifest.txt"

failed=()
for v in "${vlist[@]}"; do
	load_variant "$v"
	say "[$v] build"
	tb0="$(date +%s)"
	if ! kernel="$(bash "$top/scripts/lab-build.sh" "$v" 2>"$out/$v.build.log" | tail -1)" ||
		[ ! -f "$kernel/bzImage" ]; then
		say "[$v] FAILED to build (log: results/$id/$v.build.log)"
		echo "variant $v: FAILED build" >>"$out/manifest.txt"
		failed+=("$v")
		continue
	fi
	tb1="$(date +%s)"
	cp "$kernel/config" "$out/$v.config"
	cp "$kernel/kernel.txt" "$out/$v.kernel.txt"
	for mode in "${mlist[@]}"; do
	nb=1
	[ "$mode" = deterministic ] && nb="$boots"
	for b in $(seq "$nb"); do
		sfx=""
		[ "$mode" = deterministic ] && sfx=".det"
		[ "$b" -gt 1 ] && sfx="$sfx.boot$b"
		share="$vmdir/share-$v$sfx"
		mkdir -p "$share"
		[ -f "$kp/$v/semantics" ] || die "variant $v has no semantics table ($kp/$v/semantics)"
		cp "$kp/$v/semantics" "$share/semantics"
		[ "$v" = baseline ] || cp "$kp/baseline/semantics" "$share/semantics.cross"
		# the job the guest runs; its arguments come from the matrix file
		{
			echo "# generated by scripts/lab-run.sh for $v, $mode boot $b"
			echo "VARIANT=$v"
			echo "MATRIX_FILE=/job/matrix"
			cat "$top/scripts/guest/job.sh"
		} >"$share/job.sh"
		cp "$top/scripts/matrices/$matrix" "$share/matrix"
		cp "$top/scripts/matrices/$matrix" "$out/matrix.txt"
		say "[$v] $mode boot $b/$nb ($([ "$mode" = deterministic ] && echo "tcg, icount" || echo "$accel"))"
		t0="$(date +%s)"
		verdict=ok
		boot "$kernel" "$share" "$out/$v$sfx.console.log" "$accel" "$timeout" "$mode" || verdict=$?
		t1="$(date +%s)"
		cat "$out/$v$sfx.console.log.qemu" >>"$out/$v$sfx.console.log" 2>/dev/null || true
		rm -f "$out/$v$sfx.console.log.qemu"
		# (the job's output is in the console log: job.log is not kept)
		for f in pinbench.json pinbench-node1.json semantics.tap semantics-xfs.tap semantics-cross.tap cmdline numa.txt namespaces.txt dmesg.txt; do
			[ -f "$share/$f" ] || continue
			case "$f" in
			pinbench.json) cp "$share/$f" "$out/$v$sfx.json" ;;
			pinbench-node1.json) cp "$share/$f" "$out/$v$sfx.node1.json" ;;
			semantics.tap) cp "$share/$f" "$out/$v$sfx.semantics.tap" ;;
			semantics-xfs.tap) cp "$share/$f" "$out/$v$sfx.semantics-xfs.tap" ;;
			semantics-cross.tap) cp "$share/$f" "$out/$v$sfx.semantics-cross.tap" ;;
			*) cp "$share/$f" "$out/$v$sfx.$f" ;;
			esac
		done
		[ -f "$share/qemu.cmdline" ] && cp "$share/qemu.cmdline" "$out/$v$sfx.qemu-cmdline"
		wl_why=""
		if [ -f "$share/fio/runs.tsv" ]; then
			cp "$share/fio/runs.tsv" "$out/$v$sfx.fio-runs.tsv"
			cp "$share/fio/env.txt" "$out/$v$sfx.fio-env.txt"
			tar -C "$share/fio" -cJf "$out/$v$sfx.fio-raw.tar.xz" raw
			/usr/bin/python3 "$top/scripts/fio_results.py" "$share/fio" "$out/$v$sfx.fio.json" --label "$v" \
				--summary "$out/$v$sfx.fio-summary.md" >"$vmdir/fio.log" 2>&1 ||
				wl_why="fio: $(tail -1 "$vmdir/fio.log") (see $v$sfx.fio-runs.tsv)"
			say "[$v] $(tail -1 "$vmdir/fio.log")"
		elif [ -f "$share/fio.rc" ]; then
			wl_why="fio: the runner wrote nothing (exit $(cat "$share/fio.rc"))"
		fi
		if [ -f "$share/perf.script" ]; then
			for f in perf-report.txt perf-pinbench.txt; do [ -f "$share/$f" ] && cp "$share/$f" "$out/$v$sfx.$f"; done
			/usr/bin/python3 "$top/scripts/perf_profile.py" fold "$share/perf.script" >"$out/$v$sfx.perf.folded" &&
				/usr/bin/python3 "$top/scripts/perf_profile.py" flame "$out/$v$sfx.perf.folded" "$out/$v$sfx.flame.svg" \
					--title "$v ($mode): pinbench $perf_args" &&
				/usr/bin/python3 "$top/scripts/perf_profile.py" pinpath "$out/$v$sfx.perf.folded" >"$out/$v$sfx.perf-pinpath.md" ||
				wl_why="perf: no profile (see $v$sfx.perf-pinbench.txt)"
		fi
		why=""
		if [ "$verdict" = 124 ]; then
			why="hung: killed after $timeout s"
		elif grep -qE "Kernel panic|BUG:|Oops" "$out/$v$sfx.console.log"; then
			why="kernel panic/oops (see $v$sfx.console.log)"
		elif [ "$verdict" != ok ]; then
			why="the guest did not finish (see $v$sfx.console.log)"
		elif [ "$(cat "$share/job.rc" 2>/dev/null)" != 0 ]; then
			why="the guest job failed (exit $(cat "$share/job.rc" 2>/dev/null || echo none); see $v$sfx.console.log)"
		elif ! grep -q "semantics: .* 0 failed" "$share/semantics.tap" 2>/dev/null; then
			why="semantics failed ($(tail -1 "$share/semantics.tap" 2>/dev/null))"
		elif [ -n "$main" ] && ! /usr/bin/python3 "$top/scripts/gbjson.py" check "$out/$v$sfx.json" >"$vmdir/chk" 2>&1; then
			why="benchmark JSON: $(tail -1 "$vmdir/chk")"
		elif [ -n "$wl_why" ]; then
			why="$wl_why"
		fi
		if [ -n "$why" ]; then
			say "[$v] $mode boot $b FAILED: $why"
			echo "variant $v $mode boot $b: FAILED: $why" >>"$out/manifest.txt"
			failed+=("$v")
			break 2
		fi
		say "[$v] $mode boot $b ok in $((t1 - t0)) s: $(tail -1 "$share/semantics.tap")$([ -z "$main" ] || echo "; $(/usr/bin/python3 "$top/scripts/gbjson.py" check "$out/$v$sfx.json" | tail -1)")"
		echo "variant $v $mode boot $b: ok, build $((tb1 - tb0)) s, boot+matrix $((t1 - t0)) s" >>"$out/manifest.txt"
	done
	done
done

if [ "$boots" -gt 1 ]; then
	/usr/bin/python3 "$top/scripts/repeatability.py" "$out" >"$out/repeatability.txt" || true
	cat "$out/repeatability.txt" >&2
fi
echo "total: $(($(date +%s) - t_start)) s" >>"$out/manifest.txt"
# large files go in compressed (the analysis scripts read .xz as they are;
# for Debian's compare.py: xz -dk FILE.json.xz)
find "$out" -maxdepth 1 -type f \( -name '*.json' -o -name '*.console.log' \) -size +1024k \
	-exec xz -9 -T1 {} +
if [ "${#failed[@]}" -gt 0 ]; then
	say "run $id: FAILED: ${failed[*]} (results/$id/manifest.txt)"
	exit 1
fi
say "run $id: done -> results/$id"
