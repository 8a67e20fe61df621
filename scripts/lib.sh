#!/usr/bin/env bash
# Shared by scripts/lab-*.sh: paths, messages, the base kernel's identity.
# shellcheck disable=SC2034  # variables are used by the scripts that source this

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${PINLAB_CACHE:-/var/cache/pinlab}"
kp="${PINLAB_PATCHES:-$top/kernel-patches/6.1}" # PINLAB_PATCHES: tests only

say() { echo "lab: $*" >&2; }
die() {
	echo "lab: error: $*" >&2
	exit 1
}
usage_die() {
	echo "lab: $*" >&2
	exit 2
}

# Loads kernel-patches/6.1/BASE (PACKAGE VERSION TARBALL SHA256).
load_base() {
	# shellcheck source=/dev/null
	. "$kp/BASE"
}

# The variants: every kernel-patches/6.1/*/variant.conf but the instrumentation.
list_variants() {
	local d
	for d in "$kp"/*/variant.conf; do
		d="$(basename "$(dirname "$d")")"
		[ "$d" = instrumentation ] || echo "$d"
	done
}

# Loads a variant's DESCRIPTION REPRODUCES SERIES; fails for an unknown one.
load_variant() {
	local v="$1"
	[[ "$v" =~ ^[a-z0-9][a-z0-9-]*$ ]] || usage_die "bad variant name '$v'"
	[ -f "$kp/$v/variant.conf" ] ||
		usage_die "unknown variant '$v' (known: $(list_variants | tr '\n' ' '))"
	DESCRIPTION="" REPRODUCES="" SERIES=""
	# shellcheck source=/dev/null
	. "$kp/$v/variant.conf"
}

# A stable hash of files' contents (order matters).
hash_files() {
	cat "$@" | sha256sum | cut -c1-16
}

# new_run_dir WHAT ID ALLOW_DIRTY: results/ID (PINLAB_RESULTS), refused if
# it exists, or if it is under results/ and the tree has uncommitted changes
# (unless ALLOW_DIRTY is 1: the manifest says so); prints it
new_run_dir() {
	local d="${PINLAB_RESULTS:-$top/results}/$2" rev
	[ ! -e "$d" ] || usage_die "$1: $d exists; pick another --id"
	rev="$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)"
	case "$(realpath -m "$d")/" in "$top/results/"*)
		if [[ "$rev" == *-dirty ]] && [ "${3:-0}" != 1 ]; then
			usage_die "$1: the tree has uncommitted changes ($rev): committed results come from a clean tree (commit first, or --allow-dirty)"
		fi
		;;
	esac
	mkdir -p "$d"
	echo "$d"
}

# host_manifest ID COMMAND: the manifest lines of a run on this machine's kernel
host_manifest() {
	echo "run: $1"
	echo "command: $2"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "host: $(hostname -s), $(nproc) CPUs, $(awk '/MemTotal/{print $2" kB"}' /proc/meminfo)"
	echo "cpu: $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
	echo "kernel: $(uname -r)"
	echo "pinlab: $(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)${3:+ (--allow-dirty)}"
	echo "mode: native (host kernel), wall-clock"
}
