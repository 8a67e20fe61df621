#!/usr/bin/env bash
# The comparison's statistics, TAP: synthetic repetitions with known shifts
# and noise must be flagged exactly where they should; identical sets show
# no change; bad input gives one clear message and a non-zero exit.
set -euo pipefail

top="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d /tmp/pinlab-cmp.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
# a signal ends the script through its EXIT trap (bash runs none on an untrapped one)
trap 'exit 143' TERM
trap 'exit 130' INT
cmp=(bash "$top/scripts/lab" compare)
synth=(/usr/bin/python3 "$top/scripts/tests/synth_gb.py")
# shellcheck source=scripts/tests/tap.sh
. "$top/scripts/tests/tap.sh"
echo "TAP version 13"

# 0 %, 1 % and 5 % shifts, 0.5 % noise, 9 repetitions, 2 % floor:
# only the 5 % shift is a change
"${synth[@]}" "$tmp/a.json" 1 0,0,0 --names 0,1,5 --label before
"${synth[@]}" "$tmp/b.json" 2 0,1,5 --label after
"${cmp[@]}" "$tmp/a.json" "$tmp/b.json" --json "$tmp/r.json" >"$tmp/out"
flags="$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["rows"]; print(",".join(x["name"].split("/")[1] for x in r if x["significant"]))' "$tmp/r.json")"
if [ "$flags" = "shift:5" ]; then ok "5 % flagged, 0 % and 1 % not (floor 2 %): $flags"
else notok "flagged: '$flags'"; sed 's/^/# /' "$tmp/out"; fi
# with the floor at 0.5 %, the 1 % shift is beyond it and p is small
"${cmp[@]}" "$tmp/a.json" "$tmp/b.json" --floor 0.5 --json "$tmp/r2.json" >/dev/null
flags="$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["rows"]; print(",".join(x["name"].split("/")[1] for x in r if x["significant"]))' "$tmp/r2.json")"
if [ "$flags" = "shift:1,shift:5" ]; then ok "floor 0.5 %: 1 % and 5 % flagged, 0 % not"
else notok "floor 0.5 %: flagged '$flags'"; fi
if grep -q "shift:5 .*+[45]\.[0-9]%" "$tmp/out"; then ok "the 5 % change is estimated near 5 %"
else notok "5 % estimate"; sed 's/^/# /' "$tmp/out"; fi
# identical sets: nothing changes
"${cmp[@]}" "$tmp/a.json" "$tmp/a.json" >"$tmp/same"
if grep -q "# 3 compared, 0 significant" "$tmp/same"; then ok "identical sets: no significant change"
else notok "identical sets"; sed 's/^/# /' "$tmp/same"; fi
# noise larger than the shift: 5 % under 10 % noise is not claimed
"${synth[@]}" "$tmp/na.json" 3 0 --names 5 --noise 10
"${synth[@]}" "$tmp/nb.json" 4 5 --names 5 --noise 10
"${cmp[@]}" "$tmp/na.json" "$tmp/nb.json" >"$tmp/noisy"
if grep -q "0 significant" "$tmp/noisy"; then ok "5 % under 10 % noise: not claimed"
else notok "noisy shift claimed"; sed 's/^/# /' "$tmp/noisy"; fi

# A/A: two sets drawn from the same distribution (other seeds) flag nothing
"${synth[@]}" "$tmp/aa1.json" 11 0,0,0,0,0 --names 1,2,3,4,5 --noise 1
"${synth[@]}" "$tmp/aa2.json" 12 0,0,0,0,0 --names 1,2,3,4,5 --noise 1
"${cmp[@]}" "$tmp/aa1.json" "$tmp/aa2.json" >"$tmp/aa"
if grep -q "# 5 compared, 0 significant" "$tmp/aa"; then ok "A/A (same distribution, other seeds): nothing flagged"
else notok "A/A flagged something"; sed 's/^/# /' "$tmp/aa"; fi
# zero variance: constant repetitions, identical or 1 % apart (below the floor)
"${synth[@]}" "$tmp/z0.json" 13 0,0 --names 0,1 --noise 0
"${synth[@]}" "$tmp/z1.json" 14 0,1 --names 0,1 --noise 0
"${cmp[@]}" "$tmp/z0.json" "$tmp/z1.json" --format json >"$tmp/z"
zero="$(/usr/bin/python3 -c 'import json,sys; r={x["name"].split("/")[1]: x for x in json.load(open(sys.argv[1]))["rows"]}
print(r["shift:0"]["change_pct"], r["shift:0"]["significant"], round(r["shift:1"]["change_pct"], 3), r["shift:1"]["significant"])' "$tmp/z")"
if [ "$zero" = "0.0 False 1.0 False" ]; then ok "zero variance: identical constant sets 0 %, 1 % apart not flagged (floor 2 %)"
else notok "zero variance: $zero"; fi

# a benchmark the kernel refused on one side is listed, not silently dropped
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for b in d["benchmarks"]:
    if "shift:5" in b["name"]:
        b.clear(); b.update(name="synth/shift:5/manual_time", run_name="synth/shift:5/manual_time", run_type="iteration",
                            error_occurred=True, error_message="REFUSED: kernel refused it: Operation not supported")
json.dump(d, open(sys.argv[2], "w"))' "$tmp/b.json" "$tmp/bref.json"
"${cmp[@]}" "$tmp/a.json" "$tmp/bref.json" >"$tmp/ref"
if grep -q "WARNING: 1 benchmarks ran on one side only" "$tmp/ref" &&
	grep -q "only in A: synth/shift:5 (B: REFUSED: kernel refused it: Operation not supported)" "$tmp/ref"; then
	ok "one-sided benchmarks: listed with what the other side says (REFUSED)"
else notok "one-sided benchmarks"; sed 's/^/# /' "$tmp/ref"; fi

# Debian's compare.py (Google Benchmark's tool) on the same pair: both must
# agree on which benchmarks changed (its U test on real_time, ours on
# real_time with no floor), and on the p-values
"${synth[@]}" "$tmp/da.json" 7 0,0,0,0 --names 0,1,5,10 --label before
"${synth[@]}" "$tmp/db.json" 8 0,1,5,10 --label after
/usr/bin/python3 /usr/share/benchmark/compare.py --no-color -d "$tmp/deb.json" benchmarks \
	"$tmp/da.json" "$tmp/db.json" >"$tmp/deb.txt"
"${cmp[@]}" "$tmp/da.json" "$tmp/db.json" --metric real_time --floor 0 --format json >"$tmp/ours.json"
agree="$(/usr/bin/python3 - "$tmp/deb.json" "$tmp/ours.json" <<'PY'
import json, sys
deb = {x["name"]: x["utest"]["time_pvalue"] for x in json.load(open(sys.argv[1])) if x.get("utest")}
ours = {r["name"]: r for r in json.load(open(sys.argv[2]))["rows"]}
dset = sorted(n for n, p in deb.items() if p < 0.05)
oset = sorted(n for n, r in ours.items() if r["p"] < 0.05)
worst = max(abs(deb[n] - ours[n]["p"]) for n in deb)
print(("same" if dset == oset and set(deb) == set(ours) and worst < 0.01 else "DIFFER"),
      "debian:", ",".join(n.split("/")[1] for n in dset), "ours:", ",".join(n.split("/")[1] for n in oset),
      f"max |p diff| {worst:.4f}")
PY
)"
case "$agree" in
"same debian: shift:1,shift:10,shift:5 ours: shift:1,shift:10,shift:5"*) ok "Debian compare.py agrees: $agree" ;;
*) notok "Debian compare.py: $agree"; sed 's/^/# /' "$tmp/deb.txt" ;; esac

# the mail format fits 80 columns, names and environment lines included
"${cmp[@]}" "$tmp/a.json" "$tmp/b.json" --format text >"$tmp/mail"
long="$(awk 'length($0) > 80' "$tmp/mail" | wc -l)"
if [ "$long" -eq 0 ] && grep -q "shift:5 .*\*" "$tmp/mail"; then ok "text format: $(wc -l <"$tmp/mail") lines, none over 80 columns"
else notok "text format: $long lines over 80 columns"; sed 's/^/# /' "$tmp/mail"; fi

# the environment diff reads the files beside each set: another accelerator
# and another kernel config are said at the top
# (each run's index names its set, the boot's QEMU command line and the
# variant's kernel config)
for r in r1 r2; do
	mkdir -p "$tmp/$r/v.det"
	printf '{"schema": 1, "id": "%s", "kind": "lab", "manifest": {}, "boots": [{"id": "v.det", "files": {"qemu-cmdline": "v.det/qemu-cmdline"}}], "kernels": {"v": {"config": "v.config"}}, "sets": [{"id": "v.det", "kind": "pinbench", "base": "6.1", "variant": "v", "mode": "deterministic", "boot": 1, "placement": "default", "matrix": "", "series": "v", "file": "v.det/pinbench.json", "boot_id": "v.det"}]}\n' "$r" >"$tmp/$r/run.json"
done
cp "$tmp/a.json" "$tmp/r1/v.det/pinbench.json"
cp "$tmp/b.json" "$tmp/r2/v.det/pinbench.json"
printf 'host: hostA\ncpu: cpuA\n' >"$tmp/r1/manifest.txt"
printf 'host: hostB\ncpu: cpuA\n' >"$tmp/r2/manifest.txt"
sed -i 's/"manifest": {}/"manifest": {"host": "hostA", "cpu": "cpuA"}/' "$tmp/r1/run.json"
sed -i 's/"manifest": {}/"manifest": {"host": "hostB", "cpu": "cpuA"}/' "$tmp/r2/run.json"
echo 'qemu-system-x86_64 -machine pc\,accel=tcg -icount shift=0 -smp 1' >"$tmp/r1/v.det/qemu-cmdline"
echo 'qemu-system-x86_64 -machine pc\,accel=kvm -smp 1' >"$tmp/r2/v.det/qemu-cmdline"
printf 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=1\n' >"$tmp/r1/v.config"
printf 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=1\n' >"$tmp/r2/v.config"
"${cmp[@]}" "$tmp/r1/v.det" "$tmp/r2/v.det" >"$tmp/env"
if grep -q "WARNING: different accelerators (tcg -icount shift=0 vs kvm)" "$tmp/env" &&
	grep -q "WARNING: different hosts" "$tmp/env" && grep -q "config CONFIG_B: n -> y" "$tmp/env" &&
	! grep -q "CONFIG_A" "$tmp/env"; then ok "environment diff: accel, host and the one config line that differs"
else notok "environment diff"; sed 's/^/# /' "$tmp/env"; fi
# two run directories: every set they share, each with its primary metric
if "${cmp[@]}" "$tmp/r1" "$tmp/r2" >"$tmp/runs" && grep -q "^=== v.det: r1 -> r2" "$tmp/runs" &&
	grep -q "shift:5" "$tmp/runs"; then ok "two run directories: their shared set compared"
else notok "two run directories"; sed 's/^/# /' "$tmp/runs"; fi

# 3 repetitions a side cannot reach p < 0.05 (smallest p 0.1): said, not
# reported as "no difference"
"${synth[@]}" "$tmp/t3a.json" 9 0 --names 5 --reps 3
"${synth[@]}" "$tmp/t3b.json" 10 5 --names 5 --reps 3
"${cmp[@]}" "$tmp/t3a.json" "$tmp/t3b.json" >"$tmp/t3"
if grep -q "cannot reach p < 0.05: with 3 vs 3 repetitions the smallest Mann-Whitney p is 0.100" "$tmp/t3" &&
	grep -q "0 significant" "$tmp/t3"; then ok "3 vs 3 repetitions: untestable, and said so"
else notok "3 vs 3 repetitions"; sed 's/^/# /' "$tmp/t3"; fi

bad() { # bad DESCRIPTION PATTERN ARGS...
	local d="$1" pat="$2" rc
	shift 2
	set +e
	"${cmp[@]}" "$@" >"$tmp/bo" 2>"$tmp/be"
	rc=$?
	set -e
	if [ "$rc" -eq 2 ] && grep -q "$pat" "$tmp/be" && ! grep -q Traceback "$tmp/be"; then
		ok "bad input: $d -> exit $rc: $(head -1 "$tmp/be")"
	else notok "bad input: $d -> exit $rc"; sed 's/^/# /' "$tmp/be"; fi
}
bad "missing file" "no result set .*nope.json" "$tmp/nope.json" "$tmp/a.json"
echo '{"results": []}' >"$tmp/other.json"
bad "JSON of another tool" "not Google Benchmark JSON" "$tmp/other.json" "$tmp/a.json"
echo 'not json' >"$tmp/text.json"
bad "not JSON" "not JSON" "$tmp/text.json" "$tmp/a.json"
"${synth[@]}" "$tmp/c.json" 5 0 --names 99
bad "no common benchmarks" "no benchmark in common" "$tmp/a.json" "$tmp/c.json"
"${synth[@]}" "$tmp/one.json" 6 0,0,0 --names 0,1,5 --reps 1
bad "a single repetition" "single repetition" "$tmp/one.json" "$tmp/a.json"
bad "unknown metric" "unknown metric" "$tmp/a.json" "$tmp/b.json" --metric speed

tap_end compare
