"""Markdown tables of a lab run, from its index: one variant's figures per
path x backing (deterministic beside wall-clock), and every variant's
change from baseline on one backing.  Paths, backings and variants come
from the data (benchmark order as pinbench registered them, variants in
the run's order), never from typed lists."""
import re
import statistics


from . import PinlabError, metrics, store

PREFIX = "gup_test."


def load(run, variant, mode, metric="ns_per_page"):
    """{PROBE/BACKING/size_kb:S/ppc:P/vmas:V/write:W: [values]} in pinbench's order, or {};
    metric in the set's own unit (ns_per_page of a deterministic set is its insn_per_page)."""
    sets = run.sets(variant=variant, mode=mode, placement="default", boot=1, kind="pinbench")
    if not sets:
        return {}
    metric = metrics.for_mode(metric, mode)
    _, reps, _ = store.load_gbench(run.set_path(sets[0]), mode)
    return {re.sub(r"/iterations:\d+/manual_time$|/manual_time$", "", k): [b[metric] for b in v if metric in b]
            for k, v in reps.items()}


def order(keys, i):
    out = []
    for k in keys:
        x = k.split("/")[i]
        if x not in out:
            out.append(x)
    return out


def variant_figures(run, variant="baseline"):
    """One table per mode (never two units in one table): the median per
    path x backing at each pages-per-call, 1 VMA, of the variant's first
    boot; the wall-clock one with [min-max] over the repetitions."""
    out = []
    for mode, what in (("deterministic", "instructions/page"), ("wallclock", "ns/page")):
        data = load(run, variant, mode)
        if not data:
            continue
        keys = [k for k in data if k.endswith("/vmas:1/write:1")]
        paths = [p.removeprefix(PREFIX) for p in order(keys, 0)]
        backings = order(keys, 1)
        for ppc in ("1", "512", "0"):
            rows = []
            for p in paths:
                cells = []
                for bk in backings:
                    k = next((k for k in keys if k.startswith(f"{PREFIX}{p}/{bk}/") and f"/ppc:{ppc}/" in k), None)
                    v = data.get(k) if k else None
                    cells.append("-" if not v else f"{statistics.median(v):.1f}" if mode == "deterministic"
                                 else f"{statistics.median(v):.0f} [{min(v):.0f}-{max(v):.0f}]")
                rows.append(f"| {p} | " + " | ".join(cells) + " |")
            if all(set(r.split(" | ")[1:]) <= {"-", "- |"} for r in rows):
                continue
            out += [f"\n{variant}, {mode}: {what}, {ppc if ppc != '0' else 'all'} pages per call, 1 VMA "
                    f"('-': refused, skipped or not in the matrix)\n",
                    "| path | " + " | ".join(backings) + " |", "|---|" + "---|" * len(backings)] + rows
    if not out:
        raise PinlabError(f"{run.path}: no pinbench set of {variant}")
    return out


def variant_changes(run, backing="anon", paths=None, metric="ns_per_page", ref="baseline"):
    """Each variant's change from its baseline (ref: baseline, or
    baseline@BASE) on one backing, one table per mode, from compare's
    boot-series (or one-boot) comparisons: '*' flagged."""
    from . import compare, env, variants
    paths = paths or [PREFIX + p for p in ("pin_longterm", "pin_fast_longterm", "pin_remote_longterm",
                                           "pin_remote", "gup_remote")]
    out = []
    for mode in ("deterministic", "wallclock"):
        sets = {}
        for s in run.sets(kind="pinbench", mode=mode, boot=1):
            sets.setdefault(s["placement"], {})[s["variant"]] = env.with_boots(env.SetRef(run.set_path(s), run, s))
        for placement, vs in sets.items():
            others = [v for v in run.index.get("variants", []) if v in vs and v != ref
                      and variants.reference(v) == ref]
            if ref not in vs or not others:
                continue
            res = {v: compare.result(vs[ref], vs[v], metric) for v in others}
            unit = next(iter(res.values()))["unit"]
            rows = {}
            for v, r in res.items():
                for x in r["rows"]:
                    p = x["name"].split("/")
                    if p[1] == backing and p[0] in paths:
                        rows.setdefault(x["name"], {})[v] = x
            if not rows:
                continue
            out += [f"\n{mode}, set {placement}: {unit} on {backing}, {ref}'s median and each variant's change "
                    f"('*': flagged by compare)\n",
                    f"| benchmark | {ref} | " + " | ".join(others) + " |", "|---|---|" + "---|" * len(others)]
            for name, by_v in sorted(rows.items()):
                base = next(iter(by_v.values()))["median_a"]
                cells = [f"{by_v[v]['change_pct']:+.1f} %{' *' if by_v[v]['significant'] else ''}" if v in by_v
                         else "-" for v in others]
                out.append(f"| {compare.short(name)} | {base:.1f} | " + " | ".join(cells) + " |")
    if not out:
        raise PinlabError(f"{run.path}: no {ref} and variant sets to compare on {backing}")
    return out


# ---- the answer: each variant against baseline, generated --------------------

ANSWER_ROWS = [  # (path, backing, pages per call or 0 = all, set[:VMAs]): what each variant moves
    ("pin_longterm", "anon", 1, "percall"), ("pin_longterm", "anon", 512, "default"),
    ("pin_longterm", "anon", 0, "default"),
    ("pin_longterm", "anon", 0, "vmas:64"), ("pin_longterm", "anon", 0, "vmas:1024"),
    ("pin_remote_longterm", "anon", 1, "percall"), ("pin_remote_longterm", "anon", 512, "default"),
    ("pin_remote_longterm", "anon", 0, "vmas:1024"),
    ("pin_fast_longterm", "anon", 1, "percall"), ("pin_fast_longterm", "anon", 512, "default"),
    ("gup_fast", "anon", 512, "default"), ("pin_remote", "anon", 512, "default"),
    ("pin_fast_longterm", "devdax", 1, "percall"), ("pin_fast_longterm", "devdax", 512, "default"),
    ("pin_longterm", "devdax", 512, "default"), ("pin_longterm", "hugetlb_1g", 512, "default"),
]


def split_cost(points):
    """Least squares of change(ppc) = per_call / ppc + per_page over
    [(ppc, change per page)]: (per_call, per_page, residual), the residual
    the largest |observed - fitted| per page; with two points it is 0 and
    says nothing."""
    xs = [1 / n for n, _ in points]
    ys = [d for _, d in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    c = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    p = my - c * mx
    return c, p, max(abs(y - (c * x + p)) for x, y in zip(xs, ys))


def split_sentence(v, path, r1, r512, rall, unit):
    """A variant's cost on a path as per call + per page, where that model
    fits its three buffers (1 page per call at 4 MiB, 512 and all pages per
    call at 64 MiB, or at 4 MiB in 1 VMA) within 5 % of the largest change
    per page (or 0.5);
    otherwise the three changes as measured."""
    pts = [(1, r1["median_b"] - r1["median_a"]), (512, r512["median_b"] - r512["median_a"])]
    if rall:
        kb = re.search(r"size_kb:(\d+)", rall["name"])
        pts.append((int(kb[1]) // 4 if kb else 16384, rall["median_b"] - rall["median_a"]))
    per_call, per_page, resid = split_cost(pts)
    tol = max(0.5, 0.05 * max(abs(d) for _, d in pts[1:]))
    at = (f"{r1['change_pct']:+.1f} % at 1 page per call, {r512['change_pct']:+.1f} % at 512"
          + (f", {rall['change_pct']:+.1f} % at all {pts[2][0]}" if rall else ""))
    if len(pts) < 3:
        return (f"{v} on {path} (anon): {per_call:+.0f} {unit} per call and {per_page:+.1f} per page from two "
                f"buffers, no third to check the split ({at}).")
    if resid <= tol:
        return (f"{v} on {path} (anon): {per_call:+.0f} {unit} per call and {per_page:+.1f} per page, fitted to "
                f"1, 512 and {pts[2][0]} pages per call with a residual of {resid:.2f} per page ({at}).")
    return (f"{v} on {path} (anon): no per-call + per-page split fits (residual {resid:.1f} {unit} per page); "
            f"per page it is {pts[0][1]:+.1f} at 1 page per call, {pts[1][1]:+.1f} at 512, {pts[2][1]:+.1f} at "
            f"{pts[2][0]} ({at}).")


def answer(run, mode, alpha=0.05, by_set=None, ref="baseline"):
    """(markdown lines, sentences): the answer table, each variant's change
    from baseline on the rows above, from boot-series comparisons (flagged
    changes in bold), and generated sentences: the per-call and per-page
    cost a variant adds on each long-term path (change(ppc) = per_call /
    ppc + per_page, fitted to 1 page per call at 4 MiB and 512 and all
    pages per call at 64 MiB, with its residual; where it does not fit, the
    three changes)."""
    from . import compare, env, metrics, variants

    def results(placement):
        sets = {s["variant"]: env.with_boots(env.SetRef(run.set_path(s), run, s))
                for s in run.sets(kind="pinbench", mode=mode, boot=1, placement=placement)}
        return {v: compare.result(sets[ref], sets[v], None, alpha) for v in sets
                if v != ref and ref in sets and variants.reference(v) == ref}
    # by_set: {placement: {variant: comparison}} a caller already made (the report)
    by_set = dict(by_set or {})
    for k in ("default", "percall", "vmas"):
        if k not in by_set:
            by_set[k] = results(k)
    res = by_set["default"]
    if not res:
        raise PinlabError(f"{run.path}: the answer needs {ref} and a variant of its base in {mode} mode")
    others = [v for v in run.index.get("variants", []) if v in res and variants.reference(v) == ref]
    if not others:
        raise PinlabError(f"{run.path}: the answer needs {ref} and a variant of its base in {mode} mode")
    metric = metrics.primary("pinbench", mode)
    # runs before the sets were split had every row in the default set
    for k in ("percall", "vmas"):
        by_set[k] = by_set[k] or res

    def row(res_v, path, backing, ppc, vmas):
        pat = re.compile(rf"^gup_test\.{path}/{backing}/size_kb:\d+/ppc:{ppc}/vmas:{vmas}/write:1/")
        r = [x for x in res_v["rows"] if pat.match(x["name"])]
        one = [x for x in res_v["one_sided"] if pat.match(x["name"])]
        return (r[0] if r else None), (one[0] if one else None)

    unit = metrics.get(metric).unit
    any_res = next(iter(res.values()))
    how = (f"{any_res['boots_a']} vs {any_res['boots_b']} boots; **bold**: flagged, beyond the A/A spread"
           if any_res["by_boot"] else
           f"one boot a side; **bold**: flagged against the {any_res['floor']} % floor, with no A/A spread to "
           "judge it by")
    md = [f"{mode}: {unit} per page pinned, {ref}'s median, and each variant's change from it ({how}; "
          "'refused': the variant's kernel refuses the case)", "",
          f"| path | backing | pages per call | VMAs | {ref} | " + " | ".join(others) + " |",
          "|---|---|---|---|---|" + "---|" * len(others)]
    for path, backing, ppc, where in ANSWER_ROWS:
        vmas = where.split(":")[1] if where.startswith("vmas") else "1"
        src = by_set[where.split(":")[0]]
        base, cells = None, []
        for v in others:
            if v not in src:
                cells.append("-")
                continue
            r, one = row(src[v], path, backing, ppc, vmas)
            if r:
                base = base or r["median_a"]
                c = f"{r['change_pct']:+.1f} %"
                cells.append(f"**{c}**" if r["significant"] else c)
            elif one and one["side"] == "A":
                base = base
                cells.append("refused" if "REFUSED" in one["other"] or "EXPECTED" in one["other"] else "absent")
            else:
                cells.append("-")
        if base is None and all(c == "-" for c in cells):
            continue
        md.append(f"| {path} | {backing} | {'all' if ppc == 0 else ppc} | {vmas} | "
                  f"{'-' if base is None else format(base, '.1f')} | " + " | ".join(cells) + " |")
    sentences = []
    for v in others:
        for path in ("pin_longterm", "pin_remote_longterm", "pin_fast_longterm"):
            if v not in by_set["percall"]:
                continue
            r1, _ = row(by_set["percall"][v], path, "anon", 1, 1)
            r512, _ = row(res[v], path, "anon", 512, 1)
            if not (r1 and r512) or not (r1["significant"] or r512["significant"]):
                continue
            # wall-clock: an unflagged row is inside the boots' noise, which a per-page share would inherit
            if mode == "wallclock" and not (r1["significant"] and r512["significant"]):
                continue
            # all pages per call: the default set's 64 MiB, or the vmas set's 4 MiB in 1 VMA
            rall, _ = row(res[v], path, "anon", 0, 1)
            if not rall and v in by_set["vmas"]:
                rall, _ = row(by_set["vmas"][v], path, "anon", 0, 1)
            sentences.append(split_sentence(v, path, r1, r512, rall, unit))
        flagged = sum(r["significant"] for r in res[v]["rows"])
        sentences.append(f"{v}: {flagged} of {len(res[v]['rows'])} benchmarks flagged against {ref}; "
                         f"{len(res[v]['one_sided'])} ran on one side only.")
    return md, sentences


# ---- across kernel versions ---------------------------------------------------

def published(review=False):
    """lab/published.toml: the upstream figures the lab reproduces across
    versions, or (review=True) those a review sets beside a patch's."""
    import os
    import tomllib
    from . import TOP
    with open(os.path.join(TOP, "lab", "published.toml"), "rb") as f:
        return [p for p in tomllib.load(f).get("published", []) if bool(p.get("review")) == review]


def selftest_means(path):
    """The mean get time in µs of each repeat of a selftest's output file
    (calibrate.sh --exact), or None."""
    import os
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read()
    if "selftest: done" not in text:
        return None
    vals = [int(m[1]) for m in re.finditer(r"^(?:# )?\w+: Time: get:(\d+) put:\d+ us", text, re.M)]
    return statistics.mean(vals) if vals else None


def across(run, mode, alpha=0.05):
    """(markdown lines, sentences, data): each base's baseline in the run,
    per path x backing (the default set, 1 VMA), each base against the next
    (6.1 -> 6.12 -> 7.3) and, with three or more, the oldest against the
    newest: the ratio old/new of the per-page figure (above 1: the newer
    kernel is cheaper), flagged where compare flags the change; then each
    published figure of lab/published.toml beside the lab's own ratio over
    the versions the published change lies between."""
    import os
    from . import compare, env, store, variants
    bl = variants.baselines(run.index.get("variants", []))
    if len(bl) < 2:
        raise PinlabError(f"{run.path}: across versions needs the baselines of two bases (have: "
                          f"{', '.join(bl.values()) or 'none'})")
    order = sorted(bl, key=variants.version_key)
    old, new = bl[order[0]], bl[order[-1]]
    sets = {s["variant"]: env.with_boots(env.SetRef(run.set_path(s), run, s))
            for s in run.sets(kind="pinbench", mode=mode, boot=1, placement="default")}
    missing = [bl[b] for b in order if bl[b] not in sets]
    if missing:
        raise PinlabError(f"{run.path}: no {mode} sets of {', '.join(missing)}")

    def built(b):
        # the version each base's kernel was built from (kernel.txt), which
        # may be a newer point release than its pin
        kt = run.kernel_file(bl[b], "kernel")
        kv = store.read_kv(kt) if kt and os.path.exists(kt) else {}
        rel = env.base_release(kv.get("base"))
        if not rel:
            return "its version not recorded"
        return rel[1] + (f" (not its pinned version: {kv['base_fallback']})" if kv.get("base_fallback") else "")

    def table(a, b):
        res = compare.result(sets[bl[a]], sets[bl[b]], None, alpha)
        cells, paths, backings = {}, [], []
        for r in res["rows"]:
            p = r["name"].split("/")
            kv = dict(x.split(":", 1) for x in p[2:] if ":" in x)
            if kv.get("vmas") != "1" or kv.get("write") != "1":
                continue
            path, bk = p[0].removeprefix(PREFIX), p[1]
            paths += [path] if path not in paths else []
            backings += [bk] if bk not in backings else []
            cells[(kv["ppc"], path, bk)] = r
        how = (f"{res['boots_a']} vs {res['boots_b']} boots; **bold**: flagged, the boots' ranges apart and "
               "beyond the A/A spread" if res["by_boot"] else "one boot a side; **bold**: flagged against a "
               "fixed floor")
        md = [f"{mode}: {bl[a]} ({a}) against {bl[b]} ({b}), {res['unit']}, the default set (1 VMA). "
              f"Each cell is {a}'s median over {b}'s: above 1 the newer kernel pins the page for less "
              f"({how}; '-': not on both sides, e.g. refused by one kernel)."]
        for ppc in sorted({k[0] for k in cells}, key=lambda x: (x == "0", int(x))):
            md += ["", f"{'all' if ppc == '0' else ppc} pages per call:", "",
                   "| path | " + " | ".join(backings) + " |", "|---|" + "---|" * len(backings)]
            for path in paths:
                row = []
                for bk in backings:
                    r = cells.get((ppc, path, bk))
                    if not r or not r["median_b"]:
                        row.append("-")
                        continue
                    t = f"{r['median_a'] / r['median_b']:.2f}×"
                    row.append(f"**{t}**" if r["significant"] else t)
                md.append(f"| {path} | " + " | ".join(row) + " |")
        return md, cells, res["unit"]

    # each base against the next, and the oldest against the newest when
    # there are more than two
    steps = list(zip(order, order[1:])) + ([(order[0], order[-1])] if len(order) > 2 else [])
    md = ["Kernels: " + "; ".join(f"{b}: {bl[b]}, built from {built(b)}" for b in order) + "."]
    tabs = {}

    def config_lines(a, b):
        # the kernels differ in configuration as well as in code: the
        # performance-relevant options (kconfig-check's list) that differ
        from . import kconfig
        ca, cb = run.kernel_file(bl[a], "config"), run.kernel_file(bl[b], "config")
        if not (ca and cb and os.path.exists(ca) and os.path.exists(cb)):
            return ["", f"Config differences {a} → {b}: not known (a kernel config is not in the run)."]
        d = kconfig.between(ca, cb)
        if not d:
            return ["", f"Config {a} → {b}: no performance-relevant option differs (kconfig-check's list)."]
        return ["", f"Config {a} → {b}: {len(d)} performance-relevant options differ (kconfig-check's list), so a "
                "change below is the code's and the configuration's together: "
                + ", ".join(f"{k.removeprefix('CONFIG_')} {va}→{vb}" for k, va, vb in d) + "."]
    for a, b in steps:
        tmd, tabs[(a, b)], unit = table(a, b)
        md += [""] + ([f"### {a} → {b}", ""] if len(steps) > 1 else []) + tmd + config_lines(a, b)
    sentences, data = [], {"old": old, "new": new, "unit": unit, "published": []}
    for pub in published():
        # the published change lies between two versions; where the run has
        # both, that step, else the oldest against the newest
        pa, pb = pub.get("between", [order[0], order[-1]])
        pa, pb = (pa, pb) if pa in bl and pb in bl else (order[0], order[-1])
        if (pa, pb) not in tabs:
            tabs[(pa, pb)] = table(pa, pb)[1]
        cells = tabs[(pa, pb)]
        r = cells.get((str(pub["ppc"]), pub["path"].removeprefix(PREFIX), pub["backing"]))
        pr = pub["before_us"] / pub["after_us"]
        item = dict(id=pub["id"], published_ratio=pr)
        if r and r["median_b"]:
            item.update(lab_ratio=r["median_a"] / r["median_b"], old=r["median_a"], new=r["median_b"],
                        significant=r["significant"])
            size_mb = re.search(r"size_kb:(\d+)", r["name"])
            ours = (f"{unit} under QEMU TCG ({'instruction counts, -icount' if mode == 'deterministic' else 'ns of a TCG guest, not hardware'})"
                    f", {int(size_mb[1]) // 1024 if size_mb else '?'} MiB, {pub['ppc']} pages per call, a lab guest")
            sentences.append(
                f"{pub['what']}: {pub['source']} posted `{pub['command']}` going from {pub['before_us']:g} to "
                f"{pub['after_us']:g} ({pr:.0f}×; {pub.get('unit', 'µs')}, {pub.get('size', '?')}, "
                f"{pub.get('published_ppc', '?')} pages per call, {pub.get('machine', 'machine not stated')}). "
                f"pinlab's {pub['path']} on {pub['backing']} goes from {r['median_a']:.1f} to {r['median_b']:.1f} "
                f"from {pa} to {pb} ({item['lab_ratio']:.1f}×; {ours}; "
                f"{'flagged' if r['significant'] else 'not flagged: too few boots for their spread, see compare'}). "
                "The two ratios differ in unit, size, pages per call and machine: they agree in direction and "
                "order of magnitude, not in value.")
        if pub.get("extra_output"):
            per = {}
            for b in run.index.get("boots", []):
                if b["variant"] in (bl[pa], bl[pb]) and b["mode"] == mode and pub["extra_output"] in b.get("files", {}):
                    v = selftest_means(os.path.join(run.path, b["files"][pub["extra_output"]]))
                    if v is not None:
                        per.setdefault(b["variant"], []).append(v)
            if bl[pa] in per and bl[pb] in per:
                mo, mn = statistics.median(per[bl[pa]]), statistics.median(per[bl[pb]])
                item.update(selftest_old_us=mo, selftest_new_us=mn, selftest_ratio=mo / mn if mn else None,
                            selftest_boots=(len(per[bl[pa]]), len(per[bl[pb]])))
                if mn:
                    sentences.append(
                        f"The same command in the lab's guests ({mode}{', µs of guest instructions' if mode == 'deterministic' else ''}; "
                        f"mean of its 10 repeats, median over {len(per[bl[pa]])} and {len(per[bl[pb]])} boots): "
                        f"{mo:.1f} on {pa}, {mn:.1f} on {pb} ({mo / mn:.1f}×, published {pr:.0f}×).")
        data["published"].append(item)
    return md, sentences, data
