#!/usr/bin/env bash
# Fault injection, TAP: pinbench, the fio runner and `scripts/lab run` are
# interrupted with SIGINT, SIGTERM and SIGKILL at several points of their
# work, and afterwards the machine must be as it was: hugetlb pools, THP
# mode, mounts, temporary files, pins, and no process of theirs left.
#
# The points are delays from the start, chosen to land in setup, while
# measuring, and at a boundary where one case tears down and the next sets
# up; which phase a delay hits is printed with each case.  A SIGKILL cannot
# be caught: pinbench's pool guardian, the fio runner's watcher and the lab
# run's guardian (and QEMU's parent-death signal) are what put things back.
set -euo pipefail

top="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d /tmp/pinlab-faults.XXXXXX)"
dir="$(mktemp -d /var/tmp/pinlab-faults.XXXXXX)"
inflight=""
# the case in flight (its own process group: set -m below) ends with the
# script, through its own SIGTERM handling, so a test that is stopped
# leaves no lab run or VM behind
cleanup() {
	if [ -n "$inflight" ] && kill -0 "$inflight" 2>/dev/null; then
		kill -TERM -- "-$inflight" 2>/dev/null || true
		wait "$inflight" 2>/dev/null || true
	fi
	rm -rf "$tmp" "$dir"
}
trap cleanup EXIT
# a signal ends the script through its EXIT trap (bash runs none on an untrapped one)
trap 'exit 143' TERM
trap 'exit 130' INT
# shellcheck source=scripts/tests/tap.sh
. "$top/scripts/tests/tap.sh"
echo "TAP version 13"

if [ "$(id -u)" -ne 0 ]; then
	if [ "${CI:-}" = true ]; then notok "fault injection needs root (pools, THP mode, mounts)"; else
		echo "1..0 # SKIP fault injection needs root (pools, THP mode, mounts)"
		exit 0
	fi
	echo "1..$n"
	exit 1
fi

pins() {
	echo 1 >/proc/sys/vm/stat_refresh
	awk '/^nr_foll_pin_acquired/{a=$2} /^nr_foll_pin_released/{r=$2} END{print a-r}' /proc/vmstat
}
# what must be back: pools, THP mode, mounts, files, pins, processes
snapshot() {
	echo "pools: $(cat /sys/kernel/mm/hugepages/hugepages-*/nr_hugepages | tr '\n' ' ')"
	echo "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
	echo "mounts: $(grep -c hugetlbfs /proc/mounts || true) hugetlbfs, $(grep -c " $dir" /proc/mounts || true) under the test dir"
	echo "files: $(find "$dir" -mindepth 1 | wc -l) in the test dir"
	echo "pins: $(pins)"
	echo "processes: $(pgrep -x pinbench | wc -l) pinbench, $(pgrep -x pinlab-guard | wc -l) guardians, $(pgrep -x fio | wc -l) fio, $(pgrep -f 'qemu-system-x86_64.*pinlab-vm\.fault' | wc -l) lab VMs"
}
settle() { # wait (up to 10 s) for the state to be back, then compare
	local want="$1"
	for _ in $(seq 20); do
		[ "$(snapshot)" = "$want" ] && return 0
		sleep 0.5
	done
	return 1
}
# a pool guardian of a pinbench that just ended (another test's) goes in a
# moment: the state to come back to has none of our processes
for _ in $(seq 20); do
	pgrep -x pinlab-guard >/dev/null || pgrep -x pinbench >/dev/null || break
	sleep 0.5
done
before="$(snapshot)"
echo "# before: $(echo "$before" | tr '\n' ';')"

# background jobs of a script ignore SIGINT (and a shell cannot trap a
# signal ignored at its start): job control gives each its own process
# group with SIGINT as a terminal's Ctrl-C would find it
set -m
# inject WHAT SIG DELAY COMMAND...: start it, signal it after DELAY s, check
inject() {
	local what="$1" sig="$2" delay="$3" pid rc=0
	shift 3
	"$@" >"$tmp/out" 2>&1 &
	pid=$!
	inflight=$pid
	sleep "$delay"
	local phase="finished before the signal"
	if kill -0 "$pid" 2>/dev/null; then
		phase="$(tail -c 300 "$tmp/out" | tr -d '\r' | tail -1 | cut -c1-70)"
		kill -"$sig" "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || rc=$?
	inflight=""
	if settle "$before"; then
		ok "$what: SIG$sig after ${delay} s (at: ${phase:-start}), exit $rc: everything back"
	else
		# what changed, on the failing line itself (a summary that keeps
		# only failing lines still says what was left)
		local changed
		changed="$(diff <(echo "$before") <(snapshot) | sed -n 's/^> //p' | paste -sd ';' - || true)"
		notok "$what: SIG$sig after ${delay} s (at: ${phase:-start}), exit $rc: state left changed (now: $changed)"
		diff <(echo "$before") <(snapshot) | sed "s/^/# /" || true
		find "$dir" -mindepth 1 | sed "s/^/# left: /" || true
		# put the machine back for the next cases
		pkill -9 -x pinbench || true
		pkill -9 -x pinlab-guard || true
		pkill -9 -x fio || true
		sleep 1
	fi
}

# pinbench: hugetlb pools grown for 64 MiB, files in --dir, pins in flight
# shellcheck disable=SC2054 # the commas are pinbench's lists
pb=("$top/bench/pinbench" --probe=iouring_register,process_vm --backing=hugetlb_2m,pagecache,anon
	--size=64M --ppc=1,all --dir="$dir" --benchmark_min_time=0.3)
for sig in INT TERM KILL; do
	for delay in 0.05 0.6 1.5; do
		inject "pinbench" "$sig" "$delay" "${pb[@]}"
	done
done

# the fio runner: THP mode, a hugetlbfs mount, the pool, its target file
if command -v fio >/dev/null; then
	# shellcheck disable=SC2054 # the commas are the runner's lists
	fr=(sh "$top/workloads/fio/run.sh" --out "$tmp/fio" --dir "$dir" --families odirect
		--buffers thp,hugetlb --bs 64k --rw randread --runtime 2 --reps 2 --size 32M)
	for sig in INT TERM KILL; do
		for delay in 0.3 2.5; do
			rm -rf "$tmp/fio"
			inject "fio runner" "$sig" "$delay" "${fr[@]}"
		done
	done
elif [ "${CI:-}" = true ]; then
	notok "no fio (scripts/deps.sh all installs it)"
else
	skip "fio runner under SIGINT/SIGTERM/SIGKILL: no fio here (scripts/deps.sh all)"
fi

# the lab run: during its setup (plan, build from the cache, initramfs) and
# while its guest runs; its VM, its temporary directory and nothing else
# may remain
if command -v qemu-system-x86_64 >/dev/null; then
	for sig in INT TERM KILL; do
		for delay in 0.5 40; do
			id="fault-${sig,,}-$delay"
			inject "lab run" "$sig" "$delay" env PINLAB_RESULTS="$tmp/res" bash "$top/scripts/lab" run \
				--variants baseline --matrix smoke --accel tcg --no-report --id "$id"
			# the guardian removes it when the run dies of SIGKILL: give it
			# (as settle gives the rest) up to 10 s
			for _ in $(seq 20); do
				left="$(find /tmp -maxdepth 1 -name "pinlab-vm.$id.*" | wc -l)"
				[ "$left" -gt 0 ] || break
				sleep 0.5
			done
			if [ "$left" -eq 0 ]; then ok "lab run: SIG$sig after $delay s: no temporary directory left"
			else notok "lab run: SIG$sig after $delay s: $left temporary directories left"; rm -rf /tmp/pinlab-vm."$id".*; fi
		done
	done
elif [ "${CI:-}" = true ]; then
	notok "no QEMU (scripts/deps.sh lab installs it)"
else
	skip "lab run under SIGINT/SIGTERM/SIGKILL: no qemu-system-x86_64 here (scripts/deps.sh lab)"
fi

tap_end faults
