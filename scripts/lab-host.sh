#!/usr/bin/env bash
# pinbench's host matrix (lab/matrices/host.toml) on this machine's own kernel -> results/RUN-ID/
# Usage: scripts/lab host [--reps N] [--min-time S] [--quick] [--id RUN-ID] [--allow-dirty]
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

reps="" min_time="" quick=() id="" allow_dirty=0 args="$*"
while [ $# -gt 0 ]; do
	case "$1" in
	--reps) reps="${2:?--reps needs a value}"; shift 2 ;;
	--min-time) min_time="${2:?--min-time needs a value}"; shift 2 ;;
	--quick) quick=(--quick); shift ;;
	--id) id="${2:?--id needs a value}"; shift 2 ;;
	--allow-dirty) allow_dirty=1; shift ;;
	*) usage_die "host: unknown argument '$1'" ;;
	esac
done
[ -z "$reps" ] || [[ "$reps" =~ ^[1-9][0-9]*$ ]] || usage_die "host: --reps must be a positive integer"
[ -z "$min_time" ] || [[ "$min_time" =~ ^[0-9]*\.?[0-9]+$ ]] || usage_die "host: --min-time must be seconds"

cd "$top"
make -s all
[ -n "$id" ] || id="$(date -u +%Y%m%d-%H%M%S)-host-$(hostname -s)"
out="$(new_run_dir host "$id" "$allow_dirty")"
dir="$(mktemp -d /var/tmp/pinlab-host.XXXXXX)"
trap 'rm -rf "$dir"' EXIT

over=()
[ -z "$reps" ] || over+=(--benchmark_repetitions="$reps")
[ -z "$min_time" ] || over+=(--benchmark_min_time="$min_time")
sets=(pinbench pinbench-vmas)
{
	host_manifest "$id" "scripts/lab host $args" "$([ "$allow_dirty" = 1 ] && echo 1)"
	echo "matrix: host"
} >"$out/manifest.txt"
: >"$out/commands.txt"
i=0
for s in "${sets[@]}"; do
	i=$((i + 1))
	mapfile -t m < <(bash "$top/scripts/lab" matrix host "$s" "${quick[@]}")
	cmd=(bench/pinbench "${m[@]}" "${over[@]}" --dir="$dir" --label="host-$(uname -r)"
		--benchmark_out="$out/$s.json" --benchmark_out_format=json)
	printf '%q ' "${cmd[@]}" >>"$out/commands.txt"
	echo >>"$out/commands.txt"
	say "host [$i/${#sets[@]}] $s -> $out/$s.json"
	"${cmd[@]}" 2>&1 | tee -a "$out/console.txt"
done
bash "$top/scripts/lab" index --host "$out" "${sets[@]/%/.json}"
for s in "${sets[@]}"; do
	bash "$top/scripts/lab" check "$out/$s.json"
	bash "$top/scripts/lab" table "$out/$s.json" >>"$out/table.md"
	echo >>"$out/table.md"
done
bash "$top/scripts/lab" report "$out" --baseline none --mode wallclock
say "host: done -> $out/report.md"
