#!/usr/bin/env bash
# Shared by scripts/lab-*.sh: paths, messages, the base kernel's identity.
# shellcheck disable=SC2034  # variables are used by the scripts that source this

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${PINLAB_CACHE:-/var/cache/pinlab}"
patches="${PINLAB_PATCHES:-$top/kernel-patches}" # PINLAB_PATCHES: tests only
default_base=6.1      # a variant named without @BASE is on this base
kp="$patches/$default_base"
base_name="$default_base"

say() { echo "lab: $*" >&2; }
die() {
	echo "lab: error: $*" >&2
	exit 1
}
usage_die() {
	echo "lab: $*" >&2
	exit 2
}

# The bases: every kernel-patches/*/BASE.
list_bases() {
	local d
	for d in "$patches"/*/BASE; do
		[ -f "$d" ] && basename "$(dirname "$d")"
	done
}

# use_base NAME: kp is kernel-patches/NAME; one line and exit 2 for a base
# that does not exist.
use_base() {
	local b="$1"
	[[ "$b" =~ ^[0-9]+\.[0-9]+[a-z0-9.-]*$ ]] || usage_die "bad base name '$b' (a kernel version: $(list_bases | sort -V | paste -sd, | sed 's/,/, /g'))"
	[ -f "$patches/$b/BASE" ] ||
		usage_die "unknown base '$b' (known: $(list_bases | tr '\n' ' '| sed 's/ $//'))"
	kp="$patches/$b"
	base_name="$b"
}

# fetch_base: the current base's pinned source, fetched by the lab itself
# from Debian's suites and verified (scripts/pinlab/bases.py), and its
# committed config checked against its sha256 (bases.check_config, the one
# place that check lives).  Sets TARBALL SHA256 (of the tarball used)
# VERSION_USED SUITE FALLBACK PACKAGE VERSION (pinned) CONFIG_PACKAGE
# CONFIG_VERSION DISTRO_CONFIG CONFIG_SHA256 (verified).  Exits 2 on a
# malformed BASE or a config that is not its pin, 1 when the archive has
# nothing that fits.
fetch_base() {
	local out
	out="$(PYTHONPATH="$top/scripts" PINLAB_CACHE="$cache" /usr/bin/python3 -m pinlab bases fetch "$base_name" --shell)" ||
		exit $?
	TARBALL="" SHA256="" VERSION_USED="" SUITE="" FALLBACK=""
	PACKAGE="" VERSION="" CONFIG_PACKAGE="" CONFIG_VERSION="" DISTRO_CONFIG="" CONFIG_SHA256=""
	eval "$out"
}

# The variants of the current base: every */variant.conf but the instrumentation.
list_variants() {
	local d
	for d in "$kp"/*/variant.conf; do
		[ -f "$d" ] || continue
		d="$(basename "$(dirname "$d")")"
		[ "$d" = instrumentation ] || echo "$d"
	done
}

# load_variant NAME[@BASE]: the base (default 6.1) and the variant's
# DESCRIPTION REPRODUCES SERIES; one line and exit 2 for an unknown one.
load_variant() {
	local spec="$1" v
	v="${spec%%@*}"
	if [[ "$spec" == *@* ]]; then use_base "${spec#*@}"; else use_base "$default_base"; fi
	[[ "$v" =~ ^[a-z0-9][a-z0-9-]*$ ]] || usage_die "bad variant name '$v'"
	[ -f "$kp/$v/variant.conf" ] ||
		usage_die "unknown variant '$v' on base $base_name (known: $(list_variants | tr '\n' ' ' | sed 's/ $//'))"
	variant_name="$v"
	DESCRIPTION="" REPRODUCES="" SERIES=""
	# shellcheck source=/dev/null
	. "$kp/$v/variant.conf"
}

# unpack_base: the fetched tarball, unpacked once and read-only, at
# $cache/base-$SHA256/SRCNAME (prints it), keyed by the tarball's verified
# content; under its own lock, so a kernel build and a selftest build can
# share it.  A tree whose unpacking was cut short has no .unpacked and is
# unpacked again.
unpack_base() {
	local srcname dir
	srcname="${TARBALL##*/}"
	srcname="${srcname%.tar.xz}"
	dir="$cache/base-$SHA256"
	mkdir -p "$cache"
	(
		flock 8
		if [ ! -f "$dir/.unpacked" ]; then
			say "unpacking $TARBALL (once)"
			rm -rf "$dir"
			mkdir -p "$dir"
			tar -C "$dir" -xf "$TARBALL"
			chmod -R a-w "$dir/$srcname"
			: >"$dir/.unpacked"
		fi
	) 8>"$cache/unpack.lock"
	echo "$dir/$srcname"
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
