#!/usr/bin/env bash
# Compare two result sets benchmark by benchmark (median, %, CI, p-value).
# Usage: scripts/lab compare A B [compare.py options: --metric M --format table|text|json ...]
#   A, B: Google Benchmark JSON files, RUN-DIR/VARIANT[.det] (results/ID/baseline),
#         or two run directories: every result set they share, one after the other
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || usage_die "usage: scripts/lab compare A B [--metric M] [--format table|text|json] [--only-changed]"
resolve() {
	local x="$1"
	if [ -f "$x" ]; then echo "$x"
	elif [ -f "$x.json" ]; then echo "$x.json"
	elif [ -f "$x.json.xz" ]; then echo "$x.json.xz"
	elif [ -f "$top/results/$x.json.xz" ]; then echo "$top/results/$x.json.xz"
	elif [ -f "$top/results/$x.json" ]; then echo "$top/results/$x.json"
	else usage_die "compare: no result set '$x' (a JSON file, RUN-DIR/VARIANT, or two run directories)"; fi
}
rundir() { # the run directory for a path or a run id, or nothing
	if [ -d "$1" ]; then echo "$1"; elif [ -d "$top/results/$1" ]; then echo "$top/results/$1"; fi
}
ra="$(rundir "$1")" rb="$(rundir "$2")"
if [ -n "$ra" ] && [ -n "$rb" ]; then
	shift 2
	n=0 rc=0
	for f in "$ra"/*.json "$ra"/*.json.xz; do
		[ -f "$f" ] || continue
		name="$(basename "$f" .xz)"
		other="$rb/$name"
		[ -f "$other" ] || other="$other.xz"
		[ -f "$other" ] || continue
		grep -qs '"context"' "$f" || xzgrep -qs '"context"' "$f" || continue
		n=$((n + 1))
		echo "=== ${name%.json}: $(basename "$ra") -> $(basename "$rb")"
		metric=()
		case "$name" in *fio.json) metric=(--metric iops) ;; esac
		/usr/bin/python3 "$top/scripts/compare.py" "$f" "$other" "${metric[@]}" "$@" || rc=1
		echo
	done
	[ "$n" -gt 0 ] || die "compare: runs $(basename "$ra") and $(basename "$rb") share no result set"
	exit "$rc"
fi
a="$(resolve "$1")"
b="$(resolve "$2")"
shift 2
exec /usr/bin/python3 "$top/scripts/compare.py" "$a" "$b" "$@"
