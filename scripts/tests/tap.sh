# shellcheck shell=bash
# TAP for the shell tests: ok, notok, skip (a skip with its reason; under
# CI=true, where scripts/deps.sh installed everything, need_or_fail turns a
# missing dependency into a failure), and the closing lines.
# shellcheck disable=SC2034 # n and failed are read by the sourcing script
n=0 failed=0 skipped=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); skipped=$((skipped + 1)); echo "ok $n - # SKIP $1"; }
# tap_end NAME: the plan, the summary line, and the exit status
tap_end() {
	echo "1..$n"
	echo "$1: $((n - failed - skipped)) passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}
