#!/bin/sh
# The guest half of the calibration: the base kernel's own gup_test
# selftest (built static from the pinned source, unmodified) on the cases
# pinbench's gup_test probes also run.  The host pairs each line with
# pinbench's figure of the same case (scripts/pinlab/calibration.py).
# Usage: calibrate.sh SIZE_MB PAGES_PER_CALL REPEATS
set -eu
size="$1" ppc="$2" reps="$3"
for cmd in u a L; do
	for bk in anon thp hugetlb shmem; do
		case "$bk" in
		anon) f=-T ;;
		thp) f=-t ;;
		hugetlb) f=-H ;;
		shmem) f=-S ;;
		esac
		echo "case -$cmd $bk $size $ppc"
		gup_test "-$cmd" "$f" -n "$ppc" -m "$size" -r "$reps"
	done
done
echo "calibration: done"
