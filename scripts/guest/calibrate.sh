#!/bin/sh
# The guest half of the calibration: the base kernel's own gup_test
# selftest (built static from the pinned source, unmodified; gup_test-6.1,
# gup_test-6.12: the one of the running kernel's version) on the cases
# pinbench's gup_test probes also run.  The host pairs each line with
# pinbench's figure of the same case (scripts/pinlab/calibration.py).
# Usage: calibrate.sh SIZE_MB PAGES_PER_CALL REPEATS
#        calibrate.sh --exact ARGS...   the selftest with ARGS as given (an
#                                       upstream figure's own command line)
set -eu
ver="$(uname -r | cut -d. -f1,2)"
gup_test="gup_test-$ver"
command -v "$gup_test" >/dev/null || { echo "calibration: no $gup_test for kernel $(uname -r)"; exit 1; }
if [ "${1:-}" = --exact ]; then
	shift
	echo "selftest: $gup_test $*"
	"$gup_test" "$@"
	echo "selftest: done"
	exit 0
fi
size="$1" ppc="$2" reps="$3"
echo "selftest: $gup_test"
for cmd in u a L; do
	for bk in anon thp hugetlb shmem; do
		case "$bk" in
		anon) f=-T ;;
		thp) f=-t ;;
		hugetlb) f=-H ;;
		shmem) f=-S ;;
		esac
		echo "case -$cmd $bk $size $ppc"
		"$gup_test" "-$cmd" "$f" -n "$ppc" -m "$size" -r "$reps"
	done
done
echo "calibration: done"
