#!/usr/bin/env bash
# fio jobs through the pin paths on this machine's own kernel -> results/RUN-ID/
# Usage: scripts/lab fio [--id RUN-ID] [--quick] [--perf stat] [--allow-dirty]
#                        [workloads/fio/run.sh options: --families --buffers --bs --rw
#                         --runtime --reps --size --fsdax-dir]
# The jobs come from lab/matrices/fio-host.toml; options given here follow
# them and win.
#
# The O_DIRECT target is a file on /var/tmp's filesystem (created and
# removed by the runner).  Writes fio.json (Google Benchmark JSON: IOPS,
# MiB/s, clat p50/p99, sys CPU per job and repetition; compare, report and
# dashboard read it), fio-summary.md, runs.tsv, env.txt, fio-raw.tar.xz
# (every run's fio --output-format=json+ and stderr) and manifest.txt.
# --perf stat wraps every fio run in perf stat with the events this machine
# counts (hardware where there is a PMU, else software).  --quick: one
# block size, reads only, 1 s, 2 repetitions.  Inside the lab VM the same
# runner runs from the guest job (a matrix's FIO line).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

id="" pass=() perf="" quick=() allow_dirty=0 args="$*"
while [ $# -gt 0 ]; do
	case "$1" in
	--id) id="${2:?--id needs a value}"; shift 2 ;;
	--allow-dirty) allow_dirty=1; shift ;;
	--quick) quick=(--quick); shift ;;
	--perf)
		case "${2:-}" in stat) perf=stat ;; *) usage_die "fio: --perf stat (profiles: scripts/lab perf record)" ;; esac
		pass+=(--perf-stat); shift 2 ;;
	--families | --buffers | --bs | --rw | --runtime | --reps | --size | --fsdax-dir)
		pass+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
	*) usage_die "fio: unknown argument '$1' (see scripts/lab help)" ;;
	esac
done
[ "$(id -u)" -eq 0 ] || die "fio: needs root (THP mode, hugetlb pool and mount)"
command -v fio >/dev/null || die "fio missing (scripts/deps.sh lab)"
[ -z "$perf" ] || command -v perf >/dev/null || die "perf missing (scripts/deps.sh lab)"
[ -n "$id" ] || id="$(date -u +%Y%m%d-%H%M%S)-fio-$(hostname -s)"
out="$(new_run_dir fio "$id" "$allow_dirty")"
work="$(mktemp -d /var/tmp/pinlab-fio-run.XXXXXX)"
trap 'rm -rf "$work"' EXIT
{
	host_manifest "$id" "scripts/lab fio $args" "$([ "$allow_dirty" = 1 ] && echo 1)"
	echo "fio: $(fio --version)"
} >"$out/manifest.txt"
mapfile -t plan < <(bash "$top/scripts/lab" matrix fio-host fio "${quick[@]}")
pass=("${plan[@]}" "${pass[@]}")
say "fio $id: workloads/fio/run.sh ${pass[*]}"
rc=0
"$top/workloads/fio/run.sh" --out "$work" --dir /var/tmp "${pass[@]}" || rc=$?
[ -f "$work/runs.tsv" ] || die "fio: the runner wrote no runs.tsv (exit $rc)"
cp "$work/runs.tsv" "$work/env.txt" "$out/"
tar -C "$work" -cJf "$out/fio-raw.tar.xz" raw
bash "$top/scripts/lab" fio-results "$work" "$out/fio.json" --label "host-$(uname -r)" \
	--summary "$out/fio-summary.md" || rc=1
echo "runner exit: $rc" >>"$out/manifest.txt"
bash "$top/scripts/lab" index --host "$out" fio.json
[ "$rc" -eq 0 ] || die "fio $id: failures (results/$id/runs.tsv)"
say "fio $id: done -> results/$id"
