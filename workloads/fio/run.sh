#!/bin/sh
# shellcheck shell=sh
# Run pinlab's fio jobs (this directory's *.fio), one section at a time,
# with --output-format=json+; POSIX sh, so the same runner works on the host
# and in the lab guest's busybox.
#
# Usage: workloads/fio/run.sh --out DIR --dir DIR [--fsdax-dir DIR]
#          [--families odirect,iouring,numa] [--buffers anon,thp,hugetlb,shmhuge,fsdax]
#          [--bs 4k,64k,2m] [--rw randread,randwrite] [--runtime S] [--reps N]
#          [--size 128M] [--perf-stat] [--fsdax-expect refuse|allow] [--fio PATH]
#
# --dir holds the O_DIRECT target file (a real filesystem: not tmpfs); it is
# created and removed here.  Writes DIR/raw/NAME.rN.json (fio's JSON),
# .err (its stderr), .perf.csv (perf stat -x, with --perf-stat),
# DIR/runs.tsv (one line per run: name, rep, status, raw file, notes) and
# DIR/env.txt.  Statuses: ok, expected-refusal, skip:REASON, error:REASON.
# Machine state it changes (THP mode, hugetlb pool, a hugetlbfs mount, work
# files) is recorded as it changes in a state file and put back on exit; a
# watcher process puts it back too if the runner is killed with SIGKILL.  Exit 1 when any run has status error.
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=SCRIPTDIR/../lib.sh
. "$here/../lib.sh"
out="" dir="" fsdax="" families="odirect,iouring,numa" buffers="anon,thp,hugetlb,shmhuge,fsdax"
bss="4k,64k,2m" rws="randread,randwrite" runtime=2 reps=3 size=128M perfstat=0 expect=refuse fio=fio
die() {
	echo "fio-run: $*" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out="${2:?}"; shift 2 ;;
	--dir) dir="${2:?}"; shift 2 ;;
	--fsdax-dir) fsdax="${2:?}"; shift 2 ;;
	--families) families="${2:?}"; shift 2 ;;
	--buffers) buffers="${2:?}"; shift 2 ;;
	--bs) bss="${2:?}"; shift 2 ;;
	--rw) rws="${2:?}"; shift 2 ;;
	--runtime) runtime="${2:?}"; shift 2 ;;
	--reps) reps="${2:?}"; shift 2 ;;
	--size) size="${2:?}"; shift 2 ;;
	--perf-stat) perfstat=1; shift ;;
	--fsdax-expect) expect="${2:?}"; shift 2 ;;
	--fio) fio="${2:?}"; shift 2 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
{ [ -n "$out" ] && [ -n "$dir" ]; } || die "usage: run.sh --out DIR --dir DIR [options] (see its header)"
[ -d "$dir" ] || die "--dir $dir: no such directory"
case "$runtime" in '' | *[!0-9]*) die "--runtime: whole seconds" ;; esac
case "$reps" in '' | *[!0-9]* | 0) die "--reps: a positive number" ;; esac
case "$expect" in refuse | allow) ;; *) die "--fsdax-expect refuse|allow" ;; esac
for f in $(echo "$families" | tr , ' '); do
	[ -f "$here/$f.fio" ] || die "unknown family '$f' (have: $(cd "$here" && echo ./*.fio | sed 's|\./||g; s|\.fio||g'))"
done
for b in $(echo "$buffers" | tr , ' '); do
	case "$b" in anon | thp | hugetlb | shmhuge | fsdax) ;; *) die "unknown buffer '$b'" ;; esac
done
for r in $(echo "$rws" | tr , ' '); do
	case "$r" in randread | randwrite | read | write) ;; *) die "unknown rw '$r'" ;; esac
done
command -v "$fio" >/dev/null 2>&1 || die "no fio ($fio)"
if [ -n "$fsdax" ]; then
	grep -q " $fsdax .*[ ,]dax" /proc/mounts || grep -q " $fsdax .*dax=always" /proc/mounts ||
		die "--fsdax-dir $fsdax is not mounted with -o dax"
fi
mkdir -p "$out/raw"
thp=/sys/kernel/mm/transparent_hugepage/enabled
hp=/proc/sys/vm/nr_hugepages
hugetlbfs="" pid=""
# What to put back, one "KIND VALUE" a line, written before each change:
# pid (a running fio), mount, hp (the pool's size), thp (the mode), file, dir.
# The state file and the work directory are named before either exists and
# the watcher starts before anything is changed, so a SIGKILL at any point
# leaves nothing that is not in the state file.
state="$dir/pinlab-fio.$$.state"
work="$dir/pinlab-fio.$$"
for f in "$state" "$state.tmp" "$work"; do
	[ ! -e "$f" ] || die "$f exists (left by an earlier runner of pid $$?): remove it"
done
note() { echo "$1 $2" >>"$state"; }
kill_tree() { # a process and its children (fio under perf stat), printed; busybox has no pgrep
	awk -v p="$1" '$4 == p {print $1}' /proc/[0-9]*/stat 2>/dev/null |
		while read -r c; do kill "$c" 2>/dev/null && echo "$c"; done
	kill "$1" 2>/dev/null
	echo "$1"
}
# restore STATE: everything back, each step on its own (no set -e: one
# failing step must not skip the rest), the running fio first (a hugetlbfs
# it still holds would not unmount, and a fio in its layout would make its
# directory again): up to 5 s for it to end on SIGTERM, then SIGKILL
restore() {
	set +e
	[ -f "$1" ] || return 0
	_pids=""
	while read -r k v; do [ "$k" = pid ] && _pids="$_pids $(kill_tree "$v" | tr '\n' ' ')"; done <"$1"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		_alive=""
		for p in $_pids; do kill -0 "$p" 2>/dev/null && _alive="$_alive $p"; done
		[ -n "$_alive" ] || break
		sleep 0.5
	done
	for p in $_alive; do kill -9 "$p" 2>/dev/null; done
	[ -z "$_alive" ] || sleep 0.5
	while read -r k v; do [ "$k" = mount ] && umount "$v" 2>/dev/null; done <"$1"
	while read -r k v; do
		case "$k" in
		hp) [ "$(cat "$hp")" = "$v" ] || echo "$v" >"$hp" ;;
		thp) echo "$v" >"$thp" 2>/dev/null ;;
		file) rm -f "$v" ;;
		dir) rm -rf "$v" ;;
		esac
	done <"$1"
	rm -f "$1" "$1.tmp"
}
cleanup() {
	restore "$state"
	kill "$watcher" 2>/dev/null
}
# the watcher: outlives a SIGKILLed runner and puts the state back (it
# ignores the signals the runner handles itself)
runner=$$
(
	trap '' INT TERM HUP
	while [ -d "/proc/$runner" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$runner/stat" 2>/dev/null; do
		sleep 1
	done
	restore "$state"
) </dev/null >/dev/null 2>&1 &
watcher=$!
trap cleanup EXIT
trap 'exit 130' INT TERM

note dir "$work"
mkdir "$work"
thp_was="$(sed 's/.*\[\(.*\)\].*/\1/' "$thp" 2>/dev/null || true)"
hp_was="$(cat "$hp")"
note hp "$hp_was"
[ -z "$thp_was" ] || note thp "$thp_was"
[ -z "$fsdax" ] || note file "$fsdax/pinlab-fio-buf"

# hugetlb buffers: a hugetlbfs of our own, and 2M pages for iodepth x 2M + alignment
case ",$buffers," in *,hugetlb,* | *,shmhuge,*)
	mkdir -p "$work/hugetlbfs"
	note mount "$work/hugetlbfs"
	mount -t hugetlbfs -o pagesize=2M none "$work/hugetlbfs" && hugetlbfs="$work/hugetlbfs"
	free="$(awk '/HugePages_Free/{print $2}' /proc/meminfo)"
	[ "$free" -ge 16 ] || echo $((hp_was + 16 - free)) >"$hp"
	;;
esac
events=""
if [ "$perfstat" = 1 ]; then
	command -v perf >/dev/null 2>&1 || die "--perf-stat: no perf"
	events="$(pinlab_perf_events perf)"
fi
nodes=0
for n in /sys/devices/system/node/node[0-9]*; do [ -d "$n" ] && nodes=$((nodes + 1)); done
{
	echo "kernel_release=$(uname -r)"
	echo "fio_version=$("$fio" --version)"
	echo "thp_enabled_before=$thp_was"
	echo "numa_nodes=$nodes"
	echo "target=$dir ($(awk -v d="$dir" '$2==d{print $1" "$3}' /proc/mounts | head -1))"
	echo "fsdax_dir=$fsdax"
	echo "perf_events=$events"
	echo "args=families=$families buffers=$buffers bs=$bss rw=$rws runtime=$runtime reps=$reps size=$size"
} >"$out/env.txt"
: >"$out/runs.tsv"

# smaps/numa_maps of the running fio, sampled mid-run: what backed the buffer
sample() { # sample PID -> "thp_kb=N hugetlb_kb=N n0=N n1=N"
	_r="$(cat "/proc/$1/smaps_rollup" 2>/dev/null || true)"
	_thp="$(echo "$_r" | awk '/^AnonHugePages/{s+=$2} END{print s+0}')"
	_ht="$(echo "$_r" | awk '/_Hugetlb/{s+=$2} END{print s+0}')"
	_n="$(tr ' ' '\n' <"/proc/$1/numa_maps" 2>/dev/null | awk -F= '/^N[0-9]+=/{s[$1]+=$2} END{printf "n0=%d n1=%d", s["N0"], s["N1"]}')"
	echo "thp_kb=$_thp hugetlb_kb=$_ht ${_n:-n0=0 n1=0}"
}

total=0 failed=0
# one_run NAME FAMILY SECTION BS RW REP EXTRA-ENV...: run, classify, log
one_run() {
	name="$1" fam="$2" sec="$3" bs="$4" rw="$5" rep="$6"
	raw="$out/raw/$(echo "$name" | tr '/:' '__').r$rep"
	total=$((total + 1))
	set -- "$fio" --section="$sec" --output-format=json+ --output="$raw.json" "$here/$fam.fio"
	[ "$perfstat" = 1 ] && set -- perf stat -x, -o "$raw.perf.csv" -e "$events" -- "$@"
	PINLAB_FIO_FILE="$work/target" PINLAB_FIO_SIZE="$size" PINLAB_FIO_BS="$bs" PINLAB_FIO_RW="$rw" \
		PINLAB_FIO_RUNTIME="$runtime" PINLAB_FIO_HUGETLBFS="$hugetlbfs" PINLAB_FIO_FSDAX="$fsdax" \
		sh -c 'echo "pid $$" >>"$0"; exec "$@"' "$state" "$@" 2>"$raw.err" &
	# (the child notes its own pid before it becomes fio: a SIGKILL between
	# the fork and a note of ours would leave a fio the watcher never knew)
	pid=$!
	notes="thp_kb=0 hugetlb_kb=0 n0=0 n1=0"
	if [ "$runtime" -ge 1 ]; then
		sleep 1
		fpid="$(pidof "$(basename "$fio")" 2>/dev/null | awk '{print $1}')"
		[ -n "$fpid" ] && notes="$(sample "$fpid")"
	fi
	rc=0
	wait "$pid" || rc=$?
	pid=""
	# that fio is gone: its pid must not be killed again (it may be reused)
	grep -v '^pid ' "$state" >"$state.tmp"
	mv "$state.tmp" "$state"
	st=ok
	if [ "$fam" = iouring ] && [ "$sec" = fsdax ] && [ "$expect" = refuse ]; then
		if [ "$rc" -ne 0 ] && grep -qi "not supported" "$raw.err" "$raw.json" 2>/dev/null; then
			st=expected-refusal
		elif [ "$rc" -eq 0 ]; then
			st="error:io_uring registered FS-DAX buffers long-term, expected EOPNOTSUPP"
		else
			st="error:fio exit $rc, not the expected EOPNOTSUPP: $(tail -1 "$raw.err")"
		fi
	elif [ "$rc" -ne 0 ]; then
		st="error:fio exit $rc: $(grep -v '^$' "$raw.err" | tail -1)"
	elif [ "$sec" = thp ] && [ "${notes#thp_kb=0 }" != "$notes" ]; then
		st="skip:buffer not THP-backed (AnonHugePages 0 kB during the run)"
	elif [ "$sec" = anon ] && [ "${notes#thp_kb=0 }" = "$notes" ]; then
		st="error:anon buffer backed by THP ($notes)"
	elif [ "$fam" = numa ]; then
		# the buffer must be where it was bound
		case " $notes " in *" n$PINLAB_FIO_MEMNODE=0 "*)
			st="error:buffer not on node $PINLAB_FIO_MEMNODE (numa_maps)" ;;
		esac
	fi
	[ "${st#error}" != "$st" ] && failed=$((failed + 1))
	printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$rep" "$st" "$(basename "$raw").json" "$notes" >>"$out/runs.tsv"
	echo "fio-run: [$total] $name rep $rep: $st ($notes)"
}
skip_run() { # skip_run NAME REASON
	total=$((total + 1))
	printf '%s\t1\tskip:%s\t-\t-\n' "$1" "$2" >>"$out/runs.tsv"
	echo "fio-run: [$total] $1: SKIP $2"
}

for fam in $(echo "$families" | tr , ' '); do
	for bs in $(echo "$bss" | tr , ' '); do
		for rw in $(echo "$rws" | tr , ' '); do
			if [ "$fam" = numa ]; then
				for eng in odirect iouring; do
					for where in local remote; do
						name="fio.numa/$eng/bs:$bs/rw:$rw/node:$where"
						mem=0
						[ "$where" = remote ] && mem=1
						if [ "$nodes" -lt 2 ]; then
							skip_run "$name" "one NUMA node: no remote memory"
							continue
						fi
						[ -n "$thp_was" ] && echo never >"$thp"
						for rep in $(seq "$reps"); do
							PINLAB_FIO_CPUNODE=0 PINLAB_FIO_MEMNODE=$mem
							export PINLAB_FIO_CPUNODE PINLAB_FIO_MEMNODE
							one_run "$name" numa "$eng" "$bs" "$rw" "$rep"
						done
					done
				done
				continue
			fi
			for buf in $(echo "$buffers" | tr , ' '); do
				name="fio.$fam/$buf/bs:$bs/rw:$rw"
				if [ "$buf" = fsdax ] && [ -z "$fsdax" ]; then
					skip_run "$name" "no FS-DAX mount (--fsdax-dir)"
					continue
				fi
				if { [ "$buf" = hugetlb ] || [ "$buf" = shmhuge ]; } && [ -z "$hugetlbfs" ]; then
					skip_run "$name" "no hugetlbfs (mount failed)"
					continue
				fi
				if [ -n "$thp_was" ]; then
					if [ "$buf" = thp ]; then echo always >"$thp"; else echo never >"$thp"; fi
				elif [ "$buf" = thp ]; then
					skip_run "$name" "no THP on this kernel"
					continue
				fi
				for rep in $(seq "$reps"); do
					one_run "$name" "$fam" "$buf" "$bs" "$rw" "$rep"
					# a refusal repeats identically: once is enough
					tail -1 "$out/runs.tsv" | grep -q "expected-refusal" && break
				done
			done
		done
	done
done
echo "fio-run: $total runs, $failed failed -> $out/runs.tsv"
[ "$failed" -eq 0 ]
