#!/usr/bin/env bash
# Build the regression dashboard from every run: results/dashboard/index.html.
# Usage: scripts/lab dashboard [--results DIR] [--out FILE]
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

exec /usr/bin/python3 "$top/scripts/dashboard.py" "$@"
