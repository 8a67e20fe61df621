"""What made a result set: the run's manifest, the kernel config and the
QEMU command line of its boot, found through the run index."""
import os
import re

from . import PinlabError, store


class SetRef:
    """A result set the user named: its JSON and, when it sits in an indexed
    run, the run and the set's record."""

    def __init__(self, path, run=None, rec=None, boots=None):
        # boots: [SetRef] of the same variant, mode and placement over the
        # run's boots (the unit of replication), when there is more than one
        self.path, self.run, self.rec, self.boots = path, run, rec, boots

    @property
    def label(self):
        return self.rec["series"] if self.rec else os.path.basename(self.path).split(".json")[0]


def with_boots(ref):
    """ref with every boot of its series in its run (same variant, mode,
    placement and kind), boot order; a bare file stays one boot."""
    if not ref.run or not ref.rec:
        return ref
    r = ref.rec
    same = sorted(ref.run.sets(variant=r["variant"], mode=r["mode"], placement=r["placement"], kind=r["kind"],
                               series=r.get("series"), base=r.get("base")),
                  key=lambda s: s["boot"])
    if len(same) > 1:
        ref.boots = [SetRef(ref.run.set_path(s), ref.run, s) for s in same]
    return ref


def mode_of(ref):
    """The set's mode from its run's index (None for a bare file)."""
    return ref.rec.get("mode") if ref.rec else None


def resolve_set(arg, results=None):
    """A JSON file, RUN/SET-ID (a set id in RUN's index) or RUN-ID/SET-ID under results/."""
    cands = [arg] + ([os.path.join(results, arg)] if results else [])
    for c in cands:
        p = store.resolve(c)
        if os.path.isfile(p):
            rdir = os.path.dirname(os.path.abspath(p))
            if os.path.exists(os.path.join(rdir, store.INDEX)):
                run = store.open_run(rdir)
                name = os.path.basename(p).removesuffix(".xz")
                rec = next((s for s in run.index["sets"] if s["file"] == name), None)
                return SetRef(p, run if rec else None, rec)
            return SetRef(p)
        rdir, sid = os.path.dirname(c.rstrip("/")), os.path.basename(c.rstrip("/"))
        if rdir and os.path.exists(os.path.join(rdir, store.INDEX)):
            run = store.open_run(rdir)
            rec = next((s for s in run.index["sets"] if s["id"] == sid), None)
            if rec:
                return SetRef(run.set_path(rec), run, rec)
            raise PinlabError(f"{rdir}: no result set {sid!r} (have: "
                              f"{', '.join(s['id'] for s in run.index['sets'])})")
    raise PinlabError(f"no result set '{arg}' (a JSON file, RUN-DIR/SET-ID, or two run directories)")


def kernel_config(path):
    """CONFIG_X -> value ('n' for '# CONFIG_X is not set'), or None without a file."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except (OSError, TypeError):
        return None
    out = {}
    for line in lines:
        m = re.match(r"^(CONFIG_\w+)=(.*)$", line) or re.match(r"^# (CONFIG_\w+) is not set$", line)
        if m:
            out[m[1]] = m[2] if m.lastindex == 2 else "n"
    return out


def qemu_summary(cmdline):
    """The parts of a QEMU command line that change what is measured."""
    args = cmdline.replace("\\,", ",").replace("\\ ", " ").split()
    out = {}
    for i, a in enumerate(args[:-1]):
        nxt = args[i + 1]
        if a == "-machine":
            m = re.search(r"accel=(\w+)", nxt)
            out.setdefault("accel", m[1] if m else "default")
        elif a == "-accel":
            out["accel"] = nxt.split(",")[0]
        elif a in ("-smp", "-m", "-cpu"):
            out[a[1:]] = nxt
        elif a == "-icount":
            out["icount"] = nxt
    out.setdefault("icount", "off")
    return out


def env_of(ref):
    """run, variant, mode, boot, host, CPU, base, QEMU accel/icount/smp and
    the kernel config (a dict, or None) of a set."""
    if ref.rec is None:
        return dict(run=os.path.basename(os.path.dirname(os.path.abspath(ref.path))),
                    variant=ref.label, mode="?", boot=1, host="unknown", cpu="unknown", base="unknown",
                    accel="?", config=None)
    run, s = ref.run, ref.rec
    man = run.manifest()
    env = dict(run=run.id, variant=s["variant"], mode=s["mode"], boot=s["boot"],
               host=man.get("host", "unknown"), cpu=man.get("cpu", "unknown"),
               base=man.get("base", man.get("kernel", "unknown")))
    qfile = run.boot_file(s, "qemu-cmdline")
    if qfile and os.path.exists(qfile):
        with open(qfile) as f:
            q = qemu_summary(f.read())
        env.update({f"qemu_{k}": v for k, v in q.items()})
        env["qemu"] = man.get("qemu", "unknown")
        env["accel"] = q.get("accel", "?") + ("" if q.get("icount") == "off" else " -icount " + q["icount"])
    else:
        env["accel"] = "native (no VM)" if "native" in man.get("mode", "native") else man.get("mode", "?")
    env["config"] = kernel_config(run.kernel_file(s["variant"], "config"))
    # a run of two bases: the set's own kernel's base, from its kernel.txt
    kt = run.kernel_file(s["variant"], "kernel")
    if kt and os.path.exists(kt):
        env["base"] = store.read_kv(kt).get("base", env["base"])
    return env


CTX_KEYS = ["kernel_release", "label", "proc_version", "kernel_cmdline", "thp_enabled", "thp_defrag",
            "hugepages_2048kB", "hugepages_1048576kB", "numa_nodes", "numa_placement", "num_cpus",
            "pinlab_revision", "library_build_type"]
ENV_KEYS = ["run", "variant", "mode", "host", "cpu", "base", "accel", "qemu", "qemu_smp", "qemu_m", "qemu_cpu"]


def config_diff(fa, fb):
    if fa is None or fb is None:
        return [] if (fa is None) == (fb is None) else ["kernel config: known on one side only"]
    keys = sorted(k for k in set(fa) | set(fb) if fa.get(k, "n") != fb.get(k, "n")
                  and k not in ("CONFIG_CC_VERSION_TEXT",))
    out = [f"config {k}: {fa.get(k, 'n')} -> {fb.get(k, 'n')}" for k in keys[:40]]
    if len(keys) > 40:
        out.append(f"config: {len(keys) - 40} more lines differ")
    return out or ["kernel config: same"]


def base_release(base):
    """('linux-source-6.1', '6.1.192-2') of a kernel.txt/manifest base line
    ('linux-source-6.1 6.1.192-2 sha256 ...'), or None."""
    m = re.match(r"^(linux-source-\S+) (\S+)", base or "")
    return (m[1], m[2]) if m else None


def env_diff(ca, cb, ea, eb):
    """Lines saying what differs between the sides' environments, and the
    warnings for the top of the comparison."""
    lines = [f"{k}: {ea.get(k)!r} -> {eb.get(k)!r}" for k in ENV_KEYS if ea.get(k) != eb.get(k)]
    lines += [f"{k}: {ca.get(k)!r} -> {cb.get(k)!r}" for k in CTX_KEYS if ca.get(k) != cb.get(k)]
    lines += config_diff(ea.get("config"), eb.get("config"))
    warn = []
    host_a = (ea.get("host"), ea.get("cpu")) if ea.get("host") != "unknown" else ca.get("host_name")
    host_b = (eb.get("host"), eb.get("cpu")) if eb.get("host") != "unknown" else cb.get("host_name")
    if host_a != host_b:
        warn.append(f"WARNING: different hosts ({host_a} vs {host_b}): compare with care")
    if ea.get("accel") != eb.get("accel"):
        warn.append(f"WARNING: different accelerators ({ea.get('accel')} vs {eb.get('accel')}): "
                    "times are not comparable")
    if ("qemu" in ea and "qemu" in eb and ea.get("mode") == eb.get("mode") == "wallclock"
            and (ea.get("run"), ea.get("variant"), ea.get("boot")) != (eb.get("run"), eb.get("variant"), eb.get("boot"))):
        warn.append("WARNING: wall-clock figures from two VM boots: the repetitions share their boot, so a "
                    "significant change may be the boot's, not the kernel's (compare deterministic sets)")
    pr_a, pr_b = base_release(ea.get("base")), base_release(eb.get("base"))
    if pr_a and pr_b and pr_a[0] == pr_b[0] and pr_a[1] != pr_b[1]:
        # the same series from two point releases (a pinned base gone from
        # the archive, the newest of its series used): two kernels, never an A/A
        warn.append(f"WARNING: two point releases of {pr_a[0]} ({pr_a[1]} vs {pr_b[1]}): two kernels, "
                    "not an A/A; a difference may be the release's")
    if ea.get("mode") != eb.get("mode") and "?" not in (ea.get("mode"), eb.get("mode")):
        warn.append(f"WARNING: {ea.get('mode')} vs {eb.get('mode')} figures")
    return lines, warn
