#!/usr/bin/env bash
# perf around a benchmark or fio job: counters, or a profile with a flame graph.
# Usage: scripts/lab perf stat [--reps N] [--out DIR] -- COMMAND...
#        scripts/lab perf record [--freq HZ] [--out DIR] [--title T] -- COMMAND...
#
# stat: perf stat -r N with the events this machine counts (cycles and
# instructions where a PMU counts them, else task-clock, context switches,
# migrations, page faults: detected, never assumed) -> perf-stat.csv and
# perf-stat.md (value and the spread of the repetitions).
# record: perf record -g, sampling cycles where the PMU has them, else
# cpu-clock -> perf.folded (stacks), flame.svg, perf-pinpath.md (the pin
# paths' kernel functions, inclusive and self share) and perf-report.txt
# (perf report --stdio, to paste into a mail).  perf.data is left out of
# DIR (binary, large); the folded stacks keep every sample's stack.
# Inside the lab guest, run the guest's perf (Debian's linux-perf is 6.1,
# the guest kernel's version).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=workloads/lib.sh
. "$top/workloads/lib.sh"

mode="${1:-}"
[ $# -gt 0 ] && shift
reps=5 freq=999 out="" title=""
while [ $# -gt 0 ]; do
	case "$1" in
	--reps) reps="${2:?--reps needs a number}"; shift 2 ;;
	--freq) freq="${2:?--freq needs Hz}"; shift 2 ;;
	--out) out="${2:?--out needs a directory}"; shift 2 ;;
	--title) title="${2:?--title needs text}"; shift 2 ;;
	--) shift; break ;;
	*) usage_die "perf: unknown argument '$1' (COMMAND goes after --)" ;;
	esac
done
case "$mode" in stat | record) ;; *) usage_die "usage: scripts/lab perf stat|record [options] -- COMMAND..." ;; esac
[ $# -gt 0 ] || usage_die "perf $mode: no COMMAND (after --)"
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || usage_die "perf: --reps must be a positive number"
[[ "$freq" =~ ^[1-9][0-9]*$ ]] || usage_die "perf: --freq must be Hz"
command -v perf >/dev/null || die "perf missing (scripts/deps.sh lab: linux-perf)"
[ -n "$out" ] || out="$top/results/$(date -u +%Y%m%d-%H%M%S)-perf-$mode"
mkdir -p "$out"
events="$(pinlab_perf_events perf)"
say "perf $mode: events this machine counts: $events"
printf '%q ' "$@" >"$out/perf-command.txt"
echo >>"$out/perf-command.txt"
if [ "$mode" = stat ]; then
	perf stat -r "$reps" -x, -e "$events" -o "$out/perf-stat.csv" -- "$@"
	bash "$top/scripts/lab" profile stat "$out/perf-stat.csv" >"$out/perf-stat.md"
	cat "$out/perf-stat.md"
	say "perf stat: $out/perf-stat.csv, perf-stat.md ($reps repetitions)"
	exit 0
fi
ev=cpu-clock
[[ ",$events," == *,cycles,* ]] && ev=cycles
data="$(mktemp /var/tmp/pinlab-perf.XXXXXX.data)"
trap 'rm -f "$data"' EXIT
say "perf record: -g -e $ev -F $freq"
perf record -q -g -e "$ev" -F "$freq" -o "$data" -- "$@"
perf script -i "$data" 2>/dev/null >"$out/perf.script"
bash "$top/scripts/lab" profile fold "$out/perf.script" >"$out/perf.folded"
rm -f "$out/perf.script"
bash "$top/scripts/lab" profile flame "$out/perf.folded" "$out/flame.svg" \
	--title "${title:-$*}"
bash "$top/scripts/lab" profile pinpath "$out/perf.folded" >"$out/perf-pinpath.md"
pinlab_perf_report "$data" "$out/perf-report.txt"
echo "event: $ev at $freq Hz; $(awk '{s+=$NF} END{print s}' "$out/perf.folded") samples" >>"$out/perf-command.txt"
head -20 "$out/perf-pinpath.md"
say "perf record: $out/flame.svg, perf-pinpath.md, perf-report.txt, perf.folded"
