#!/usr/bin/env bash
# `make check`: the unit tests (cmocka, plain and under ASan/LSan), the
# integration and error-path tests of pinbench, the lab's tests where the
# machine can run them, and lint.  Ends with "check: N passed, N failed".
set -euo pipefail

top="$(cd "$(dirname "$0")/.." && pwd)"
cd "$top"
passed=0 failed=0
log="$(mktemp -d /tmp/pinlab-check.XXXXXX)"
trap 'rm -rf "$log"' EXIT

step() { # step NAME COMMAND...: run, show its output, count it
	local name="$1" rc
	shift
	echo "=== $name"
	set +e
	"$@" 2>&1 | tee "$log/step"
	rc="${PIPESTATUS[0]}"
	set -e
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "=== $name: PASS"
	else
		failed=$((failed + 1))
		echo "=== $name: FAIL (exit $rc)"
	fi
}

for t in "$@"; do
	step "unit $(basename "$t")" "$t"
done
make -s asan >/dev/null
for t in build-asan/tests/test_*; do
	step "unit $(basename "$t") (ASan/LSan)" env ASAN_OPTIONS=detect_leaks=1 "$t"
done
step "unit: results model and lab plan (pytest)" /usr/bin/python3 -m pytest -q -p no:cacheprovider scripts/tests
step "integration (pinbench on this kernel)" bench/tests/integration.sh
step "compare (statistics on synthetic shifts, bad input)" scripts/tests/compare.sh
step "report and dashboard (sentences, plots, Chromium render)" scripts/tests/report.sh
step "workloads (fio jobs, perf stat/record on this kernel)" scripts/tests/workloads.sh
if [ -x scripts/tests/lab.sh ]; then
	step "lab (kernel build, boot, semantics)" scripts/tests/lab.sh
fi
step "lint: clang-format" clang-format --dry-run --Werror bench/*.c bench/*/*.c bench/*/*.h bench/gbench/*.cc
mapfile -t shells < <(git ls-files '*.sh' scripts/lab scripts/guest .ci/run 2>/dev/null | sort -u)
step "lint: shellcheck" shellcheck -x "${shells[@]}"
mapfile -t pys < <(git ls-files '*.py')
if [ "${#pys[@]}" -gt 0 ]; then
	step "lint: python compiles" /usr/bin/python3 -m py_compile "${pys[@]}"
fi

echo
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
