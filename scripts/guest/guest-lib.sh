# shellcheck shell=sh
# Shared by the guest's /init and job: find an NVDIMM by its slot.
# A region's mapping0 names its DIMM (nmemN,offset,length,position); the
# DIMM's NFIT handle is QEMU's slot + 1.
region_of_slot() { # region_of_slot SLOT -> the region number
	for r in /sys/bus/nd/devices/region*; do
		m="$(cat "$r/mapping0" 2>/dev/null)" || continue
		h="$(cat "/sys/bus/nd/devices/${m%%,*}/nfit/handle" 2>/dev/null)" || continue
		if [ "$((h))" -eq "$(($1 + 1))" ]; then
			echo "${r##*region}"
			return 0
		fi
	done
	return 1
}
raw_blockdev() { # raw_blockdev REGION -> /dev/pmemN of its label-less namespace
	for b in /sys/bus/nd/devices/namespace"$1".0/block/*; do
		[ -e "$b" ] && echo "/dev/${b##*/}" && return 0
	done
	return 1
}
