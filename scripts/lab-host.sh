#!/usr/bin/env bash
# pinbench's standard matrix on this machine's own kernel -> results/RUN-ID/
# Usage: scripts/lab host [--reps N] [--min-time S] [--quick] [--id RUN-ID]
set -euo pipefail

top="$(cd "$(dirname "$0")/.." && pwd)"
reps=9 min_time=0.2 quick=0 id=""
while [ $# -gt 0 ]; do
	case "$1" in
	--reps) reps="${2:?--reps needs a value}"; shift 2 ;;
	--min-time) min_time="${2:?--min-time needs a value}"; shift 2 ;;
	--quick) quick=1; shift ;;
	--id) id="${2:?--id needs a value}"; shift 2 ;;
	*) echo "lab host: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "lab host: --reps must be a positive integer" >&2; exit 2; }

cd "$top"
make -s all
[ -n "$id" ] || id="$(date -u +%Y%m%d-%H%M%S)-host-$(hostname -s)"
out="results/$id"
if [ -e "$out" ]; then
	echo "lab host: $out exists; pick another --id" >&2
	exit 2
fi
mkdir -p "$out"
dir="$(mktemp -d /var/tmp/pinlab-host.XXXXXX)"
trap 'rm -rf "$dir"' EXIT

common=(--dir="$dir" --benchmark_repetitions="$reps" --benchmark_min_time="$min_time"
	--label="host-$(uname -r)")
backings=anon,thp,hugetlb_2m,shmem,memfd,pagecache
if [ "$quick" -eq 1 ]; then
	backings=anon,thp,hugetlb_2m
fi

# 1. every stock-kernel path x backing x pages per call
run1=(bench/pinbench "--probe=iouring_register,process_vm,procmem,odirect"
	--backing="$backings" --size=16M "--ppc=1,512,all" "${common[@]}"
	--benchmark_out="$out/pinbench.json" --benchmark_out_format=json)
# 2. VMA count: the buffer split into 1..1024 VMAs, long-term and remote pins
run2=(bench/pinbench "--probe=iouring_register,process_vm"
	--backing=anon --size=16M --ppc=all "--vmas=1,64,1024" "${common[@]}"
	--benchmark_out="$out/pinbench-vmas.json" --benchmark_out_format=json)

{
	echo "# made by: scripts/lab host $*"
	printf '%q ' "${run1[@]}"; echo
	printf '%q ' "${run2[@]}"; echo
} >"$out/commands.txt"
{
	echo "date: $(date -u +%FT%TZ)"
	echo "host: $(hostname -s), $(nproc) CPUs, $(awk '/MemTotal/{print $2" kB"}' /proc/meminfo)"
	echo "cpu: $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
	echo "kernel: $(uname -r)"
	echo "pinlab: $(git describe --always --dirty 2>/dev/null || echo unknown)"
	echo "mode: native (host kernel), wall-clock"
} >"$out/manifest.txt"

echo "lab host: [1/2] paths x backings x pages per call -> $out/pinbench.json"
"${run1[@]}" 2>&1 | tee "$out/console.txt"
echo "lab host: [2/2] VMA count -> $out/pinbench-vmas.json"
"${run2[@]}" 2>&1 | tee -a "$out/console.txt"
/usr/bin/python3 scripts/gbjson.py check "$out/pinbench.json"
/usr/bin/python3 scripts/gbjson.py check "$out/pinbench-vmas.json"
{
	/usr/bin/python3 scripts/gbjson.py table "$out/pinbench.json"
	echo
	/usr/bin/python3 scripts/gbjson.py table "$out/pinbench-vmas.json"
} >"$out/table.md"
echo "lab host: done: $out"
