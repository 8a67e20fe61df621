#!/usr/bin/env bash
# Compare two result sets benchmark by benchmark (median, %, CI, p-value).
# Usage: scripts/lab compare A B [compare.py options]
#   A, B: Google Benchmark JSON files, or RUN-DIR/VARIANT (results/ID/baseline)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || usage_die "usage: scripts/lab compare A B [--metric M] [--only-changed] [--json OUT]"
resolve() {
	local x="$1"
	if [ -f "$x" ]; then echo "$x"
	elif [ -f "$x.json" ]; then echo "$x.json"
	elif [ -f "$x.json.xz" ]; then echo "$x.json.xz"
	elif [ -f "$top/results/$x.json.xz" ]; then echo "$top/results/$x.json.xz"
	elif [ -f "$top/results/$x.json" ]; then echo "$top/results/$x.json"
	else usage_die "compare: no result set '$x' (a JSON file, or RUN-DIR/VARIANT)"; fi
}
a="$(resolve "$1")"
b="$(resolve "$2")"
shift 2
exec /usr/bin/python3 "$top/scripts/compare.py" "$a" "$b" "$@"
