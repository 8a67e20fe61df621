"""Is a lab kernel's config the distribution's where it matters for
performance?  The options below change the instructions and the time of
the pin paths (allocator, optimisation, tick and preemption, memcg, THP and
hugetlb, NUMA balancing, init_on_alloc, hardening and debugging,
mitigations, unwinder, paging).  Every one that differs from Debian's
config must be written down, with its reason, in the base's
`config-differences` file (OPTION -- reason); anything else is a finding.
The base (6.1, 6.12) is the one the config's header names, and with it
Debian's config (BASE: DISTRO_CONFIG) and the differences allowed.

    scripts/lab kconfig-check LAB_CONFIG [--base B] [--debian FILE] [--allowed FILE]
"""
import lzma
import os
import re

from . import PinlabError, variants


# option name patterns that change what the pin paths cost
PERF = [r"SLUB", r"SLAB", r"SLOB", r"SLUB_.*", r"SLAB_FREELIST_.*", r"CC_OPTIMIZE_FOR_.*", r"HZ(_\d+)?",
        r"HZ_PERIODIC", r"NO_HZ.*", r"PREEMPT(_NONE|_VOLUNTARY|_DYNAMIC|_BUILD)?", r"MEMCG.*",
        r"TRANSPARENT_HUGEPAGE.*", r"HUGETLB.*", r"ARCH_HAS_GIGANTIC_PAGE", r"NUMA", r"NUMA_BALANCING.*",
        r"INIT_ON_ALLOC_DEFAULT_ON", r"INIT_ON_FREE_DEFAULT_ON", r"PAGE_POISONING", r"SHUFFLE_PAGE_ALLOCATOR",
        r"RANDOMIZE_.*", r"HARDENED_USERCOPY", r"UNWINDER_.*", r"FRAME_POINTER", r"DEBUG_VM.*",
        r"DEBUG_PAGEALLOC", r"KASAN", r"KCSAN", r"KFENCE", r"PROVE_LOCKING", r"LOCKDEP", r"DEBUG_LIST",
        r"RETPOLINE", r"PAGE_TABLE_ISOLATION", r"CPU_MITIGATIONS", r"SPECULATION_MITIGATIONS",
        r"ZONE_DEVICE", r"MIGRATION", r"COMPACTION", r"CMA", r"KSM", r"SPARSEMEM.*", r"X86_5LEVEL",
        r"PGTABLE_LEVELS", r"PARAVIRT.*", r"MAXSMP", r"NR_CPUS", r"MODULES", r"GUP_GET_PXX_LOW_HIGH",
        r"ARCH_HAS_PTE_DEVMAP", r"HAVE_FAST_GUP", r"HAVE_GUP_FAST", r"MMU_GATHER_.*", r"PER_VMA_LOCK", r"LRU_GEN.*",
        r"DEFERRED_STRUCT_PAGE_INIT", r"SPLIT_PTLOCK_CPUS", r"TRANSPARENT_HUGEPAGE_.*", r"READ_ONLY_THP_FOR_FS",
        # hardening and mitigations that add instructions to every call or list walk
        r"X86_KERNEL_IBT", r"LIST_HARDENED", r"BUG_ON_DATA_CORRUPTION", r"INIT_STACK_.*", r"ZERO_CALL_USED_REGS",
        r"CALL_DEPTH_TRACKING", r"MITIGATION_.*", r"RANDOM_KMALLOC_CACHES", r"SLAB_BUCKETS", r"STACKPROTECTOR.*",
        r"PAGE_TABLE_CHECK.*", r"FORTIFY_SOURCE", r"UBSAN.*"]
PERF_RE = re.compile(r"^CONFIG_(" + "|".join(PERF) + r")$")


def read_config(path):
    opener = lzma.open if path.endswith(".xz") else open
    try:
        with opener(path, "rt") as f:
            tmp = f.read()
    except OSError as e:
        raise PinlabError(f"{path}: {e.strerror}") from None
    out = {}
    for line in tmp.splitlines():
        m = re.match(r"^(CONFIG_\w+)=(.*)$", line) or re.match(r"^# (CONFIG_\w+) is not set$", line)
        if m:
            out[m[1]] = m[2] if m.lastindex == 2 else "n"
    return out


def read_allowed(path):
    """OPTION -- reason, one a line; a line without a reason is refused."""
    out = {}
    if not path or not os.path.exists(path):
        return out
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            opt, sep, why = line.partition(" -- ")
            if not sep or not why.strip():
                raise PinlabError(f"{path}:{n}: OPTION -- reason expected")
            out[opt.strip()] = why.strip()
    return out


def differences(lab, debian):
    """The performance-relevant options whose values differ (an option one
    side lacks counts as 'n' there); Debian's 'm' counts as built in."""
    def val(cfg, k):
        v = cfg.get(k, "n")
        return "y" if v == "m" else v
    keys = sorted(k for k in set(lab) | set(debian) if PERF_RE.match(k))
    return [(k, val(lab, k), val(debian, k)) for k in keys if val(lab, k) != val(debian, k)]


def between(a_path, b_path):
    """The performance-relevant options whose values differ between two
    lab kernels' configs: [(option, a's value, b's value)]."""
    return differences(read_config(a_path), read_config(b_path))


def base_of(path):
    """The base a .config was made for, from its header ('# Linux/x86
    6.12.117 Kernel Configuration' -> 6.12); the default base otherwise."""
    opener = lzma.open if path.endswith(".xz") else open
    try:
        with opener(path, "rt") as f:
            head = f.read(400)
    except OSError as e:
        raise PinlabError(f"{path}: {e.strerror}") from None
    m = re.search(r"^# Linux/\S+ (\d+\.\d+)[.\d]* Kernel Configuration", head, re.M)
    return m[1] if m and m[1] in variants.bases() else variants.DEFAULT_BASE


def check(lab_path, debian_path=None, allowed_path=None, base=None):
    """(undocumented, documented) differences of a lab config from Debian's."""
    b = base or base_of(lab_path)
    debian_path = debian_path or variants.base(b)["DISTRO_CONFIG"]
    allowed = read_allowed(allowed_path or os.path.join(variants.patches(b), "config-differences"))
    diffs = differences(read_config(lab_path), read_config(debian_path))
    return ([d for d in diffs if d[0] not in allowed], [(d, allowed[d[0]]) for d in diffs if d[0] in allowed])


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="scripts/lab kconfig-check", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="a lab kernel's .config (e.g. results/RUN/kernels/baseline/config)")
    ap.add_argument("--base", help="the base (default: the one the config's header names)")
    ap.add_argument("--debian", help="Debian's config (default: the base's DISTRO_CONFIG)")
    ap.add_argument("--allowed")
    a = ap.parse_args(argv)
    try:
        bad, ok = check(a.config, a.debian, a.allowed, a.base)
    except PinlabError as e:
        print(f"kconfig-check: {e}", file=__import__("sys").stderr)
        return 2
    for (k, lv, dv), why in ok:
        print(f"documented {k}: {lv} here, {dv} in Debian's -- {why}")
    for k, lv, dv in bad:
        print(f"UNDOCUMENTED {k}: {lv} here, {dv} in Debian's")
    print(f"kconfig-check: {len(bad)} undocumented, {len(ok)} documented differences from Debian's config "
          f"in {sum(1 for _ in PERF)} performance-relevant option patterns")
    return 1 if bad else 0

