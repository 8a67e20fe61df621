#!/usr/bin/env bash
# The workloads on this machine, TAP: every fio job file parses (and fails
# to without the runner's variables), a short real run of each job family
# through workloads/fio/run.sh, the results converted for compare, THP and
# hugetlb buffers verified during the run, machine state put back, bad input
# refused; perf stat with the events this machine has, perf record turned
# into a flame graph and the pin-path table.  The FS-DAX refusal needs
# FS-DAX: scripts/tests/lab.sh checks it in the lab guest.
set -euo pipefail

top="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d /var/tmp/pinlab-wl.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
# a signal ends the script through its EXIT trap (bash runs none on an untrapped one)
trap 'exit 143' TERM
trap 'exit 130' INT
py=/usr/bin/python3
# shellcheck source=scripts/tests/tap.sh
. "$top/scripts/tests/tap.sh"
echo "TAP version 13"
if [ "$(id -u)" -ne 0 ]; then
	# CI runs as root: there, not being root is a failure, not a skip
	if [ "${CI:-}" = true ]; then notok "workloads need root (THP mode, hugetlb pool, hugetlbfs mount)"; else
		skip "workloads need root (THP mode, hugetlb pool, hugetlbfs mount)"
	fi
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit
fi
if ! command -v fio >/dev/null; then
	notok "no fio (scripts/deps.sh all installs it)"
	echo "1..$n"
	exit 1
fi

# every job file and section parses with the runner's variables set...
export PINLAB_FIO_FILE="$tmp/t" PINLAB_FIO_SIZE=16M PINLAB_FIO_BS=4k PINLAB_FIO_RW=randread \
	PINLAB_FIO_RUNTIME=1 PINLAB_FIO_HUGETLBFS="$tmp" PINLAB_FIO_FSDAX="$tmp" \
	PINLAB_FIO_CPUNODE=0 PINLAB_FIO_MEMNODE=0
for f in "$top"/workloads/fio/*.fio; do
	secs="$(grep -o '^\[[a-z0-9_-]*\]' "$f" | tr -d '[]' | grep -v '^global$' | tr '\n' ' ')"
	bad=""
	for s in $secs; do
		fio --parse-only --section="$s" "$f" >/dev/null 2>"$tmp/err" || bad="$bad $s"
	done
	if [ -z "$bad" ] && [ -n "$secs" ]; then ok "fio --parse-only $(basename "$f"): sections $secs"
	else notok "fio --parse-only $(basename "$f"): failed sections:$bad"; sed 's/^/# /' "$tmp/err"; fi
done
# ...and not without them (the parse check can fail)
if env -u PINLAB_FIO_SIZE -u PINLAB_FIO_BS fio --parse-only "$top/workloads/fio/odirect.fio" >/dev/null 2>&1; then
	notok "odirect.fio parsed without the runner's variables"
else ok "without the runner's variables, --parse-only fails"; fi
unset PINLAB_FIO_FILE PINLAB_FIO_SIZE PINLAB_FIO_BS PINLAB_FIO_RW PINLAB_FIO_RUNTIME \
	PINLAB_FIO_HUGETLBFS PINLAB_FIO_FSDAX PINLAB_FIO_CPUNODE PINLAB_FIO_MEMNODE

# a short real run of every family on this machine, with perf stat
thp=/sys/kernel/mm/transparent_hugepage/enabled
thp0="$(cat "$thp")" hp0="$(cat /proc/sys/vm/nr_hugepages)"
rc=0
"$top/workloads/fio/run.sh" --out "$tmp/out" --dir "$tmp" --families odirect,iouring,numa \
	--buffers anon,thp,hugetlb,shmhuge,fsdax --bs 64k --rw randread --runtime 1 --reps 2 --size 32M \
	--perf-stat >"$tmp/run.log" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then ok "run.sh, all families, 64k reads: $(tail -1 "$tmp/run.log")"
else notok "run.sh exit $rc"; tail -5 "$tmp/run.log" | sed 's/^/# /'; fi
for fam in odirect iouring; do
	if grep -q "^fio.$fam/anon/.*	ok	" "$tmp/out/runs.tsv" &&
		grep -q "^fio.$fam/hugetlb/.*	ok	.*hugetlb_kb=[1-9]" "$tmp/out/runs.tsv"; then
		ok "$fam: anon and hugetlb buffers measured, the hugetlb buffer seen in smaps"
	else notok "$fam"; grep "^fio.$fam" "$tmp/out/runs.tsv" | sed 's/^/# /'; fi
done
if grep -q "^fio.odirect/thp/.*	ok	.*thp_kb=[1-9]" "$tmp/out/runs.tsv"; then ok "THP buffer: AnonHugePages seen during the run"
elif grep -q "^fio.odirect/thp/.*skip:" "$tmp/out/runs.tsv"; then skip "no THP for the buffer on this kernel"
else notok "THP buffer"; grep "^fio.odirect/thp" "$tmp/out/runs.tsv" | sed 's/^/# /'; fi
nodes="$(find /sys/devices/system/node -maxdepth 1 -name 'node[0-9]*' | wc -l)"
if [ "$nodes" -lt 2 ]; then
	if grep -q "^fio.numa/.*skip:one NUMA node" "$tmp/out/runs.tsv"; then ok "numa family: skipped with its reason on $nodes node"
	else notok "numa family on one node"; fi
elif grep -q "^fio.numa/odirect/.*node:remote.*	ok	.*n1=[1-9]" "$tmp/out/runs.tsv"; then ok "numa family: remote buffer on node 1"
else notok "numa family"; fi
if grep -q "^fio.odirect/fsdax/.*skip:no FS-DAX" "$tmp/out/runs.tsv"; then ok "fsdax without an FS-DAX mount: skipped with its reason"
else notok "fsdax skip"; fi
if [ "$(cat "$thp")" = "$thp0" ] && [ "$(cat /proc/sys/vm/nr_hugepages)" = "$hp0" ] &&
	! grep -q "$tmp" /proc/mounts && [ -z "$(find "$tmp" -maxdepth 1 -name 'pinlab-fio.*')" ]; then
	ok "THP mode, hugetlb pool, hugetlbfs mount and target file put back"
else notok "machine state left changed"; fi
if bash "$top/scripts/lab" fio-results "$tmp/out" "$tmp/fio.json" --label t --summary "$tmp/s.md" >"$tmp/conv" &&
	bash "$top/scripts/lab" check "$tmp/fio.json" --require-run '^fio.iouring/anon/' >"$tmp/chk"; then
	ok "converted for compare: $(tail -1 "$tmp/chk")"
else notok "fio-results/check"; cat "$tmp/conv" "$tmp/chk" 2>/dev/null | sed 's/^/# /'; fi
ev="$("$py" -c 'import json,sys; b=[x for x in json.load(open(sys.argv[1]))["benchmarks"] if "iops" in x][0]; print(",".join(sorted(k for k in b if k.startswith("perf_"))))' "$tmp/fio.json")"
if [[ "$ev" == *perf_task_clock* ]] && [[ "$ev" == *perf_page_faults* ]]; then ok "perf stat around every fio run: $ev"
else notok "perf stat counters in the fio JSON: '$ev'"; fi
# compare on IOPS: the same runs with every IOPS halved must read as a -50 %
# change of a higher-is-better metric (not a comparison of a file with itself)
"$py" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for b in d["benchmarks"]:
    if "iops" in b: b["iops"] /= 2
json.dump(d, open(sys.argv[2], "w"))' "$tmp/fio.json" "$tmp/fio-half.json"
if bash "$top/scripts/lab" compare "$tmp/fio.json" "$tmp/fio-half.json" --metric iops --format json >"$tmp/cmp" &&
	"$py" -c 'import json,sys; r=json.load(open(sys.argv[1]))
sys.exit(not (r["lower_is_better"] is False and r["rows"] and all(abs(x["change_pct"] + 50) < 1e-6 for x in r["rows"])))' "$tmp/cmp"; then
	ok "compare reads fio results: IOPS halved is -50 % of a higher-is-better metric"
else notok "compare on fio results"; head -c 2000 "$tmp/cmp" | sed 's/^/# /'; fi

# bad input: one line, exit 2
bad() { # bad DESCRIPTION PATTERN ARGS...
	local d="$1" pat="$2" rc=0
	shift 2
	"$top/workloads/fio/run.sh" "$@" >"$tmp/bo" 2>"$tmp/be" || rc=$?
	if [ "$rc" -eq 2 ] && grep -q "$pat" "$tmp/be"; then ok "bad input: $d -> exit 2: $(head -1 "$tmp/be")"
	else notok "bad input: $d -> exit $rc"; sed 's/^/# /' "$tmp/be"; fi
}
bad "unknown family" "unknown family 'nope'" --out "$tmp/b" --dir "$tmp" --families nope
bad "unknown buffer" "unknown buffer 'x'" --out "$tmp/b" --dir "$tmp" --buffers x
bad "missing target directory" "no such directory" --out "$tmp/b" --dir "$tmp/none"
bad "FS-DAX directory that is not DAX" "not mounted with -o dax" --out "$tmp/b" --dir "$tmp" --fsdax-dir "$tmp"
bad "runtime not a number" "whole seconds" --out "$tmp/b" --dir "$tmp" --runtime 1.5

# perf stat with repetitions, perf record into a flame graph and the table
make -s -C "$top" all
if bash "$top/scripts/lab-perf.sh" stat --reps 3 --out "$tmp/ps" -- \
	"$top/bench/pinbench" --probe=iouring_register --backing=anon --size=1M --ppc=all \
	--benchmark_min_time=0.05 >"$tmp/ps.log" 2>&1 && grep -q "task-clock" "$tmp/ps/perf-stat.md"; then
	ok "perf stat -r 3: $(grep -c '^| [a-z]' "$tmp/ps/perf-stat.md") events ($(grep -o 'events this machine counts: .*' "$tmp/ps.log"))"
else notok "perf stat"; tail -5 "$tmp/ps.log" | sed 's/^/# /'; fi
if bash "$top/scripts/lab-perf.sh" record --out "$tmp/pr" -- \
	"$top/bench/pinbench" --probe=iouring_register --backing=anon --size=16M --ppc=all \
	--benchmark_min_time=0.3 >"$tmp/pr.log" 2>&1 &&
	grep -q "<rect" "$tmp/pr/flame.svg" && grep -q "^| io_pin_pages\|^| io_sqe_buffer_register" "$tmp/pr/perf-pinpath.md"; then
	ok "perf record: flame graph ($(grep -c '<rect' "$tmp/pr/flame.svg") frames), io_uring's pin in the table"
else notok "perf record"; tail -5 "$tmp/pr.log" | sed 's/^/# /'; head "$tmp/pr/perf-pinpath.md" 2>/dev/null | sed 's/^/# /'; fi

tap_end workloads
