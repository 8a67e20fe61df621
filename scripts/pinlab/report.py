"""A patch-review report for one run: report.md, report.txt (80 columns,
for a mail), compare-SET.txt and plots/*.svg.  Sentences that say what the
numbers mean are generated from the statistics, and only where they are
significant; a one-variant run gets its figures, its semantics and its
skips grouped by reason."""
import glob
import json
import os
import re
import statistics

from . import PinlabError, collect, compare, env, metrics, plots, store, variants
from .names import parse_name, short


def where(params, pages_total):
    bits = [f"{k} {params[k]}" for k in ("bs", "rw", "node") if k in params]
    ppc = params.get("ppc")
    if ppc is not None:
        bits.append(f"{'all ' + str(pages_total) if ppc == 0 else ppc} page{'s' if ppc != 1 else ''} per call")
    if "vmas" in params:
        bits.append(f"{params['vmas']} VMA{'s' if params['vmas'] != 1 else ''}")
    return ", ".join(bits)


def counts(rows):
    sig = [r for r in rows if r["significant"]]
    return sig, sum(r["verdict"] == "worse" for r in sig), sum(r["verdict"] == "better" for r in sig)


def sentences(variant, res, unit):
    """What the comparison supports, in a few generated sentences."""
    rows = res["rows"]
    sig, worse, better = counts(rows)
    untestable = [r for r in rows if not r.get("testable", True)]
    if not sig and len(untestable) == len(rows):
        r = rows[0]
        if res.get("by_boot"):
            big = sorted(rows, key=lambda x: -abs(x["change_pct"]))[:3]
            need = compare.boots_needed(res["alpha"], len(rows))
            return [f"**{variant}**: not enough boots to judge: {res['boots_a']} vs {res['boots_b']} wall-clock "
                    f"boots, where the exact Mann-Whitney test needs {compare.boots_needed(res['alpha'])} a side to "
                    f"reach p < {res['alpha']} at all and {need} for a lone change among {len(rows)} benchmarks "
                    f"(run --boots {need}); its largest changes, unjudged: "
                    + "; ".join(f"{compare.short(x['name'])} {x['change_pct']:+.1f} %" for x in big) + "."]
        return [f"**{variant}**: not testable: {r['n_a']} vs {r['n_b']} repetitions cannot reach p < {res['alpha']} "
                f"(the smallest Mann-Whitney p is {r['min_p']:.3f}); run more repetitions."]
    out = untested_sentences(variant, rows, untestable, res)
    if out:
        return out
    ea, eb = res.get("env_a", {}), res.get("env_b", {})
    if res.get("by_boot"):
        aa = statistics.median(r["aa_pct"] for r in rows)
        head = (f"**{variant}**: over {res['boots_a']} vs {res['boots_b']} boots (perturbed layouts), each benchmark "
                f"against its own A/A spread (median spread {aa:.2f} %, floor {res['floor']} %): ")
        if not sig:
            return [head + f"no benchmark of {len(rows)} differs from {res['label_a']} beyond it."]
        return [head + f"{len(sig)} of {len(rows)} benchmarks differ from {res['label_a']} ({worse} worse, "
                       f"{better} better), their boot ranges disjoint."] + \
            by_path_sentences(rows, sig, unit, "no difference beyond the A/A spread")
    if "qemu" in ea and "qemu" in eb and ea.get("mode") == eb.get("mode") == "wallclock":
        lo, hi = min(r["change_pct"] for r in rows), max(r["change_pct"] for r in rows)
        return [f"**{variant}**: not shown by these figures. Wall-clock, one VM boot per side: the repetitions "
                f"share their boot, so the test compares two boots, not two kernels. {len(sig)} of {len(rows)} "
                f"benchmarks pass it ({worse} worse, {better} better), changes from {lo:+.1f} % to {hi:+.1f} % "
                f"across all paths. Compare deterministic runs, or boots as the unit."]
    if not sig:
        return [f"**{variant}**: no significant difference from {res['label_a']} in any of {len(rows)} "
                f"benchmarks (alpha {res['alpha']}, floor {res['floor']} %)."]
    exact = sum(r["exact"] for r in sig)
    how = ("exactly (constant repetitions on both sides, no test)" if exact == len(sig) else
           f"by test (q < {res['alpha']})" if not exact else
           f"{exact} exactly (constant repetitions, no test) and {len(sig) - exact} by test (q < {res['alpha']})")
    return [f"**{variant}**: {len(sig)} of {len(rows)} benchmarks differ from {res['label_a']} beyond the "
            f"{res['floor']} % floor ({worse} worse, {better} better), {how}."] + \
        by_path_sentences(rows, sig, unit, "no significant difference")


def untested_sentences(variant, rows, untestable, res):
    """One boot a side whose repetitions are not all constant: the rows a
    test cannot judge are said, with their largest changes, instead of
    counting them as 'no difference'.  [] when every row could be judged."""
    if not untestable or res.get("by_boot"):
        return []
    sig, worse, better = counts(rows)
    r = untestable[0]
    big = sorted(untestable, key=lambda x: -abs(x["change_pct"]))[:3]
    return [f"**{variant}**: {len(rows) - len(untestable)} of {len(rows)} benchmarks could be judged, {len(sig)} "
            f"of them differ from {res['label_a']} beyond the {res['floor']} % floor ({worse} worse, {better} "
            f"better). The other {len(untestable)} cannot be: one boot a side with {r['n_a']} vs {r['n_b']} "
            f"repetitions that are not constant, where the smallest Mann-Whitney p is {r['min_p']:.2f}; their "
            f"largest changes, unjudged: " + "; ".join(f"{compare.short(x['name'])} {x['change_pct']:+.1f} %"
                                                       for x in big)
            + ". Run --boots 2 or more: boots are the samples."]


def by_path_sentences(rows, sig, unit, quiet_text):
    """A sentence per path with flagged changes, largest first, then the quiet paths."""
    by_path, out = {}, []
    for r in sig:
        by_path.setdefault(parse_name(r["name"])[0], []).append(r)
    for path, rs in sorted(by_path.items(), key=lambda kv: -max(abs(r["change_pct"]) for r in kv[1])):
        out.append(path_sentence(path, rs, unit))
    quiet = sorted({parse_name(r["name"])[0] for r in rows} - set(by_path))
    if quiet:
        out.append(f"- {quiet_text} on {', '.join(quiet)}.")
    return out


def path_sentence(path, rs, unit):
    big = max(rs, key=lambda r: abs(r["change_pct"]))
    _, backing, params = parse_name(big["name"])
    pages = params.get("size_kb", 0) // 4
    med = statistics.median(r["change_pct"] for r in rs)
    way = ("worse" if all(r["verdict"] == "worse" for r in rs) else
           "better" if all(r["verdict"] == "better" for r in rs) else "changed")
    return (f"- {path}: {len(rs)} benchmark{'s' if len(rs) > 1 else ''} {way} "
            f"(median change {med:+.1f} %); largest {big['change_pct']:+.1f} % on {backing} at "
            f"{where(params, pages)} ({big['median_a']:.4g} -> {big['median_b']:.4g} {unit}, {stat_text(big)}).")


def stat_text(r):
    """What backs a row: boots against their A/A spread, exact (constant
    repetitions), or its CI, p and q."""
    if r.get("boots"):
        return (f"boots {r['min_a']:.4g}-{r['max_a']:.4g} vs {r['min_b']:.4g}-{r['max_b']:.4g}, A/A spread "
                f"{r['aa_pct']:.2f} %, noise threshold {r['noise_pct']:.2f} %"
                + (f", q = {r['q']:.3g}" if r["q"] is not None else ""))
    if r["exact"]:
        return "exact: constant repetitions, no test"
    return f"95 % CI {r['ci_lo']:+.1f}..{r['ci_hi']:+.1f} %, {compare.p_text(r['p'], r['q'])}"


# ---- what a run holds ---------------------------------------------------

def pick_sets(run, mode_arg):
    """(mode, {variant: SetRef} of pinbench sets, {variant: SetRef} of fio sets, modes)."""
    main = run.sets(placement="default", boot=1)
    ref = {id(s): env.SetRef(run.set_path(s), run, s) for s in main}
    pin = [s for s in main if s["kind"] == "pinbench"]
    fio = {s["variant"] if run.index["kind"] == "lab" else s["series"]: ref[id(s)]
           for s in main if s["kind"] == "fio"}
    if not pin and not fio:
        raise PinlabError(f"{run.path}: no Google Benchmark result sets in its index")
    modes = sorted({s["mode"] for s in pin})
    mode = mode_arg or ("deterministic" if "deterministic" in modes else "wallclock")
    key = (lambda s: s["variant"]) if run.index["kind"] == "lab" else (lambda s: s["series"])
    sets = {key(s): env.with_boots(ref[id(s)]) for s in pin if s["mode"] == mode}
    if pin and not sets:
        raise PinlabError(f"{run.path}: no {mode} result sets (have: {', '.join(modes)})")
    return mode, sets, fio, modes


def setup_lines(run, mode, unit, metric, modes, base, sets, fio):
    man = run.manifest()
    md = ["", "## Setup", ""]
    for k, label in (("command", "command"), ("base", "base kernel"), ("kernel", "kernel"), ("host", "machine"),
                     ("engine", "boots ran on"), ("cpu", "CPU"), ("qemu", "QEMU"), ("wallclock accel", "wall-clock accel"),
                     ("deterministic", "deterministic mode"), ("mode", "mode"), ("guest", "guest, pmem, NUMA"),
                     ("matrix", "matrix"), ("pinlab", "pinlab revision")):
        if k in man:
            md.append(f"- {label}: {man[k]}")
    if sets:
        m = metrics.get(metric)
        md.append(f"- figures in this report: {mode} ({unit}); metric `{metric}` ({m.direction} is better)")
    if mode == "wallclock" and "deterministic" in modes:
        md.append("- this run also has deterministic sets: `--mode deterministic` compares those")
    first = (sets or fio).get(base) or next(iter((sets or fio).values()))
    numa = run.boot_file(first.rec, "numa.txt") if first.rec else None
    if numa and os.path.exists(numa):
        with open(numa) as f:
            lines = [x.strip() for x in f.read().split("node distances")[0].splitlines()
                     if x.strip() and " free:" not in x]
        md.append("- NUMA: " + "; ".join(lines))
    variants = sorted(set(sets) | (set(fio) if run.index["kind"] == "lab" else set()), key=lambda x: (x != base, x))
    confs = {v: store.read_kv(run.kernel_file(v, "kernel") or "") for v in variants}
    if any(confs.values()):
        md += ["", "| variant | reproduces | what it changes |", "|---|---|---|"]
        md += [f"| {v} | {confs[v].get('reproduces', '-')} | {confs[v].get('description', '-')} |"
               for v in variants]
    return md


def comparison_lines(run, v, base, res, unit, tag=""):
    md = sentences(v, res, unit)
    md += ["", f"Every benchmark: [compare-{v}{tag}.txt](compare-{v}{tag}.txt). Significant changes, largest first:",
           ""]
    sig = sorted((r for r in res["rows"] if r["significant"]), key=lambda r: -abs(r["change_pct"]))
    if sig and res.get("by_boot"):
        md += [f"| benchmark | {base} | {v} | change | boots {base} | boots {v} | A/A spread |",
               "|---|---|---|---|---|---|---|"]
        for r in sig[:15]:
            md.append(f"| {compare.short(r['name'])} | {r['median_a']:.1f} | {r['median_b']:.1f} | "
                      f"{r['change_pct']:+.2f} % | {r['min_a']:.1f}-{r['max_a']:.1f} | {r['min_b']:.1f}-"
                      f"{r['max_b']:.1f} | {r['aa_pct']:.2f} % |")
    elif sig:
        md += [f"| benchmark | {base} | {v} | change | 95 % CI | p, q (BH) |", "|---|---|---|---|---|---|"]
        for r in sig[:15]:
            ci = "exact" if r["exact"] else f"{r['ci_lo']:+.1f}..{r['ci_hi']:+.1f} %"
            md.append(f"| {compare.short(r['name'])} | {r['median_a']:.1f} | {r['median_b']:.1f} | "
                      f"{r['change_pct']:+.1f} % | {ci} | {compare.p_text(r['p'], r['q'])} |")
        if len(sig) > 15:
            md.append(f"| ... {len(sig) - 15} more in compare-{v}{tag}.txt | | | | | |")
    else:
        md.append("(none)")
    md += [f"\n> {w}" for w in res["warnings"]] + [""]
    with open(os.path.join(run.path, f"compare-{v}{tag}.txt"), "w") as f:
        f.write(compare.format_text(res) + "\n")
    return md


def figures_lines(ref, metric, unit):
    """One set's medians: path x backing per pages per call, one VMA."""
    _, reps, _ = store.load_gbench(ref.path, env.mode_of(ref))
    cells, backings, paths = {}, [], []
    for name, bs in reps.items():
        path, backing, p = parse_name(name)
        vals = [b[metric] for b in bs if metric in b]
        if not vals or p.get("vmas", 1) != 1 or p.get("write", 1) != 1 or "ppc" not in p:
            continue
        backings += [backing] if backing not in backings else []
        paths += [path] if path not in paths else []
        cells[(p["ppc"], path, backing)] = statistics.median(vals)
    if not cells:
        return []
    md = ["", f"## Figures: {ref.label}", "",
          f"Median {unit} over the repetitions; one VMA, write:1; '-' did not run (see the skips)."]
    for ppc in sorted({k[0] for k in cells}, key=lambda x: (x == 0, x)):
        md += ["", f"{'all' if ppc == 0 else ppc} pages per call:", "",
               "| path | " + " | ".join(backings) + " |", "|---|" + "---|" * len(backings)]
        for path in paths:
            md.append(f"| {path} | " + " | ".join(
                f"{cells[(ppc, path, b)]:.1f}" if (ppc, path, b) in cells else "-" for b in backings) + " |")
    return md


def placement_sets(run, mode):
    """{placement: {variant: SetRef with its boots}} of the pinbench sets
    other than the default one (VMA sweep, node-1 placement)."""
    out = {}
    for s in run.sets(kind="pinbench", mode=mode, boot=1):
        if s["placement"] != "default":
            out.setdefault(s["placement"], {})[s["variant"]] = env.with_boots(env.SetRef(run.set_path(s), run, s))
    return out


def aa_floor(ref, metric, more=()):
    """{PATH/BACKING: (max, median) A/A spread in %} over the boots of one
    series (the same kernel, perturbed layouts), its default set and the
    other sets of the same kernel (more: percall, vmas, ...); {} with a
    single boot."""
    if not ref.boots:
        return {}
    return group_spreads([r.boots for r in [ref, *[m for m in more if m.boots]]], metric)


def group_spreads(boot_lists, metric):
    """{PATH/BACKING: (max, median) spread in %}: for each list of boots
    (SetRefs of one set, pooled however the caller chose), each benchmark's
    spread over their per-boot figures, grouped by path x backing."""
    groups = {}
    for boots in boot_lists:
        per = compare.per_boot_medians([store.load_gbench(b.path, env.mode_of(b))[1] for b in boots], metric)
        for name, v in per.items():
            groups.setdefault("/".join(name.split("/")[:2]), []).append(compare.spread(v))
    return {g: (max(v), statistics.median(v)) for g, v in sorted(groups.items())}


def floor_lines(run, ref, base, metric, mode, more=()):
    """The A/A floor section, and aa-floor-MODE.json beside the report."""
    fl = aa_floor(ref, metric, more)
    if not fl:
        return []
    seeds = [(run.boot(b.rec.get("boot_id")) or {}).get("seed", 0) for b in ref.boots]
    if len(set(seeds)) < len(seeds) or not all(seeds):
        worst = max(m for m, _ in fl.values())
        return ["", f"## Repeatability: {base} over {len(ref.boots)} boots of one layout ({mode})", "",
                f"These boots were not perturbed (seeds {seeds}): their largest spread, {worst:.2f} %, is the "
                "repeatability of one image, not an A/A floor of the kernel."]
    with open(os.path.join(run.path, f"aa-floor-{mode}.json"), "w") as f:
        json.dump(dict(variant=base, mode=mode, metric=metric, boots=len(ref.boots),
                       seeds=seeds,
                       floor={g: dict(max_pct=round(m, 3), median_pct=round(md, 3)) for g, (m, md) in fl.items()}),
                  f, indent=1)
    worst = max(fl.items(), key=lambda kv: kv[1][0])
    within = sum(1 for m, _ in fl.values() if m <= 0.5)
    md = ["", f"## A/A floor: {base} over {len(ref.boots)} boots ({mode})", "",
          f"The same kernel, each boot a perturbed layout (its seed: initramfs pad, benchmark order, buffer "
          f"addresses): the spread (max - min) / median of each benchmark's per-boot figures over every set of "
          f"this kernel ({len(more) + 1}), by path x backing "
          f"(the largest and the median over its benchmarks). {within} of {len(fl)} groups are within 0.5 %; the "
          f"widest is {worst[0]} at {worst[1][0]:.2f} %. File: [aa-floor-{mode}.json](aa-floor-{mode}.json).", "",
          "| path / backing | max spread | median spread |", "|---|---|---|"]
    md += [f"| {g} | {m:.2f} % | {md_:.2f} % |" for g, (m, md_) in fl.items()]
    return md


def build_aa_lines(run, sets, metric, mode, alpha, floor, psets=None):
    """The build A/A (scripts/lab aa BASE): baseline@BASE against aa-build@BASE,
    judged against layout noise only, and aa-build-floor-MODE.json beside the
    report: per path x backing, the spread of both builds' boots pooled."""
    pairs = [(variants.reference(v), v) for v in sets if variants.split(v)[0] == "aa-build"]
    pairs = [(b, v) for b, v in pairs if b in sets and sets[b].boots and sets[v].boots]
    if not pairs:
        return []
    psets = psets or {}
    md = []
    for b, v in pairs:
        res = compare.result(sets[b], sets[v], metric, alpha, floor)
        # every set of the two kernels, judged against layout noise only
        flagged, total = [], 0
        for rb, rv in [(sets[b], sets[v])] + [(ps[b], ps[v]) for ps in psets.values() if b in ps and v in ps]:
            rr = res if rb is sets[b] else compare.result(rb, rv, metric, alpha, floor)
            flagged += [r for r in rr["rows"] if r["significant"]]
            total += len(rr["rows"])
        # every set of the two kernels: the default one and the placements
        pairs_all = [(sets[b], sets[v])] + [(ps[b], ps[v]) for ps in psets.values()
                                            if b in ps and v in ps and ps[b].boots and ps[v].boots]
        fl = group_spreads([rb.boots + rv.boots for rb, rv in pairs_all], metric)
        layout = aa_floor(sets[b], metric, [ps[b] for ps in psets.values() if b in ps])
        with open(os.path.join(run.path, f"aa-build-floor-{mode}.json"), "w") as f:
            json.dump(dict(variant=b, kind="build", rebuilt=v, mode=mode, metric=metric,
                           boots=[len(sets[b].boots), len(sets[v].boots)],
                           floor={g: dict(max_pct=round(m, 3), median_pct=round(md_, 3)) for g, (m, md_) in fl.items()}),
                      f, indent=1)
        wider = [g for g, (m, _) in fl.items() if m > max(layout.get(g, (0, 0))[0], res["floor"])]
        worst = max(fl.items(), key=lambda kv: kv[1][0])
        md += ["", f"## Build A/A: {b} rebuilt as {v} ({mode})", "",
               f"{v} is {b} with a padding object linked before mm/ (code and data move, no instruction changes). "
               f"Judged as any variant is, against layout noise only (this run's boot spreads, the {res['floor']} % "
               f"floor, the committed layout A/A floors; not this run's own build floor), over every set: "
               f"{len(flagged)} of {total} benchmarks flagged"
               + (": " + ", ".join(f"{short(r['name'])} {r['change_pct']:+.2f} %" for r in flagged[:8])
                  + (" ..." if len(flagged) > 8 else "") if flagged else "") + "."
               + (" A rebuild alone moves these beyond layout noise: the build floor below covers them."
                  if flagged else ""),
               "",
               f"The build floor, per path x backing the spread (max - min) / median of both builds' "
               f"{len(sets[b].boots)} + {len(sets[v].boots)} boots pooled over every set ({len(pairs_all)}), is "
               f"[aa-build-floor-{mode}.json](aa-build-floor-{mode}.json); committed, every comparison of this "
               f"base applies it. {len(wider)} of {len(fl)} groups are wider than this run's layout A/A and the "
               f"floor; the widest is {worst[0]} at {worst[1][0]:.2f} %.", "",
               "| path / backing | build floor (max) | median | layout A/A (max) |", "|---|---|---|---|"]
        md += [f"| {g} | {m:.2f} % | {md_:.2f} % | {layout.get(g, (0, 0))[0]:.2f} % |" for g, (m, md_) in fl.items()]
    return md


def largest_lines(by_set, n=5):
    """Per variant, its largest flagged changes over every set and backing
    (by |change|), each per page and, where the row has a pages-per-call
    count, per call."""
    out = []
    names = sorted({v for results in by_set.values() for v in results})
    for v in names:
        rows = [(tag, results[v]["unit"], r) for tag, results in by_set.items() if v in results
                for r in results[v]["rows"] if r["significant"]]
        if not rows:
            continue
        rows.sort(key=lambda t: -abs(t[2]["change_pct"]))
        items = []
        for tag, unit, r in rows[:n]:
            m = re.search(r"/ppc:(\d+)/", r["name"])
            ppc = int(m[1]) if m and int(m[1]) > 0 else None
            per_call = (f" ({r['median_a'] * ppc:.0f} -> {r['median_b'] * ppc:.0f} per call of {ppc})"
                        if ppc and ppc > 1 else "")
            items.append(f"{short(r['name'])} [{tag}] {r['median_a']:.1f} -> {r['median_b']:.1f} {unit}"
                         f"{per_call}, {r['change_pct']:+.1f} %")
        out.append(f"- {v}: largest of {len(rows)} flagged: " + "; ".join(items) + ".")
    return ["", "## Largest flagged changes", "", "Every set and backing, by |change|; per page, and per call "
            "where a call pins more than one page."] + [""] + out if out else []


def control_check(v, by_set):
    """A control's verdict over every set it was compared in: (regex,
    expectation, expected rows flagged, expected rows, other rows flagged
    [names], met) or None for a variant that is not a control."""
    try:
        c = variants.conf(v).get("control")
    except PinlabError:
        return None
    if not c:
        return None
    rx = re.compile(c[0])
    exp = hit = 0
    others = []
    for tag, results in by_set.items():
        res = results.get(v)
        for r in (res["rows"] if res else []):
            if rx.search(short(r["name"])) and c[0] != "^$":
                exp += 1
                hit += bool(r["significant"])
            elif r["significant"]:
                others.append(f"{short(r['name'])} ({tag}) {r['change_pct']:+.2f} %")
    return c[0], c[1], hit, exp, others, hit == exp and not others


def control_lines(by_set):
    """Each control's verdict: met, or MISSED with what it missed."""
    names = sorted({v for results in by_set.values() for v in results})
    out = []
    for v in names:
        ck = control_check(v, by_set)
        if not ck:
            continue
        rx, why, hit, exp, others, met = ck
        what = "negative" if rx == "^$" else "positive"
        out.append(f"- **{v}**, a {what} control ({why}): **{'met' if met else 'MISSED'}**: "
                   + (f"{hit} of {exp} expected benchmarks flagged, " if exp else "")
                   + f"{len(others)} others flagged" + (": " + "; ".join(others[:6]) + (" ..." if len(others) > 6
                                                                                         else "") if others else "")
                   + ".")
    return ["", "## Controls", "", "A control declares what must be flagged (variant.conf CONTROL); "
            "every set it was compared in counts."] + [""] + out if out else []


def cv_lines(sets, metric):
    """Each set's coefficient of variation over its repetitions (stdev /
    mean of the metric, per benchmark): median, 90th percentile, largest,
    and how many benchmarks are within 1 %. Where pinbench counted the
    interrupts of each pass (its irqs counter), also how many repetitions
    took one and how many boot figures (their least repetition) did."""
    rows, irq_seen = [], False
    for label, ref in sorted(sets.items()):
        cvs, reps, hit, figs, fig_hit = [], 0, 0, 0, 0
        for b in (ref.boots or [ref]):
            for name, bs in store.load_gbench(b.path, env.mode_of(b))[1].items():
                vals = [x[metric] for x in bs if metric in x]
                if len(vals) > 1 and statistics.mean(vals):
                    cvs.append(statistics.stdev(vals) / statistics.mean(vals) * 100)
                withirq = [x for x in bs if metric in x and "irqs" in x]
                if withirq:
                    reps += len(withirq)
                    hit += sum(x["irqs"] > 0 for x in withirq)
                    figs += 1
                    fig_hit += min(withirq, key=lambda x: x[metric])["irqs"] > 0
        if cvs:
            cvs.sort()
            irq = f" {hit} of {reps} | {fig_hit} of {figs} |" if reps else " - | - |"
            irq_seen = irq_seen or bool(reps)
            rows.append(f"| {label} | {len(cvs)} | {statistics.median(cvs):.2f} % | "
                        f"{cvs[int(0.9 * (len(cvs) - 1))]:.2f} % | {cvs[-1]:.2f} % | "
                        f"{sum(c <= 1 for c in cvs)} |" + irq)
    if not rows:
        return []
    head = "| set | benchmarks x boots | median CV | 90th percentile | largest | within 1 % |"
    rule = "|---|---|---|---|---|---|"
    text = f"Coefficient of variation of `{metric}` over each benchmark's repetitions, per boot."
    if irq_seen:
        head += " repetitions that took an interrupt | boot figures that did |"
        rule += "---|---|"
        text += (" pinbench counts the interrupts of each timed pass (/proc/stat `intr`, read around it, "
                 "untimed); under -icount an interrupt only adds instructions to the pass it lands in, "
                 "which is why a deterministic boot's figure is its least repetition.")
    else:
        rows = [r.rsplit(" - | - |", 1)[0] for r in rows]
    return ["", "## Spread within a boot", "", text, "", head, rule] + rows


def calibration_lines(run, mode):
    """Each variant's calibration against the selftest (its first boot's
    table, and the range of the ratios over all its boots)."""
    from . import calibration
    tabs, ratios = {}, {}
    for b in run.index["boots"]:
        if b["mode"] != mode or "calibration.json" not in b["files"]:
            continue
        path = os.path.join(run.path, b["files"]["calibration.json"])
        ratios.setdefault(b["variant"], []).extend((r["ratio"], r.get("judged", True))
                                                   for r in store.load_json(path)["rows"])
        if b["boot"] == 1:
            tabs[b["variant"]] = calibration.table(path)
    if not tabs:
        return []
    md = ["", f"## Calibration against the kernel's own gup_test ({mode})", "",
          "The base's `tools/testing/selftests/vm/gup_test` (unmodified, static) ran in every boot on the cases "
          "pinbench's gup_test probes run too (`scripts/guest/calibrate.sh`); ratio = pinbench / selftest, per "
          "page. A ratio outside 0.9-1.1 fails the boot."]
    for v in sorted(tabs, key=lambda x: (x != "baseline", x)):
        judged = [r for r, j in ratios[v] if j]
        md += ["", f"{v}: {len(judged)} judged ratios over its boots"
                   + (f", {min(judged):.3f} to {max(judged):.3f}" if judged else "")
                   + f" ({len(ratios[v]) - len(judged)} reported, not judged); its first boot:", ""]
        md += tabs[v]
    return md


def skips_lines(refs):
    """Every set's skipped and refused cases, grouped by reason."""
    by = {}
    for ref in refs:
        _, _, entries = store.load_gbench(ref.path, env.mode_of(ref))
        for b in entries:
            if b.get("error_occurred") and b.get("run_type", "iteration") == "iteration":
                by.setdefault(b.get("error_message", ""), {}).setdefault(b.get("run_name", b["name"]), set()).add(
                    ref.label)
    if not by:
        return []
    md = ["", "## Skipped and refused cases, by reason", "",
          "| benchmarks | in sets | reason | example |", "|---|---|---|---|"]
    for msg, cases in sorted(by.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        name = sorted(cases)[0]
        labels = sorted({x for v in cases.values() for x in v})
        md.append(f"| {len(cases)} | {len(labels)} | {msg.replace('|', '/')} | `{compare.short(name)}` |")
    return md


def semantics_lines(run):
    """Each boot's TAP files: passed, failed, skipped."""
    rows = []
    for b in run.index["boots"]:
        for role, rel in sorted(b["files"].items()):
            if not role.endswith(".tap") and not role.startswith("semantics"):
                continue
            with open(os.path.join(run.path, rel)) as f:
                text = f.read()
            last = [x for x in text.splitlines() if x.startswith("semantics: ")]
            if role.startswith("peer-"):
                # a kselftest TAP (gup_longterm): its own counts, or its one SKIP line
                cases = collect.peer_cases(text)
                skip = re.search(r"^1\.\.0 # SKIP (.*)$", text, re.M)
                n = {o: sum(1 for _, x, _ in cases if x == o) for o in ("ok", "not ok", "skip")}
                out = (f"{n['ok']} passed, {n['not ok']} failed, {n['skip']} skipped" if cases
                       else f"SKIP: {skip[1]}" if skip else "no summary")
            else:
                out = last[-1][11:] if last else "no summary"
            rows.append(f"| {b['id']} | {role.removesuffix('.tap')} | {out} |")
    if not rows:
        return []
    return ["", "## Semantics", "",
            "Each boot's pin-outcome tables (pinsem, TAP); `semantics-cross` is baseline's table on a "
            "variant, expected to fail where the variant differs.", "",
            "| boot | table | outcome |", "|---|---|---|"] + rows + semantics_differences(run)


def tap_outcomes(path):
    """{(case, n-th time it appears): what the kernel did} from a pinsem TAP
    file: the expected outcome of a passing row, what it got of a failing
    one, SKIP of a skipped one."""
    out, seen = {}, {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^(not ok|ok) \d+ - (.+?) -> (\S+?)(?:: got (\S+?):?(?: .*)?)?( # SKIP.*)?$", line.rstrip())
            if not m:
                continue
            case = m[2]
            seen[case] = seen.get(case, 0) + 1
            got = "SKIP" if m[5] else (m[3] if m[1] == "ok" else (m[4] or "?"))
            out[(case, seen[case])] = got
    return out


def semantics_differences(run):
    """The cases whose outcome differs between the run's kernels (each
    variant's first boot's own table, ext4-DAX), as measured."""
    per = {}
    for b in sorted(run.index["boots"], key=lambda b: (b["boot"], b["mode"] != "deterministic")):
        rel = b["files"].get("semantics.tap")
        if rel and b["variant"] not in per:
            per[b["variant"]] = tap_outcomes(os.path.join(run.path, rel))
    if len(per) < 2:
        return []
    vs = [v for v in run.index.get("variants", []) if v in per] or sorted(per)
    keys = []
    for v in vs:
        keys += [k for k in per[v] if k not in keys]
    # a skipped case is no outcome: it differs from nothing
    diff = [k for k in keys if len({per[v].get(k, "-") for v in vs} - {"SKIP"}) > 1]
    skipped = [k for k in keys if k not in diff and "SKIP" in {per[v].get(k, "-") for v in vs}
               and len({per[v].get(k, "-") for v in vs}) > 1]
    note = ([f"Skipped on some kernel, so not compared (not a difference): "
             + "; ".join(f"{k[0]} ({', '.join(v for v in vs if per[v].get(k) == 'SKIP')})" for k in skipped) + "."]
            if skipped else [])
    if not diff:
        return ["", "Every case measured on more than one kernel had the same outcome on each."] + \
            (["", *note] if note else [])
    return ["", "Where the kernels differ (each variant's own table, as the kernel answered; '-': not in its "
            "table; a case listed twice is the same case at another size, e.g. the 2 GiB + 4K row):", "",
            "| case | " + " | ".join(vs) + " |", "|---|" + "---|" * len(vs)] + \
        [f"| {k[0]}{' (' + str(k[1]) + ')' if k[1] > 1 else ''} | " + " | ".join(per[v].get(k, "-") for v in vs) + " |"
         for k in diff] + (["", *note] if note else [])


# the cases the peer suite (gup_longterm) and pinsem both test: its "[RUN]"
# text -> pinsem's case (probe, backing, write).  memfd is shmem MAP_SHARED
# as pinsem's shmem is; its local tmpfile sits on the page-cache disk (the
# guest runs it from there) as pinsem's pagecache does
PEER_MAP = [
    ("R/W longterm GUP pin in MAP_SHARED file mapping ... with memfd", "gup_test.pin_longterm shmem write:1"),
    ("R/W longterm GUP pin in MAP_SHARED file mapping ... with local tmpfile", "gup_test.pin_longterm pagecache write:1"),
    ("R/W longterm GUP-fast pin in MAP_SHARED file mapping ... with local tmpfile",
     "gup_test.pin_fast_longterm pagecache write:1"),
    ("R/O longterm GUP pin in MAP_SHARED file mapping ... with local tmpfile", "gup_test.pin_longterm pagecache write:0"),
    ("io_uring fixed buffer with MAP_SHARED file mapping ... with memfd", "iouring_register shmem write:1"),
    ("io_uring fixed buffer with MAP_SHARED file mapping ... with local tmpfile", "iouring_register pagecache write:1"),
]


def peer_answer(outcome, msg, case=""):
    """What the kernel did in a gup_longterm case: 'pinned', 'refused' or
    None (skipped, or not known).  6.x says what it expected ("Should have
    worked"); 7.x names the case only, so the expectation is its own rule:
    a private or read-only pin works, a shared writable one only on tmpfs
    or hugetlbfs (memfd works, the local tmpfile on the ext4 disk not)."""
    if outcome == "skip":
        return None
    if "Should have worked" in msg or "Should have failed" in msg:
        worked = "Should have worked" in msg
    elif "MAP_PRIVATE" in case or case.startswith("R/O"):
        worked = True
    elif case.endswith("with memfd") or "with memfd hugetlb" in case:
        worked = True
    elif case.endswith("with local tmpfile"):
        worked = False
    else:
        return None
    return "pinned" if (outcome == "ok") == worked else "refused"


def peer_lines(run):
    """The peer suite of each variant's first boot: its counts, and its
    answers beside pinsem's on the cases both test; disagreements listed."""
    out, seen = [], set()
    for b in sorted(run.index.get("boots", []), key=lambda b: (b["boot"], b["mode"] != "deterministic")):
        rel, srel = b["files"].get("peer-gup-longterm.tap"), b["files"].get("semantics.tap")
        if not rel or b["variant"] in seen:
            continue
        seen.add(b["variant"])
        with open(os.path.join(run.path, rel)) as f:
            text = f.read()
        cases = collect.peer_cases(text)
        if not cases:
            out.append(f"- {b['variant']}: " + (text.strip().splitlines() or ["no output"])[0].lstrip("1..0 #").strip())
            continue
        n = {o: sum(1 for _, x, _ in cases if x == o) for o in ("ok", "not ok", "skip")}
        sem = tap_outcomes(os.path.join(run.path, srel)) if srel else {}
        rows, dis = [], []
        for gl, pc in PEER_MAP:
            g = next((peer_answer(o, m, c) for c, o, m in cases if c == gl), None)
            got = sem.get((pc, 1))
            p_ = None if got in (None, "SKIP") else ("pinned" if got == "ok" else "refused")
            if g is None or p_ is None:
                continue
            rows.append((gl, pc, g, p_, got))
            if g != p_:
                dis.append(f"{gl} ({g}) vs pinsem {pc} ({p_}, {got})")
        out.append(f"- {b['variant']}: gup_longterm {n['ok']} passed, {n['not ok']} failed, {n['skip']} skipped; "
                   f"{len(rows)} cases pinsem tests too, {len(dis)} disagreeing"
                   + (": " + "; ".join(dis) if dis else "") + ".")
    if not out:
        return []
    return ["", "## The peer suite: the kernel's own gup_longterm beside pinsem", "",
            "Each base's tools/testing/selftests/mm/gup_longterm.c (David Hildenbrand's long-term pinning test, "
            "v6.4 on), built static from the base's source and run in every boot from the page-cache disk; a "
            "failure the variant does not declare (PEER_FAIL) fails the boot. Where both test a case (shared "
            "memfd = pinsem's shmem, a file on the disk = pinsem's pagecache), the kernel's answers (pinned or "
            "refused) are set side by side.", ""] + out


def fio_section(run, fio, results, base):
    """The fio jobs: medians per set, and each variant against the baseline."""
    md, txt, med = ["", "## fio workloads", ""], [], {}
    for v, ref in fio.items():
        _, reps, _ = store.load_gbench(ref.path, env.mode_of(ref))
        for name, bs in reps.items():
            ok = [b for b in bs if "iops" in b]
            if ok:
                med.setdefault(name, {})[v] = tuple(statistics.median(b[k] for b in ok)
                                                    for k in ("iops", "clat_p50_us", "sys_cpu_pct"))
    order = sorted(fio, key=lambda x: (x != base, x))
    md.append("Median of the repetitions: IOPS (higher is better) / completion latency p50 in us / system CPU %. "
              "Raw fio JSON in the `*fio-raw.tar.xz` archives; every run's outcome in `*runs.tsv`.")
    md += ["", "| job | " + " | ".join(order) + " |", "|---|" + "---|" * len(order)]
    for name in sorted(med):
        md.append(f"| {name} | " + " | ".join(
            "{:.0f} / {:.0f} / {:.0f}".format(*med[name][v]) if v in med[name] else "-" for v in order) + " |")
    refused = sorted({b["name"] for ref in fio.values() for b in store.load_gbench(ref.path, env.mode_of(ref))[2]
                      if b.get("error_message", "").startswith("EXPECTED")})
    if refused:
        md += ["", "Refused as the job expects (io_uring's long-term registration of FS-DAX memory, "
               "EOPNOTSUPP): " + ", ".join(f"`{r}`" for r in refused) + "."]
    for v, res in sorted(results.items()):
        ss = sentences(f"{v} (fio, IOPS)", res, "IOPS")
        md += [""] + ss + [f"\n> {w}" for w in res["warnings"]]
        txt += [re.sub(r"\*\*", "", x) for x in ss] + [""]
        with open(os.path.join(run.path, f"compare-{v}-fio.txt"), "w") as f:
            f.write(compare.format_text(res) + "\n")
        md.append(f"\nEvery job: [compare-{v}-fio.txt](compare-{v}-fio.txt).")
    modes = {ref.rec["mode"] for ref in fio.values() if ref.rec}
    if "deterministic" in modes:
        md += ["", "These fio jobs ran under -icount: the guest clock counts instructions, so IOPS and "
               "latencies are per instruction-second, not time."]
    if results and modes == {"wallclock"}:
        md += ["", "The fio figures are wall-clock, from separate boots: a difference between variants is "
               "only real beyond the boot-to-boot swing (see the jobs no variant can change: O_DIRECT's "
               "short-term pins, which no variant here touches)."]
    return md, txt


def profiles_section(run_dir):
    """Links to every flame graph of the run and its pin-path table."""
    md = []
    for svg in sorted(glob.glob(os.path.join(run_dir, "*flame.svg")) + glob.glob(os.path.join(run_dir, "*", "flame.svg"))):
        rel = os.path.relpath(svg, run_dir)
        stem = rel[:-len("flame.svg")]
        md += ([] if md else ["", "## Profiles", ""]) + [f"### {stem.rstrip('./') or 'profile'}", "",
                                                          f"Flame graph: [{rel}]({rel})"]
        for extra, what in (("perf-report.txt", "perf report"), ("perf-command.txt", "command"),
                            ("perf-pinpath.md", None)):
            path = os.path.join(run_dir, stem + extra)
            if os.path.exists(path) and what:
                md.append(f"{what}: [{stem + extra}]({stem + extra})")
            elif os.path.exists(path):
                with open(path) as f:
                    md += [""] + f.read().splitlines()[:16]
        md.append("")
    return md


def text_version(md, rid, mode, unit, base, txt_summary):
    """The mail: the lines before the first section after Setup, no
    headings or tables, then the generated sentences."""
    txt = [f"pinlab report {rid} ({mode}, {unit})", ""]
    for line in md[2:]:
        if line.startswith("## ") and line != "## Setup":
            break
        if line.startswith("|") or line.startswith("#"):
            continue
        txt += compare.wrap(line, 80) if line else [""]
    txt += [f"Against {base}:", ""] if base and txt_summary else []
    for s in txt_summary:
        txt += compare.wrap(s, 80, "    ") if s else [""]
    return txt


class Ctx:
    """What every section of a report reads: the run, its sets in the
    report's mode, the comparisons made once (results: each variant against
    its reference, default placement; presults: the other placements)."""

    def __init__(self, run_path, baseline, mode_arg, metric, alpha, floor, with_plots):
        self.run = run = store.open_run(run_path.rstrip("/"))
        from . import review
        if review.overlay_of(run.path):
            review.use_overlay(review.overlay_of(run.path))   # its prefixes are variants of its own
        self.mode, self.sets, self.fio, self.modes = pick_sets(run, mode_arg)
        self.metric = metrics.for_mode(metric or "ns_per_page", self.mode)
        metrics.get(self.metric)
        sets = self.sets
        if baseline == "baseline" and sets and baseline not in sets:
            # a run of one other base: its own baseline (baseline@6.12)
            baseline = next(iter(variants.baselines(v for v in run.index.get("variants", [])
                                                    if v in sets).values()), baseline)
            if baseline not in sets and run.index["kind"] != "lab":
                baseline = "none"   # a host run's series: figures, no comparisons
        if baseline != "none" and sets and baseline not in sets:
            raise PinlabError(f"{run.path}: no {self.mode} set for baseline {baseline!r} (have: "
                              f"{', '.join(sorted(sets))}; --baseline none reports without comparisons)")
        self.base = base = None if baseline == "none" else baseline
        self.alpha, self.floor, self.with_plots = alpha, floor, with_plots
        self.results = {v: compare.result(sets[self.ref_of(v, sets)], sets[v], self.metric, alpha, floor)
                        for v in sorted(sets) if base and v != base}
        self.fio_results = {v: compare.result(self.fio[self.ref_of(v, self.fio)], self.fio[v], "iops", alpha, floor)
                            for v in sorted(self.fio) if base in self.fio and v != base}
        self.unit = metrics.unit_label(self.metric, self.mode) if sets else metrics.get("iops").what
        self.mode = self.mode if sets else "wallclock"
        # each other set's comparisons, made once: for its section and the answer
        self.all_psets = placement_sets(run, self.mode) if base else {}
        self.presults = {placement: {v: compare.result(psets[self.ref_of(v, psets)], ref, self.metric, alpha, floor)
                                     for v, ref in sorted(psets.items()) if v != base}
                         for placement, psets in self.all_psets.items() if base in psets and len(psets) > 1}
        self.by_set = {"default": self.results, **self.presults}
        self.plots = []

    def ref_of(self, v, have):
        """A variant is compared with its own base's baseline where the run
        has it (fast-devdax-longterm@7.3 with baseline@7.3); a base's
        baseline, and a variant whose baseline did not run, with the
        report's."""
        r = variants.reference(v) if self.run.index["kind"] == "lab" else self.base
        return r if r in have and r != v else self.base


# ---- the report's sections, in order: each (ctx) -> (markdown, text) ----------

def setup_section(c):
    return setup_lines(c.run, c.mode, c.unit, c.metric, c.modes, c.base, c.sets, c.fio), []


def review_section(c):
    """A review's patch-by-patch part (scripts/lab review); its text is
    what report.txt holds, and reproduce.sh beside it."""
    from . import review
    meta = review.load(c.run.path)
    if not meta or not c.base:
        return [], []
    md, txt = review.sections(c.run, c.sets, c.all_psets, c.metric, c.unit, c.alpha, c.floor)
    with open(os.path.join(c.run.path, "review", "reproduce.sh"), "w") as f:
        f.write(review.reproduce(c.run, meta))
    os.chmod(os.path.join(c.run.path, "review", "reproduce.sh"), 0o755)
    c.review_txt = txt
    return md, []


def against_section(c):
    if not (c.base and len(c.sets) > 1):
        return [], []
    base, sets = c.base, c.sets
    others = sorted({c.ref_of(v, sets) for v in c.results} - {base})
    md = ["", f"## Against {base}" + "".join(f", and against {o}" for o in others), ""]
    if others:
        md += ["Each variant against its own base's baseline; each base's baseline against " + base + ".", ""]
    one = [v for v, res in c.results.items() if not res.get("by_boot")]
    if c.mode == "wallclock" and one:
        md += ["Wall-clock, one boot a side for " + ", ".join(one) + ": the repetitions share their boot, so "
               "these tests compare two boots, not two kernels (run --boots N: boots become the samples).", ""]
    txt = []
    for v, res in c.results.items():
        md += comparison_lines(c.run, v, c.ref_of(v, sets), res, c.unit)
        txt += [re.sub(r"\*\*", "", s) for s in sentences(v, res, c.unit)] + [""]
    return md, txt


def across_section(c):
    """Across kernel versions: every mode of the run, this report's first."""
    md, txt = [], []
    run = c.run
    for xmode in ([c.mode] + [m for m in c.modes if m != c.mode]) if run.index["kind"] == "lab" else []:
        xsets = c.sets if xmode == c.mode else pick_sets(run, xmode)[1]
        if len(variants.baselines(xsets)) < 2:
            continue
        from . import tables
        xmd, xsent, xdata = tables.across(run, xmode, c.alpha)
        with open(os.path.join(run.path, f"across-{xmode}.md"), "w") as f:
            f.write("\n".join(xmd + [""] + [f"- {x}" for x in xsent]) + "\n")
        with open(os.path.join(run.path, f"across-{xmode}.json"), "w") as f:
            json.dump(xdata, f, indent=1, sort_keys=True)
            f.write("\n")
        md += ["", f"## Across kernel versions ({xmode})", "",
               f"Generated: [across-{xmode}.md](across-{xmode}.md), [across-{xmode}.json](across-{xmode}.json).", ""]
        md += [f"- {x}" for x in xsent] + [""] + xmd
        txt += xsent + [""]
        if c.with_plots:
            xmetric = metrics.for_mode(c.metric, xmode)
            c.plots += plots.across(run.path, xsets[xdata["old"]], xsets[xdata["new"]], xdata["old"],
                                    xdata["new"], xmetric, metrics.unit_label(xmetric, xmode), xmode)
    return md, txt


def answer_section(c):
    base, run = c.base, c.run
    if not (base and variants.split(base)[0] == "baseline" and run.index["kind"] == "lab" and
            any(v != base and variants.reference(v) == base for v in c.sets)):
        return [], []
    from . import tables
    try:
        amd, asent = tables.answer(run, c.mode, c.alpha, by_set=c.by_set, ref=base)
    except PinlabError:
        amd, asent = [], []
    if not amd:
        return [], []
    with open(os.path.join(run.path, f"answer-{c.mode}.md"), "w") as f:
        f.write("\n".join(amd + [""] + [f"- {x}" for x in asent]) + "\n")
    return (["", f"## The answer ({c.mode})", "", f"Generated: [answer-{c.mode}.md](answer-{c.mode}.md).", ""]
            + amd + [""] + [f"- {x}" for x in asent]), []


def largest_controls_section(c):
    controls = control_lines(c.by_set)
    largest = largest_lines(c.by_set)
    txt = [x[2:] for x in largest if x.startswith("- ")] + ([""] if largest else [])
    txt += [re.sub(r"\*\*", "", x[2:]) for x in controls if x.startswith("- ")] + ([""] if controls else [])
    return largest + controls, txt


def noise_section(c):
    md = []
    if c.sets and c.base in c.sets:
        md += floor_lines(c.run, c.sets[c.base], c.base, c.metric, c.mode,
                          [ps[c.base] for ps in c.all_psets.values() if c.base in ps])
    return md + build_aa_lines(c.run, c.sets, c.metric, c.mode, c.alpha, c.floor, c.all_psets), []


def placements_section(c):
    md = []
    for placement, pres in c.presults.items():
        md += ["", f"## Against {c.base}: set {placement}", ""]
        for v, res in pres.items():
            md += comparison_lines(c.run, v, c.ref_of(v, c.all_psets[placement]), res, c.unit, tag=f"-{placement}")
    return md, []


def measurement_section(c):
    # every set of the run, the default placement's and the others' (percall, vmas, ...)
    others = c.all_psets or (placement_sets(c.run, c.mode) if c.sets else {})
    every = dict(c.sets, **{f"{v} [{pl}]": ref for pl, ps in sorted(others.items()) for v, ref in ps.items()})
    md = calibration_lines(c.run, c.mode) + cv_lines(every, c.metric)
    if c.sets and (len(c.sets) == 1 or not c.base):
        for ref in c.sets.values():
            md += figures_lines(ref, c.metric, c.unit)
    return md, []


def fio_part(c):
    return fio_section(c.run, c.fio, c.fio_results, c.base) if c.fio else ([], [])


def outcomes_section(c):
    return (semantics_lines(c.run) + peer_lines(c.run)
            + skips_lines(list(c.sets.values()) + list(c.fio.values())) + profiles_section(c.run.path)), []


def plots_section(c):
    made = c.plots + (plots.sweeps(c.run.path, c.sets, c.metric, c.unit, c.mode) if c.with_plots and c.sets else [])
    c.made = made
    return (["", "## Plots", ""] + [x for p in made for x in (f"![{p}]({p})", "")]) if made else [], []


def explain_section(c):
    """Where the instructions went (the run's profiling boots, run
    --profile): each profiled variant against its reference."""
    if not c.run.index.get("profiles") or c.mode != "deterministic":
        return [], []
    from . import explain
    profiled = [r["variant"] for r in c.run.index["profiles"] if r.get("verdict") == "ok"]
    md, txt = [], []
    for v in profiled:
        ref = c.ref_of(v, set(profiled))
        if not ref or ref == v:
            continue
        try:
            m, res = explain.explain(c.run, ref, v)
        except PinlabError as e:
            md += [f"## Where the instructions went: {v}", "", f"Not explained: {e}", ""]
            continue
        svg = f"explain-{v.replace('@', '_')}-vs-{ref.replace('@', '_')}.svg"
        if explain.picture(os.path.join(c.run.path, svg), res):
            m = m[:2] + [f"![where the instructions went]({svg})", ""] + m[2:]
        md += [("#" + x if x.startswith("#") else x) for x in m]
        for r in res["rows"][:5]:
            top = ", ".join(f"{f['function']} {f['delta']:+.1f}" for f in r["functions"][:3])
            txt += compare.wrap(f"{short(r['name'])} {r['change_pct']:+.1f} %: {top} insn/page "
                                f"({r['share']:.0f} % of the change)", 80, "    ")
    return (["## Where the instructions went (profiling boots)", ""] + md if md else []), txt


SECTIONS = (setup_section, review_section, against_section, across_section, answer_section, explain_section,
            largest_controls_section, noise_section, placements_section, measurement_section, fio_part,
            outcomes_section, plots_section)


def write(run_path, baseline="baseline", mode_arg=None, metric=None, alpha=0.05, floor=None,
          with_plots=True, command=None):
    """Write the report files (report.md; report.txt, a text version, or a
    review's 80 columns); returns a one-line summary."""
    c = Ctx(run_path, baseline, mode_arg, metric, alpha, floor, with_plots)
    c.review_txt = None
    md = [f"# pinlab report: {c.run.id}", "",
          f"Made by `{command or 'scripts/lab report ' + c.run.id}` from the files in this directory."]
    txt_summary = []
    for section in SECTIONS:
        smd, stxt = section(c)
        md += smd
        txt_summary += stxt
    with open(os.path.join(c.run.path, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(c.run.path, "report.txt"), "w") as f:
        # a review's text is the part to paste into a reply: 80 columns
        f.write("\n".join(c.review_txt if c.review_txt is not None else
                          text_version(md, c.run.id, c.mode, c.unit, c.base, txt_summary)) + "\n")
    return (f"report: {c.run.path}/report.md, report.txt, {len(c.results)} comparison(s), "
            f"{len(c.made)} plot(s)")
