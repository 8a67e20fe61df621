#!/usr/bin/env bash
# The lab for real, TAP: build baseline and one non-baseline variant of
# each base (6.1, 6.12; 7.3's baseline when it fits, see below), boot each under QEMU with emulated pmem, check the
# semantics TAP from the guest and read back the JSON it produced.  Uses
# the smoke matrix.
set -euo pipefail

top="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d /tmp/pinlab-labtest.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
# a signal ends the script through its EXIT trap (bash runs none on an untrapped one)
trap 'exit 143' TERM
trap 'exit 130' INT
# shellcheck source=scripts/tests/tap.sh
. "$top/scripts/tests/tap.sh"

# kconfig_ok CONFIG WHAT: the config against Debian's (its own base's):
# every performance-relevant difference written down with its reason
kconfig_ok() {
	if bash "$top/scripts/lab" kconfig-check "$1" >"$tmp/kconfig" 2>&1 &&
		grep -q "Debian's config" "$tmp/kconfig"; then
		ok "$2: $(tail -1 "$tmp/kconfig")"
	else
		notok "$2"
		grep -v "^documented" "$tmp/kconfig" | sed 's/^/# /'
	fi
}

# calibrated RUN MIN_BOOTS WHAT [MIN_JUDGED]: every boot's calibration.json
# there, at least MIN_BOOTS of them, MIN_JUDGED (18) judged cases or more,
# each within 0.9-1.1
calibrated() {
	local cal
	if cal="$(/usr/bin/python3 - "$1" "$2" "${4:-18}" <<'PY'
import json, glob, sys
files = sorted(glob.glob(sys.argv[1] + "/*/calibration.json"))
rows = [r for f in files for r in json.load(open(f))["rows"]]
judged = [r for r in rows if r["judged"]]
print(f"{len(judged)} cases judged in {len(files)} boots, pinbench / selftest {min(r['ratio'] for r in judged):.3f}"
      f"..{max(r['ratio'] for r in judged):.3f} ({len(rows) - len(judged)} reported, not judged)")
sys.exit(0 if len(files) >= int(sys.argv[2]) and len(judged) >= int(sys.argv[3])
         and all(0.9 <= r["ratio"] <= 1.1 for r in judged) else 1)
PY
	)"; then
		ok "$3: $cal"
	else notok "$3: ${cal:-no calibration.json}"; fi
}

# booted RUN VARIANT RELEASE: the variant's first deterministic boot of RUN
# is ok, its semantics TAP has no failure, and its JSON's kernel is RELEASE
booted() {
	local tap="$1/$2.det/semantics.tap"
	if grep -q "^variant $2 deterministic boot 1: ok" "$1/manifest.txt" 2>/dev/null && [ -f "$tap" ] &&
		! grep -q "^not ok" "$tap" && grep -q "semantics: [0-9]* passed, 0 failed" "$tap"; then
		ok "$2: built, booted, semantics $(tail -1 "$tap")"
	else notok "$2: boot or semantics"; grep "^variant $2\|^not ok" "$1/manifest.txt" "$tap" 2>/dev/null | sed 's/^/# /' || true; fi
	if PYTHONPATH="$top/scripts" /usr/bin/python3 -c 'import sys; from pinlab import store; d = store.load_json(sys.argv[1]); sys.exit(not d["context"]["kernel_release"].startswith(sys.argv[2] + "."))' "$1/$2.det/pinbench.json" "$3"; then
		ok "$2: JSON context: kernel $3"
	else notok "$2: JSON context kernel"; fi
	# the peer suite: the base's own gup_longterm ran, or says why not (6.1)
	local peer="$1/$2.det/peer-gup-longterm.tap" np
	if [ "$3" = 6.1 ]; then
		if grep -q "^1\.\.0 # SKIP no gup_longterm" "$peer" 2>/dev/null; then ok "$2: peer suite: $(head -1 "$peer")"
		else notok "$2: peer suite on 6.1 should say it has none"; fi
	elif np="$(grep -E "^ok [0-9]+ " "$peer" 2>/dev/null | grep -vc "# SKIP")" && [ "$np" -gt 0 ] &&
		! grep -q "^not ok" "$peer"; then
		ok "$2: peer suite gup_longterm: $np passed, $(grep -c "^ok [0-9]* # SKIP" "$peer" || true) skipped, 0 failed"
	else notok "$2: peer suite gup_longterm"; grep "^not ok" "$peer" 2>/dev/null | head -5 | sed 's/^/# /' || true; fi
}

echo "TAP version 13"
for need in qemu-system-x86_64 /bin/busybox ndctl; do
	if ! command -v "$need" >/dev/null && [ ! -e "$need" ]; then
		# CI installs it (scripts/deps.sh): missing there is a failure
		if [ "${CI:-}" = true ]; then echo "not ok 1 - $need missing (scripts/deps.sh lab)"; echo "1..1"; exit 1; fi
		echo "1..0 # SKIP $need missing (scripts/deps.sh lab)"
		exit 0
	fi
done

# bad input first (cheap)
set +e
bash "$top/scripts/lab" run --variants nosuch >"$tmp/bad" 2>&1
rc=$?
set -e
if [ "$rc" -eq 2 ] && grep -q "unknown variant 'nosuch'" "$tmp/bad"; then ok "unknown variant: exit 2, named"
else notok "unknown variant: exit $rc"; sed 's/^/# /' "$tmp/bad" || true; fi
set +e
bash "$top/scripts/lab" run --variants baseline --matrix nosuch >"$tmp/bad" 2>&1
rc=$?
set -e
if [ "$rc" -eq 2 ]; then ok "unknown matrix: exit 2"; else notok "unknown matrix: exit $rc"; fi
# bases: an unknown one, and an unknown variant of a known one, are one line and exit 2
for spec in baseline@7.0 nosuch@6.12 "baseline@6.12;rm"; do
	for how in run build; do
		set +e
		if [ "$how" = run ]; then bash "$top/scripts/lab" run --variants "$spec" >"$tmp/bad" 2>&1
		else bash "$top/scripts/lab" build "$spec" >"$tmp/bad" 2>&1; fi
		rc=$?
		set -e
		if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/bad")" -eq 1 ] && grep -q "unknown base '7.0' (known: 6.1 6.12 7.3)\|unknown variant 'nosuch' on base 6.12\|bad base name" "$tmp/bad"; then
			ok "$how $spec: exit 2, one line: $(cat "$tmp/bad")"
		else notok "$how $spec: exit $rc"; sed 's/^/# /' "$tmp/bad" || true; fi
	done
done

variants=baseline,vmas-array
set +e
PINLAB_RESULTS="$tmp" bash "$top/scripts/lab" run --variants "$variants" --matrix smoke \
	--modes wallclock,deterministic --accel tcg --timeout 1200 --id labtest 2>&1 | sed 's/^/# /'
rc="${PIPESTATUS[0]}"
set -e
out="$tmp/labtest"
if [ "$rc" -eq 0 ]; then ok "lab run $variants: exit 0"; else notok "lab run $variants: exit $rc"; fi
for v in ${variants//,/ }; do
	if grep -q "^variant $v wallclock boot 1: ok" "$out/manifest.txt" 2>/dev/null; then
		ok "$v: built, booted, finished ($(grep "^variant $v wallclock boot 1" "$out/manifest.txt" | cut -d, -f2-))"
	else notok "$v: $(grep "^variant $v" "$out/manifest.txt" 2>/dev/null || echo 'no manifest line')"; fi
	tap="$out/$v/semantics.tap"
	if [ -f "$tap" ] && grep -q "^ok" "$tap" && ! grep -q "^not ok" "$tap" &&
		grep -q "semantics: [0-9]* passed, 0 failed" "$tap"; then
		ok "$v: semantics $(tail -1 "$tap")"
	else notok "$v: semantics"; grep "^not ok" "$tap" 2>/dev/null | sed 's/^/# /' || true; fi
	if grep -q "gup_test.pin_longterm *fsdax .*EOPNOTSUPP" "$tap" 2>/dev/null &&
		grep -q "^ok .* gup_test.pin_longterm fsdax write:1 -> EOPNOTSUPP$" "$tap"; then
		ok "$v: FS-DAX long-term pin refused with EOPNOTSUPP (no SKIP)"
	else notok "$v: the FS-DAX refusal was not checked for real"; fi
	if bash "$top/scripts/lab" check "$out/$v/pinbench.json" \
		--require-run '^gup_test.pin_remote_longterm/anon/' \
		--require-run '^gup_test.pin_longterm/devdax/' \
		--require-run '^gup_test.gup_fast/fsdax/' \
		--require-run '^gup_test.pin_fast/thp/' >"$tmp/chk" 2>&1; then
		ok "$v: JSON read back: $(tail -1 "$tmp/chk")"
	else notok "$v: JSON"; sed 's/^/# /' "$tmp/chk" || true; fi
	if PYTHONPATH="$top/scripts" /usr/bin/python3 -c 'import sys; from pinlab import store; d = store.load_json(sys.argv[1]); sys.exit(d["context"]["label"] != sys.argv[2] or "6.1" not in d["context"]["kernel_release"])' "$out/$v/pinbench.json" "$v"; then
		ok "$v: JSON context: label $v, kernel 6.1"
	else notok "$v: JSON context label/kernel"; fi
	if bash "$top/scripts/lab" check "$out/$v/pinbench-node1.json" >/dev/null 2>&1 &&
		xzgrep -q '"mem_node": 1' "$out/$v/pinbench-node1.json"*; then
		ok "$v: node 1 placement measured (mem_node 1)"
	else notok "$v: node 1 placement"; fi
	# fio in the guest: measured from anon buffers, and io_uring's long-term
	# registration of FS-DAX buffers refused as the job expects
	if bash "$top/scripts/lab" check "$out/$v/fio.json" \
		--require-run '^fio.odirect/anon/' --require-run '^fio.iouring/anon/' \
		--require-run '^fio.odirect/fsdax/' >"$tmp/fchk" 2>&1 &&
		grep -q "1 refused as expected" "$tmp/fchk" &&
		grep -q "^fio.iouring/fsdax/.*expected-refusal" "$out/$v/fio-runs.tsv"; then
		ok "$v: fio in the guest: $(tail -1 "$tmp/fchk"), io_uring fixedbufs on FS-DAX refused (EOPNOTSUPP)"
	else notok "$v: fio in the guest"; sed 's/^/# /' "$tmp/fchk" "$out/$v/fio-runs.tsv" 2>/dev/null || true; fi
	# the matrix's extra program (static) ran in the guest; its stdout and
	# the file it wrote came back and are in the run's index
	if grep -q "^6\.1\." "$out/$v/extra-static.txt" 2>/dev/null && grep -q "^MemTotal:" "$out/$v/meminfo.txt" 2>/dev/null &&
		grep -q "\"$v/meminfo.txt\"" "$out/run.json"; then
		ok "$v: an extra static program ran in the guest; its output files were collected and indexed"
	else notok "$v: extra program"; fi
	# the backings' unit tests, where FS-DAX and device-DAX exist: they run, not skip
	tb="$out/$v/test_backing.tap"
	if grep -q "^ok [0-9]* - setup_teardown/fsdax$" "$tb" 2>/dev/null && grep -q "^ok [0-9]* - remote_child/devdax$" "$tb" &&
		! grep "^not ok" "$tb" | grep -qv "# SKIP"; then
		ok "$v: the backings' unit tests in the guest: FS-DAX and device-DAX set up for real ($(grep -c '^ok' "$tb") ok)"
	else notok "$v: test_backing in the guest"; grep "^not ok\|fsdax\|devdax" "$tb" 2>/dev/null | sed 's/^/# /' || true; fi
	# perf in the guest: the profile's stacks reach the long-term slow path
	if grep -q "^| __gup_longterm_locked |" "$out/$v/perf-pinpath.md" 2>/dev/null &&
		grep -q "<rect" "$out/$v/flame.svg" 2>/dev/null; then
		ok "$v: perf profile in the guest: __gup_longterm_locked in the stacks, flame graph drawn"
	else notok "$v: perf profile"; head -5 "$out/$v/perf-pinpath.md" 2>/dev/null | sed 's/^/# /' || true; fi
done
if grep -q "ENOMEM" "$out/vmas-array/semantics.tap" &&
	grep -q "^ok .*2097156K\|^ok .* anon write:1 -> ENOMEM" "$out/vmas-array/semantics.tap"; then
	ok "vmas-array: a 512Ki+1-page long-term call fails with ENOMEM"
else notok "vmas-array: the ENOMEM semantic"; fi

# the semantics can fail: baseline's table on vmas-array must catch ENOMEM
cross="$out/vmas-array/semantics-cross.tap"
if grep -q "^not ok .*gup_test.pin_longterm anon write:1 -> ok: got ENOMEM" "$cross" 2>/dev/null &&
	grep -q "semantics: .* [1-9][0-9]* failed" "$cross"; then
	ok "baseline's semantics fail on vmas-array: $(tail -1 "$cross")"
else notok "the cross-check did not fail as it should"; fi

# the lab kernel's config is Debian's where it matters: every
# performance-relevant difference written down with its reason
kconfig_ok "$out/kernels/baseline/config" "lab kernel config against Debian's"

# the calibration: the base's own gup_test selftest beside pinbench, in every
# boot (judged: the deterministic boots' cases but THP; the wall-clock
# boots' are reported only)
calibrated "$out" 4 "calibration against the selftest"

# the 6.12 base: its baseline and the revert of 94efde1d, deterministic
# (TCG, -icount), built from Debian's linux-source-6.12 and linux-config-6.12
v12=baseline@6.12,revert-94efde1d@6.12
set +e
PINLAB_RESULTS="$tmp" bash "$top/scripts/lab" run --variants "$v12" --matrix smoke --deterministic \
	--timeout 1200 --id lab612 2>&1 | sed 's/^/# /'
rc="${PIPESTATUS[0]}"
set -e
o12="$tmp/lab612"
if [ "$rc" -eq 0 ]; then ok "lab run $v12: exit 0"; else notok "lab run $v12: exit $rc"; fi
for v in ${v12//,/ }; do booted "$o12" "$v" 6.12; done
# 6.12 refuses what 6.1 pinned: a long-term writable pin of a shared file
# mapping (34ed8d0dcd69), checked for real on both kernels
if grep -q "^ok .* gup_test.pin_longterm pagecache write:1 -> EFAULT$" "$o12/baseline@6.12.det/semantics.tap" 2>/dev/null &&
	grep -q "^ok .* gup_test.pin_longterm pagecache write:1 -> ok$" "$out/baseline/semantics.tap" 2>/dev/null; then
	ok "a long-term pin of a shared ext4 mapping: pinned on 6.1, EFAULT on 6.12"
else notok "the pagecache long-term semantic across versions"; fi
# the revert: a 512Ki+1-page long-term call fails again (the kmalloc_array
# of folios), and 6.12 baseline's table catches it
if grep -q "^ok .* gup_test.pin_longterm anon write:1 -> ENOMEM$" "$o12/revert-94efde1d@6.12.det/semantics.tap" 2>/dev/null &&
	grep -q "^not ok .*gup_test.pin_longterm anon .*-> ok: got ENOMEM" "$o12/revert-94efde1d@6.12.det/semantics-cross.tap" 2>/dev/null; then
	ok "revert-94efde1d: a 512Ki+1-page long-term pin fails with ENOMEM; 6.12 baseline's table fails on it"
else notok "revert-94efde1d: the ENOMEM semantic"; grep "ENOMEM" "$o12"/revert-94efde1d@6.12.det/semantics*.tap 2>/dev/null | sed 's/^/# /' || true; fi
kconfig_ok "$o12/kernels/baseline@6.12/config" "6.12 lab kernel config against Debian's 6.12 config"
calibrated "$o12" 2 "6.12 calibration against its own selftest (tools/testing/selftests/mm)"

# the positive control and the A/A: known-cost plants about 103
# instructions a page on pin_user_pages() only.  Deterministic, 4 boots a
# variant, each a perturbed layout: against baseline it must be flagged
# there by about that much and nowhere else; baseline's boots 1-2 against
# its boots 3-4 (an A/A) must flag nothing
set +e
PINLAB_RESULTS="$tmp" bash "$top/scripts/lab" run --variants baseline,known-cost --matrix control \
	--deterministic --boots 4 --profile --no-report --id control >"$tmp/control.log" 2>&1
rc=$?
set -e
if [ "$rc" -eq 0 ] && bash "$top/scripts/lab" compare "$tmp/control/baseline.det" "$tmp/control/known-cost.det" \
	--format json >"$tmp/control.json" && pc="$(/usr/bin/python3 - "$tmp/control.json" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
rows = res["rows"]
planted = [r for r in rows if r["name"].startswith("gup_test.pin_longterm/")]
others = [r for r in rows if r not in planted]
deltas = [r["median_b"] - r["median_a"] for r in planted]
ok = (res["by_boot"] and res["boots_a"] == res["boots_b"] == 4 and res["unit"].startswith("instructions")
      and planted and all(r["significant"] and r["verdict"] == "worse" for r in planted)
      and all(95 <= d <= 115 for d in deltas) and not any(r["significant"] for r in others))
print(f"pin_longterm +{min(deltas):.1f}..+{max(deltas):.1f} instructions/page flagged on {len(planted)} over 4 vs 4 "
      f"boots; {sum(r['significant'] for r in others)} of {len(others)} other benchmarks flagged, "
      f"largest other change {max(abs(r['change_pct']) for r in others):.2f} %")
sys.exit(0 if ok else 1)
PY
)"; then ok "positive control: $pc"
else notok "positive control (exit $rc): ${pc:-}"; tail -5 "$tmp/control.log" | sed 's/^/# /' || true; fi
if [ "$rc" -eq 0 ] && aa="$(cd "$top/scripts" && /usr/bin/python3 - "$tmp/control" <<'PY'
import sys
from pinlab import compare, env, store
run = store.open_run(sys.argv[1])
refs = [env.SetRef(run.set_path(s), run, s)
        for s in sorted(run.sets(variant="baseline", placement="default", kind="pinbench"), key=lambda s: s["boot"])]
a, b = env.SetRef(refs[0].path, run, refs[0].rec, refs[:2]), env.SetRef(refs[2].path, run, refs[2].rec, refs[2:])
res = compare.result(a, b)
flagged = [r["name"] for r in res["rows"] if r["significant"]]
print(f"baseline boots 1-2 against 3-4: {len(flagged)} of {len(res['rows'])} flagged, largest change "
      f"{max(abs(r['change_pct']) for r in res['rows']):.2f} %, largest A/A spread "
      f"{max(r['aa_pct'] for r in res['rows']):.2f} %")
sys.exit(0 if res["by_boot"] and not flagged else 1)
PY
)"; then ok "A/A under perturbation: $aa"
else notok "A/A under perturbation: ${aa:-}"; fi

# where the instructions went: the same run's profiling boots (QEMU's TCG
# plugin, one per variant, boot 1's seed and job).  The plugin's count of
# every pin loop must agree with pinbench's own within 1 %, the profiling
# boots' figures must equal the measuring boots', and the planted cost
# must be found in the function it was planted in (pin_user_pages), at
# least 99 % of it, on every pin_longterm benchmark
if [ "$rc" -eq 0 ] && ex="$(cd "$top/scripts" && /usr/bin/python3 - "$tmp/control" <<'PY'
import sys
from pinlab import explain, store
run = store.open_run(sys.argv[1])
md, res = explain.explain(run, "baseline", "known-cost", threshold=0.5)
rows = res["rows"]
planted = [r for r in rows if r["name"].startswith("gup_test.pin_longterm/")]
shares = [sum(f["delta"] for f in r["functions"] if f["function"] == "pin_user_pages") / (r["b"] - r["a"]) * 100
          for r in planted]
checks = res["checks"]
ok = (len(planted) == 2 and len(rows) == 2 and all(s >= 99 for s in shares)
      and all(c["figures_equal"] and c["worst_pct"] is not None and c["worst_pct"] <= 1 for c in checks.values()))
print(f"{len(rows)} benchmarks moved (pin_longterm: {len(planted)}); pin_user_pages explains "
      + ", ".join(f"{s:.1f} %" for s in shares) + " of their change; plugin against pinbench within "
      + " / ".join(f"{c['worst_pct']:.3f} %" for c in checks.values() if c["worst_pct"] is not None)
      + "; profiling boots' figures " + ("equal" if all(c["figures_equal"] for c in checks.values()) else "DIFFER"))
sys.exit(0 if ok else 1)
PY
)"; then ok "explain the positive control: $ex"
else notok "explain the positive control: ${ex:-}"; fi

# failures are recorded and the run goes on: a series that does not apply,
# then a boot killed at --timeout; no VM is left behind
kpt="$tmp/kp"
cp -a "$top/kernel-patches" "$kpt"
# a variant directory whose base has no BASE (kernel-patches/7.0/): refused
mkdir -p "$kpt/7.0/baseline"
cp "$kpt/6.12/baseline/variant.conf" "$kpt/7.0/baseline/"
set +e
PINLAB_PATCHES="$kpt" bash "$top/scripts/lab" run --variants baseline@7.0 >"$tmp/bad" 2>&1
rc=$?
set -e
if [ "$rc" -eq 2 ] && grep -q "unknown base '7.0' (known: 6.1 6.12 7.3)" "$tmp/bad"; then
	ok "a variant directory under a base without BASE: exit 2, $(cat "$tmp/bad")"
else notok "variant under a base without BASE: exit $rc"; sed 's/^/# /' "$tmp/bad" || true; fi
mkdir -p "$kpt/6.1/broken"
printf '%s\n' '--- a/mm/gup.c' '+++ b/mm/gup.c' '@@ -1,3 +1,3 @@' ' this context' '-does not exist' '+in mm/gup.c' ' at all' >"$kpt/6.1/broken/0001-broken.patch"
cat >"$kpt/6.1/broken/variant.conf" <<'CONF'
DESCRIPTION="a patch that does not apply (lab test)"
REPRODUCES="none"
SERIES="instrumentation/0001-gup_test-pinlab-bench-ioctl.patch broken/0001-broken.patch"
CONF
set +e
PINLAB_PATCHES="$kpt" PINLAB_RESULTS="$tmp" bash "$top/scripts/lab" run --variants broken,baseline \
	--matrix smoke --accel tcg --timeout 8 --id failtest >"$tmp/fail.log" 2>&1
rc=$?
set -e
m="$tmp/failtest/manifest.txt"
if [ "$rc" -eq 1 ] && grep -q "^variant broken: FAILED build" "$m" 2>/dev/null &&
	grep -q "does not apply" "$tmp/failtest/kernels/broken/build.log"; then
	ok "a series that does not apply: FAILED build, logged, exit 1"
else notok "broken variant (exit $rc)"; sed 's/^/# /' "$tmp/fail.log" | tail -5 || true; fi
if grep -q "^variant baseline wallclock boot 1: FAILED: hung: killed after 8 s" "$m" 2>/dev/null; then
	ok "the run went on to baseline; its boot was killed at --timeout and recorded as hung"
else notok "timeout not recorded"; sed 's/^/# /' "$m" 2>/dev/null || true; fi
# this test's own runs only: a lab run of someone else's may be going on
if ! pgrep -f "qemu-system-x86_64.*pinlab-vm\.(labtest|lab612|control|failtest)\." >/dev/null; then ok "no VM left running"
else notok "a VM is still running"; fi
# a run stopped from outside takes its VM with it: SIGTERM (as CI or a
# user's kill) is caught; SIGKILL cannot be, and the VM's parent-death
# signal ends it
for sig in TERM KILL; do
	id="${sig,,}test"
	PINLAB_RESULTS="$tmp" bash "$top/scripts/lab" run --variants baseline --matrix smoke --accel tcg \
		--id "$id" >"$tmp/$id.log" 2>&1 &
	lpid=$!
	seen=0
	for _ in $(seq 120); do
		if grep -qs "pinlab-guest:" /tmp/pinlab-vm."$id".*/*/console.log; then seen=1; break; fi
		sleep 1
	done
	qemu="$(pgrep -f "qemu-system-x86_64.*pinlab-vm\.$id\." || true)"
	kill -"$sig" "$lpid" || true
	rc=0
	wait "$lpid" || rc=$?
	sleep 2
	if [ "$seen" -eq 1 ] && [ -n "$qemu" ] && [ "$rc" -ne 0 ] &&
		! pgrep -f "qemu-system-x86_64.*pinlab-vm\.$id\." >/dev/null; then
		ok "a run killed with SIG$sig while its guest runs exits $rc and leaves no VM (QEMU $qemu gone)"
	else
		notok "SIG$sig: guest seen $seen, QEMU '$qemu', exit $rc, VM $(pgrep -f "qemu-system-x86_64.*pinlab-vm\.$id\." || echo gone)"
		pkill -9 -f "qemu-system-x86_64.*pinlab-vm\.$id\." || true
	fi
	rm -rf /tmp/pinlab-vm."$id".*
done

# the 7.3 base (trixie-backports): its baseline, deterministic, one boot;
# last, so that CI's time so far is known.  A cold 7.3 build takes about as
# long as 6.1's and 6.12's together (1,921 s on 2 cores shared with a CI
# run, 2026-12-03): CI (.ci/run sets PINLAB_CI_START) boots 7.3 when its
# kernel is in the cache or when its build and boot still fit CI's
# budget for this step, else says why in a SKIP.  The budget is CI's 90
# minutes less what runs after this step (review and bisect ~9 min, the
# fleet ~12 min, lint ~1 min: a clean-clone CI, 2026-12-04) and a margin.
budget=60 need73=35
elapsed=0
[ -z "${PINLAB_CI_START:-}" ] || elapsed=$((($(date +%s) - PINLAB_CI_START) / 60))
run73=1 why73=""
if bash "$top/scripts/lab" build baseline@7.3 --cached >/dev/null 2>&1; then
	why73="kernel cached"
elif [ -n "${PINLAB_CI_START:-}" ] && [ $((elapsed + need73)) -gt "$budget" ]; then
	run73=0
	why73="the 7.3 kernel is not in this machine's cache and a cold build and boot (~$need73 min on 2 cores) would take CI past $budget min ($elapsed min gone); scripts/lab build baseline@7.3 once, or any 7.3 run, puts it there"
else
	why73="built now"
fi
if [ "$run73" -eq 1 ]; then
	set +e
	PINLAB_RESULTS="$tmp" bash "$top/scripts/lab" run --variants baseline@7.3 --matrix smoke --deterministic \
		--timeout 1200 --id lab73 2>&1 | sed 's/^/# /'
	rc="${PIPESTATUS[0]}"
	set -e
	o73="$tmp/lab73" tap="$tmp/lab73/baseline@7.3.det/semantics.tap"
	if [ "$rc" -eq 0 ]; then ok "lab run baseline@7.3 ($why73): exit 0"; else notok "lab run baseline@7.3 ($why73): exit $rc"; fi
	booted "$o73" baseline@7.3 7.3
	# 7.3 keeps 6.12's refusal of a long-term writable pin of a shared file
	if grep -q "^ok .* gup_test.pin_longterm pagecache write:1 -> EFAULT$" "$tap" 2>/dev/null; then
		ok "a long-term pin of a shared ext4 mapping: EFAULT on 7.3"
	else notok "7.3: the pagecache long-term semantic"; fi
	kconfig_ok "$o73/kernels/baseline@7.3/config" "7.3 lab kernel config against Debian's 7.3 config"
	calibrated "$o73" 1 "7.3 calibration against its own selftest (tools/testing/selftests/mm)" 9
else
	skip "7.3 base: $why73"
fi

tap_end lab
