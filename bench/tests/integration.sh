#!/usr/bin/env bash
# Integration and error-path tests of bench/pinbench on this machine, TAP.
# Every available probe x backing runs at a small size and must either
# measure or skip with a reason; pins, hugetlb pools and files must be back
# where they were; bad input must give one line and a non-zero exit.
set -euo pipefail

top="$(cd "$(dirname "$0")/../.." && pwd)"
pb="${PINBENCH:-$top/bench/pinbench}"
gbjson=(bash "$top/scripts/lab")
tmp="$(mktemp -d /tmp/pinlab-it.XXXXXX)"
dir="$(mktemp -d /var/tmp/pinlab-it.XXXXXX)"
trap 'rm -rf "$tmp" "$dir"' EXIT
# a signal ends the script through its EXIT trap (bash runs none on an untrapped one)
trap 'exit 143' TERM
trap 'exit 130' INT
# shellcheck source=scripts/tests/tap.sh
. "$top/scripts/tests/tap.sh"

check() { # check DESCRIPTION COMMAND...
	local d="$1"
	shift
	if "$@" >"$tmp/out" 2>&1; then ok "$d"; else
		notok "$d"
		sed 's/^/# /' "$tmp/out" | tail -20
	fi
}
pins() {
	[ "$(id -u)" -eq 0 ] && echo 1 >/proc/sys/vm/stat_refresh
	awk '/^nr_foll_pin_acquired/{a=$2} /^nr_foll_pin_released/{r=$2} END{print a-r}' /proc/vmstat
}
pools() { cat /sys/kernel/mm/hugepages/hugepages-*/nr_hugepages | tr '\n' ' '; }

echo "TAP version 13"
[ -x "$pb" ] || { echo "Bail out! $pb not built (make)"; exit 1; }

# --list names every probe x backing with its verdict
"$pb" --list >"$tmp/list"
np="$("$pb" --list | awk '/^probes/{p=1;next} /^$/{p=0} p' | wc -l)"
nb="$("$pb" --list | awk '/^backings/{p=1;next} /^$/{p=0} p' | wc -l)"
nl="$(grep -cE '(can run|skip: |refused: )' "$tmp/list")"
if [ "$nl" -eq "$((np * nb))" ] && [ "$np" -ge 11 ] && [ "$nb" -ge 9 ]; then
	ok "--list: $np probes x $nb backings, each with a verdict"
else notok "--list: $nl verdicts for $np x $nb"; fi

# every probe x backing, small; both write modes, 1 and 2 VMAs
pins0="$(pins)" pools0="$(pools)"
check "small matrix runs (exit 0)" "$pb" --size=4M --ppc=1,512,all --vmas=1,2 \
	--write=0,1 --dir="$dir" --backing=anon,thp,hugetlb_2m,shmem,memfd,pagecache,fsdax,devdax \
	--benchmark_min_time=0.005 --benchmark_out="$tmp/small.json" \
	--benchmark_out_format=json
check "small matrix: each case measured or skipped with a reason" \
	"${gbjson[@]}" check "$tmp/small.json" \
	--require-run '^iouring_register/anon/' --require-run '^iouring_register/thp/' \
	--require-run '^iouring_register/hugetlb_2m/' --require-run '^process_vm/shmem/' \
	--require-run '^procmem/memfd/' --require-run '^odirect/pagecache/' \
	--require-run '/vmas:2/' --require-run '/write:0/'
if grep -q '"error_message": "SKIP: ' "$tmp/small.json" &&
	! grep -q '"error_message": "SKIP: "' "$tmp/small.json"; then
	ok "skips carry their reason into the JSON"
else notok "skips without a reason"; fi
pins1="$(pins)" pools1="$(pools)"
if [ "$pins0" = "$pins1" ]; then ok "pins balance over the run ($pins0 -> $pins1)"
else notok "pins outstanding: $pins0 -> $pins1"; fi
if [ "$pools0" = "$pools1" ]; then ok "hugetlb pools restored ($pools1)"
else notok "hugetlb pools changed: $pools0 -> $pools1"; fi
if [ -z "$(ls -A "$dir")" ]; then ok "no files left in --dir"
else notok "left in --dir: $(ls "$dir")"; fi

# figures are sane: huge pages pin far cheaper per page on the long-term path
a="$("${gbjson[@]}" get "$tmp/small.json" '^iouring_register/anon/.*ppc:512/vmas:1/write:1' ns_per_page)"
t="$("${gbjson[@]}" get "$tmp/small.json" '^iouring_register/thp/.*ppc:512/vmas:1/write:1' ns_per_page)"
h="$("${gbjson[@]}" get "$tmp/small.json" '^iouring_register/hugetlb_2m/.*ppc:512/vmas:1/write:1' ns_per_page)"
if awk -v a="$a" -v t="$t" -v h="$h" 'BEGIN{exit !(t < a/2 && h < a/2)}'; then
	ok "long-term pin ns/page: thp $t, hugetlb_2m $h < anon $a / 2"
else notok "long-term pin ns/page: thp $t, hugetlb_2m $h vs anon $a"; fi

# 1G hugetlb: runs, or skips because no 1G page could be had
check "hugetlb_1g runs or skips with a reason" "$pb" --backing=hugetlb_1g \
	--probe=iouring_register,process_vm --size=1G --ppc=all \
	--benchmark_min_time=0.005 --benchmark_out="$tmp/1g.json" --benchmark_out_format=json
check "hugetlb_1g JSON is clean" "${gbjson[@]}" check "$tmp/1g.json"
pools2="$(pools)"
if [ "$pools0" = "$pools2" ]; then ok "hugetlb pools restored after 1G"
else notok "hugetlb pools changed: $pools0 -> $pools2"; fi

# Debian's compare.py reads two runs
for x in a b; do
	"$pb" --probe=iouring_register --backing=anon,thp --ppc=512 --size=4M \
		--benchmark_repetitions=3 --benchmark_min_time=0.01 \
		--benchmark_out="$tmp/$x.json" --benchmark_out_format=json >/dev/null 2>&1
done
check "compare.py reads pinbench JSON" /usr/bin/python3 /usr/share/benchmark/compare.py \
	benchmarks "$tmp/a.json" "$tmp/b.json"
if grep -q 'iouring_register/thp' "$tmp/out"; then ok "compare.py lists the benchmarks"
else notok "compare.py output lacks the benchmarks"; fi

# the leak check can fail: a ring kept open keeps its pins
pins0="$(pins)"
set +e
PINBENCH_FAULT=leak "$pb" --probe=iouring_register --backing=anon --ppc=all \
	--size=4M --benchmark_min_time=0.005 >"$tmp/leak" 2>&1
rc=$?
set -e
if [ "$rc" -eq 1 ] && grep -q "pin leak: 1024 pins outstanding" "$tmp/leak"; then
	ok "a pin leak is an error (exit 1, 1024 pins named)"
else notok "pin leak not caught (exit $rc)"; sed 's/^/# /' "$tmp/leak" | tail -5; fi
# io_uring tears a ring down in a workqueue after its last fd closes
for _ in $(seq 50); do [ "$(pins)" = "$pins0" ] && break; sleep 0.1; done
if [ "$(pins)" = "$pins0" ]; then ok "the leaked pins went with the process"
else notok "pins still outstanding after the leak test"; fi

# bad input: one line, non-zero exit
bad() { # bad DESCRIPTION ARGS...
	local d="$1" rc lines
	shift
	set +e
	"$pb" "$@" >"$tmp/bad.out" 2>"$tmp/bad.err"
	rc=$?
	set -e
	lines="$(wc -l <"$tmp/bad.err")"
	if [ "$rc" -ne 0 ] && [ "$lines" -eq 1 ] && [ ! -s "$tmp/bad.out" ]; then
		ok "bad input: $d -> exit $rc, '$(cat "$tmp/bad.err")'"
	else notok "bad input: $d -> exit $rc, $lines lines"; sed 's/^/# /' "$tmp/bad.err"; fi
}
bad "size 0" --size=0
bad "size garbage" --size=12Q
bad "size not a multiple of THP's page" --backing=thp --size=3M
bad "size not a multiple of 4K" --backing=anon --size=6000
bad "unknown probe" --probe=nosuch
bad "unknown backing" --backing=nosuch
bad "unknown option" --frobnicate
bad "missing value" --dir
bad "missing devdax path" --backing=devdax --devdax=/dev/nonexistent
bad "missing --dir" --backing=pagecache --dir=/nonexistent
bad "fsdax dir that is not DAX" --backing=fsdax --fsdax-dir="$dir"
bad "node that does not exist" --node=1000
bad "ppc 0" --ppc=0
bad "filter matching nothing" --benchmark_filter=nothing_matches_this
bad "Google Benchmark flag misspelt" --benchmark_fliter=x

# not root: it runs what it can and says what needs root
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	set +e
	setpriv --reuid=65534 --regid=65534 --clear-groups "$pb" --probe=process_vm,gup_test.gup_fast \
		--backing=anon --ppc=512 --size=4M --dir=/tmp --benchmark_min_time=0.005 >"$tmp/nr" 2>&1
	rc=$?
	set -e
	if [ "$rc" -eq 0 ] && grep -q "not root: gup_test" "$tmp/nr" &&
		grep -q "process_vm/anon" "$tmp/nr"; then
		ok "not root: runs process_vm, says what needs root"
	else notok "not root: exit $rc"; sed 's/^/# /' "$tmp/nr" | tail -5; fi
elif [ "${CI:-}" = true ]; then
	notok "not root or no setpriv: cannot test the unprivileged run (CI runs as root with util-linux)"
else
	skip "not root or no setpriv: cannot test the unprivileged run"
fi

# --seed perturbs the layout: the cases run in a seed-chosen order (the same
# for the same seed), the context records the seed; --unit instructions
# names the counters insn_*; --size-for gives one backing its own size
i=0
for s in 1 2 1; do
	i=$((i + 1))
	"$pb" --probe=process_vm,procmem --backing=anon,memfd --size=1M --size-for=memfd:2M --ppc=all \
		--dir="$dir" --benchmark_min_time=0.005 --seed="$s" --unit=instructions \
		--benchmark_format=json >"$tmp/seed.$i.json" 2>/dev/null || true
done
if r="$(/usr/bin/python3 - "$tmp"/seed.1.json "$tmp"/seed.2.json "$tmp"/seed.3.json <<'PY'
import json, sys
d = [json.load(open(f)) for f in sys.argv[1:]]
order = [[b["name"] for b in x["benchmarks"] if b.get("run_type") == "iteration"] for x in d]
seeds = [x["context"]["layout_seed"] for x in d]
insn = all("insn_per_page" in b and "ns_per_page" not in b for x in d for b in x["benchmarks"]
           if not b.get("error_occurred"))
sizes = {b["name"].split("/")[1]: b["name"].split("/")[2] for b in d[0]["benchmarks"]}
ok = (order[0] != order[1] and order[0] == order[2] and sorted(order[0]) == sorted(order[1])
      and seeds == ["1", "2", "1"] and insn and sizes.get("memfd") == "size_kb:2048"
      and sizes.get("anon") == "size_kb:1024")
print(f"{len(order[0])} benchmarks, seeds {seeds}, order differs between seeds 1 and 2, repeats for 1; "
      f"insn_* counters; memfd {sizes.get('memfd')}, anon {sizes.get('anon')}")
sys.exit(0 if ok else 1)
PY
)"; then ok "--seed, --unit, --size-for: $r"
else notok "--seed, --unit, --size-for: ${r:-}"; fi
for bad in --size-for=nosuch:1M --size-for=anon --cpu=x --cpu=0,y --unit=parsecs --seed=0; do
	set +e
	"$pb" --backing=anon --size=1M "$bad" >"$tmp/bad" 2>&1
	rc=$?
	set -e
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/bad")" -eq 1 ]; then ok "bad $bad: one line, exit 2"
	else notok "bad $bad: exit $rc"; sed 's/^/# /' "$tmp/bad"; fi
done

# no leaks in pinbench's own code (AddressSanitizer + LeakSanitizer)
if [ -x "$top/bench/pinbench-asan" ]; then
	check "ASan/LSan: a run is clean" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		"$top/bench/pinbench-asan" --backing=anon,thp,memfd --size=4M --ppc=512 --vmas=1,2 \
		--dir="$dir" --benchmark_min_time=0.005 --seed=3 --cpu=0 --size-for=memfd:2M --unit=instructions
	check "ASan/LSan: --list is clean" env ASAN_OPTIONS=detect_leaks=1 \
		"$top/bench/pinbench-asan" --list
	set +e
	ASAN_OPTIONS=detect_leaks=1 "$top/bench/pinbench-asan" --size=0 >"$tmp/asan" 2>&1
	rc=$?
	set -e
	if [ "$rc" -eq 2 ]; then ok "ASan/LSan: a bad argument exits 2, clean"
	else notok "ASan/LSan: bad argument exit $rc"; sed 's/^/# /' "$tmp/asan" | tail; fi
elif [ "${CI:-}" = true ]; then
	notok "bench/pinbench-asan not built (make check builds it)"
else
	skip "bench/pinbench-asan not built (make asan)"
fi

tap_end integration
