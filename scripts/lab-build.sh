#!/usr/bin/env bash
# Build a lab kernel variant (bzImage), cached outside git.
# Usage: scripts/lab build VARIANT[@BASE] [--force | --cached]
# Prints the kernel directory (bzImage, config, build log) on its last line;
# --cached builds nothing: exit 0 and the directory when it is built, else 3.
# scripts/lab run/review --tree (scripts/pinlab/tree.py), PINLAB_TREE_ID
# naming the tree: PINLAB_TREE_DELTA=PATCH (the tree is the base's source
# plus that difference: applied first, in the base's own work tree) or
# PINLAB_TREE=DIR (a read-only copy of the tree: a work tree of its own),
# with the base's instrumentation and config.
#
# One source tree and one build directory per config: switching variants puts
# back the files the last series touched and applies the new series, so make
# rebuilds only what changed (mm/gup.c: ~10 s).  Kernels are kept per
# (base, config, series) hash: a variant already built is not built again.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

variant="" force=0 cached_only=0
while [ $# -gt 0 ]; do
	case "$1" in
	--force) force=1; shift ;;
	--cached) cached_only=1; shift ;;
	-*) usage_die "build: unknown option '$1'" ;;
	*) [ -z "$variant" ] || usage_die "build: one variant at a time"; variant="$1"; shift ;;
	esac
done
[ -n "$variant" ] || usage_die "usage: scripts/lab build VARIANT[@BASE] [--force | --cached]"
load_variant "$variant"
# the kernel directory's name: NAME for the default base, NAME@BASE otherwise
label="$variant_name"
[ "$base_name" = "$default_base" ] || label="$variant_name@$base_name"

mkdir -p "$cache"
exec 9>"$cache/build.lock"
flock 9

# 1. the pinned base, fetched and verified by the lab (not the system's
# packages), and Debian's config committed beside it
fetch_base
have="$VERSION_USED" sha="$SHA256"

# 2. the config: Debian's own (pinned, committed), modules off, the lab's fragment
frag="$kp/lab.config"
dsha="$CONFIG_SHA256" # checked by fetch_base
tree="${PINLAB_TREE:-}" tree_id="${PINLAB_TREE_ID:-}" delta="${PINLAB_TREE_DELTA:-}"
[ -z "$delta" ] || [ -f "$delta" ] || die "tree difference $delta: missing"
[ -z "$tree" ] || [ -f "$tree/Makefile" ] || die "tree $tree: no Makefile (not a kernel tree)"
cfg_hash="$(printf '%s\n%s\n%s' "$sha" "$dsha" "${tree:+tree $tree_id
}" | cat - "$frag" | sha256sum | cut -c1-16)"
work="$cache/work-$cfg_hash"
src="$work/src" build="$work/build"

# 3. the variant's series on the tree
series_files=()
# the tree's difference from the base first (an empty one changes nothing)
[ -z "$delta" ] || [ ! -s "$delta" ] || series_files+=("$delta")
for p in $SERIES; do
	[ -f "$kp/$p" ] || die "variant $variant: series names $p, not in ${kp#"$top"/}"
	series_files+=("$kp/$p")
done
key="$cfg_hash-$(printf '%s' "${delta:+$tree_id}" | cat - "$kp/$variant_name/variant.conf" ${series_files[@]+"${series_files[@]}"} | sha256sum | cut -c1-16)"
# what is applied, recorded now (a patch edited during the build must not
# be what kernel.txt names)
patch_lines="$(for p in ${series_files[@]+"${series_files[@]}"}; do echo "patch: ${p#"$top"/} sha256 $(sha256sum "$p" | cut -c1-64)"; done)"
out="$cache/kernels/$label-$key"
if [ -f "$out/bzImage" ] && [ "$force" -eq 0 ]; then
	say "$variant: cached kernel $out"
	echo "$out"
	exit 0
fi
# --cached: say whether it is built, build nothing
[ "$cached_only" -eq 0 ] || { say "$variant: not built yet ($out)"; exit 3; }
if [ -n "$tree" ]; then pristine="$tree"; else pristine="$(unpack_base)"; fi
if [ ! -f "$work/.ready" ]; then
	say "new config $cfg_hash: copying the source tree and configuring (a full build follows)"
	rm -rf "$work"
	mkdir -p "$work"
	cp -a "$pristine" "$src"
	chmod -R u+w "$src"
	: >"$work/touched"
	mkdir -p "$build"
	xz -dc "$DISTRO_CONFIG" | sed -E 's/^(CONFIG_[A-Za-z0-9_]+)=m$/# \1 is not set/' >"$build/.config"
	"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$frag" >"$work/merge.log" 2>&1
	make -s -C "$src" O="$build" olddefconfig >/dev/null
	missing=0
	while IFS= read -r line; do
		case "$line" in
		"" | "#"*" is not set") ;;
		"#"*) continue ;;
		esac
		if [[ "$line" =~ ^#\ (CONFIG_[A-Z0-9_]+)\ is\ not\ set$ ]]; then
			if grep -q "^${BASH_REMATCH[1]}=" "$build/.config"; then
				say "config: $line did not stick"; missing=1
			fi
		elif [ -n "$line" ] && ! grep -qx "$line" "$build/.config"; then
			say "config: $line did not stick (have: $(grep "^${line%%=*}=" "$build/.config" || echo unset))"
			missing=1
		fi
	done <"$frag"
	[ "$missing" -eq 0 ] || die "config fragment $frag did not stick (see above)"
	touch "$work/.ready"
fi
if [ "$(cat "$work/applied" 2>/dev/null)" != "$key" ]; then
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		rm -f "$src/$f"
		if [ -f "$pristine/$f" ]; then cp "$pristine/$f" "$src/$f"; chmod u+w "$src/$f"; fi
	done <"$work/touched"
	: >"$work/touched"
	rm -f "$work/applied"
	for p in ${series_files[@]+"${series_files[@]}"}; do
		say "$variant: applying $(basename "$p")"
		grep -E '^\+\+\+ ' "$p" | sed -E 's@^\+\+\+ [^/]*/([^[:space:]]*).*@\1@' >>"$work/touched"
		patch -s -p1 -N -r - --no-backup-if-mismatch -d "$src" <"$p" ||
			die "$variant: $(basename "$p") does not apply to the base"
	done
	echo "$key" >"$work/applied"
fi

# 4. build
mkdir -p "$out.tmp"
say "$variant: building bzImage (make -j$(nproc); a full build takes minutes, mm/ only seconds)"
t0="$(date +%s)"
export CCACHE_DIR="$cache/ccache"
# paths under the cache hashed relative to the build directory: another
# work tree of the same sources (a user's tree, a bisection) hits the cache
export CCACHE_BASEDIR="$cache"
# progress: steps so far of the last full build's count (kept per config)
total="$(cat "$work/steps" 2>/dev/null || echo '?')"
if ! make -C "$src" O="$build" -j"$(nproc)" CC="ccache gcc" bzImage 2>&1 |
	tee "$out.tmp/build.log" | grep --line-buffered -E '^  (CC|LD|AR)  ' |
	awk -v total="$total" '{ n++; if (n % 200 == 1 || $2 ~ /vmlinux|bzImage/) {
		print "lab:   [" n "/" total " steps] " $0; fflush() } }' >&2 ||
	[ "${PIPESTATUS[0]}" -ne 0 ]; then
	tail -30 "$out.tmp/build.log" >&2
	die "$variant: build failed (log: $out.tmp/build.log)"
fi
t1="$(date +%s)"
steps="$(grep -cE '^  (CC|LD|AR)  ' "$out.tmp/build.log" || true)"
[ "$steps" -lt 1000 ] || echo "$steps" >"$work/steps"
cp "$build/arch/x86/boot/bzImage" "$build/.config" "$out.tmp/"
mv "$out.tmp/.config" "$out.tmp/config"
cp "$build/System.map" "$out.tmp/"
{
	echo "variant: $variant_name"
	echo "base_name: $base_name"
	echo "description: $DESCRIPTION"
	echo "reproduces: $REPRODUCES"
	if [ -n "$tree" ] || [ -n "$delta" ]; then
		how=""
		[ -z "$delta" ] || how=" (the base source plus its difference, sha256 $(sha256sum "$delta" | cut -c1-64))"
		echo "tree: $tree_id$how"
		echo "tree_config_from: $PACKAGE $have (the nearest base)"
	fi
	echo "base: $PACKAGE $have sha256 $sha"
	echo "base_pinned: $PACKAGE $VERSION"
	echo "base_suite: $SUITE"
	[ -z "$FALLBACK" ] || echo "base_fallback: $FALLBACK"
	echo "distro_config: $CONFIG_PACKAGE $CONFIG_VERSION sha256 $CONFIG_SHA256"
	echo "config: $cfg_hash"
	echo "$patch_lines"
	echo "build_seconds: $((t1 - t0))"
	echo "built: $(date -u +%FT%TZ)"
} >"$out.tmp/kernel.txt"
rm -rf "$out"
mv "$out.tmp" "$out"
say "$variant: built in $((t1 - t0)) s -> $out"
echo "$out"
