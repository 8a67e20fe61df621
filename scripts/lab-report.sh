#!/usr/bin/env bash
# Write a run's report: report.md, report.txt, compare-*.txt, plots/*.svg.
# Usage: scripts/lab report RUN [--baseline VARIANT] [--mode deterministic|wallclock]
#   RUN: a run directory, or a run id under results/
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || usage_die "usage: scripts/lab report RUN [--baseline VARIANT] [--mode deterministic|wallclock]"
run="$1"
shift
if [ ! -d "$run" ] && [ -d "$top/results/$run" ]; then run="$top/results/$run"; fi
exec /usr/bin/python3 "$top/scripts/report.py" "$run" "$@"
