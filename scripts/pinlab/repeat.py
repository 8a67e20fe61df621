"""Do several boots of one kernel give the same figures?  For every set
that has boots 2, 3 ... beside boot 1 (same base, variant, mode, placement),
each repetition's kernel-side figures are compared: identical, or how far
apart."""
from . import store

FIGURES = ("ns_per_page", "ns_per_page_put", "real_time")


def figures(path):
    _, reps, _ = store.load_gbench(path)
    return {(name, b.get("repetition_index", 0)): tuple(b.get(k) for k in FIGURES)
            for name, bs in reps.items() for b in bs}


def check(run):
    """(ok, lines); ok is None when no set has a second boot."""
    groups = {}
    for s in run.sets(kind="pinbench"):
        groups.setdefault((s["base"], s["variant"], s["mode"], s["placement"]), {})[s["boot"]] = s
    lines, ok, worst_all, compared = [], True, 0.0, 0
    for key, boots in sorted(groups.items()):
        if 1 not in boots or len(boots) < 2:
            continue
        a = figures(run.set_path(boots[1]))
        for n, s in sorted(boots.items()):
            if n == 1:
                continue
            b = figures(run.set_path(s))
            common = sorted(set(a) & set(b))
            same = sum(a[k] == b[k] for k in common)
            worst = max([abs(x - y) / x * 100 for k in common for x, y in zip(a[k], b[k]) if x and y and x != y],
                        default=0.0)
            worst_all = max(worst_all, worst)
            ok &= same == len(common) and len(common) > 0
            compared += 1
            lines.append(f"{boots[1]['id']}: boot {n} vs boot 1: {same} of {len(common)} samples identical"
                         f" (largest difference {worst:.3f} %)")
    if not compared:
        return None, ["repeatable: nothing to compare (no set with a second boot)"]
    lines.append("repeatable: yes, bit-identical" if ok else f"repeatable: no (largest difference {worst_all:.3f} %)")
    return ok, lines


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def across(run_a, run_b):
    """Do two runs of the same kernels and seeds (one made by the local
    engine, one on LAVA, say) give the same deterministic figures?  Sets
    are paired by base, variant, placement and boot; (ok, lines)."""
    def key(s):
        return (s["base"], s["variant"], s["placement"], s["boot"])
    a = {key(s): s for s in run_a.sets(kind="pinbench") if s["mode"] == "deterministic"}
    b = {key(s): s for s in run_b.sets(kind="pinbench") if s["mode"] == "deterministic"}
    lines, ok, total, same_all = [], True, 0, 0
    for k in sorted(set(a) & set(b)):
        fa, fb = figures(run_a.set_path(a[k])), figures(run_b.set_path(b[k]))
        common = sorted(set(fa) & set(fb))
        same = sum(fa[c] == fb[c] for c in common)
        worst = max([abs(x - y) / x * 100 for c in common for x, y in zip(fa[c], fb[c]) if x and y and x != y],
                    default=0.0)
        ok &= same == len(common) and len(common) > 0 and set(fa) == set(fb)
        total += len(common)
        same_all += same
        ba, bb = run_a.boot(a[k].get("boot_id")) or {}, run_b.boot(b[k].get("boot_id")) or {}
        def where(r):
            e = r.get("engine") or {}
            if "queued_s" in e:   # LAVA: the boot's seconds run from its submission
                return f"{e['name']}: {e['queued_s']} s waiting for a device, {e['running_s']} s running"
            return e.get("name", "local")
        lines.append(f"{a[k]['id']}: {run_a.id} vs {run_b.id}: {same} of {len(common)} samples identical"
                     + (f" (largest difference {worst:.3f} %)" if same != len(common) else "")
                     + (f"; boot {ba['seconds']} s ({where(ba)}) against {bb['seconds']} s ({where(bb)})"
                        if "seconds" in ba and "seconds" in bb else "")
                     + ("" if set(fa) == set(fb) else f"; {len(set(fa) ^ set(fb))} samples in one run only"))
    only = sorted(set(a) ^ set(b))
    if only:
        ok = False
        lines.append(f"sets in one run only: {len(only)} ({', '.join('/'.join(map(str, k)) for k in only[:4])})")
    if not set(a) & set(b):
        return False, lines + [f"identical: no deterministic set in common between {run_a.id} and {run_b.id}"]
    for r in (run_a, run_b):   # how long each run took against its boots (fan-out)
        bs = [x for x in r.index.get("boots", []) if "seconds" in x]
        tot = r.index.get("manifest", {}).get("total")
        devs = sorted({(x.get("engine") or {}).get("device") or "" for x in bs} - {""})
        if bs and tot:
            lo, hi = min(x["seconds"] for x in bs), max(x["seconds"] for x in bs)
            lines.append(f"{r.id}: {plural(len(bs), 'boot')} of {lo if lo == hi else f'{lo}-{hi}'} s"
                         + (f" (sum {sum(x['seconds'] for x in bs)} s)" if len(bs) > 1 else "")
                         + f" in a run of {tot} in all"
                         + (f", on {plural(len(devs), 'LAVA device')}" if devs else ", on this host"))
    lines.append(f"identical: {'yes' if ok else 'no'}, {same_all} of {total} samples in "
                 f"{plural(len(set(a) & set(b)), 'set')} bit-identical")
    return ok, lines
