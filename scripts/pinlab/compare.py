"""Compare two result sets benchmark by benchmark.  Whether lower or higher
is better comes from the metrics table, never guessed.

Two series of boots (the lab's --boots N: each boot a fresh image layout,
perturbed by its seed) compare boot by boot: a boot's figure is its median
over the repetitions, the boots are the samples, and each benchmark's
change is set against its A/A spread, the range of the same kernel's boots
((max - min) / median, each side): '*' when the two sides' boot ranges do
not overlap and |change| exceeds the noise threshold, the largest of the
larger spread, the floor and the committed A/A floors of its path x backing
(every `results/*/aa-floor-MODE.json` and `aa-build-floor-MODE.json` of
the bases compared: a noise history of layouts and of rebuilds, as
rustc-perf's significance comes from each benchmark's own).
Deterministic boots are not samples of a distribution (their noise is
layout, and builds): no p-value is computed or asked for.  Wall-clock boots
also need the Benjamini-Hochberg q of the exact Mann-Whitney U on the boots'
medians below alpha; with fewer boots a side than that test needs to go
below alpha at all (4 for 0.05: 2 / C(8, 4) = 0.029) a wall-clock change is
"not enough boots to judge", never flagged.

One boot a side: repetitions that are constant on both sides (deterministic)
are compared exactly, with no test (they are not independent samples);
otherwise medians, a 95 % bootstrap CI of the change, the Mann-Whitney U
p-value and its Benjamini-Hochberg q over all benchmarks: '*' only when
q < alpha, the CI excludes 0 and |change| is above the floor."""
import math
import os
import random
import re
import statistics

from . import TOP, PinlabError, env, metrics, store
from .names import short

try:
    from scipy.stats import mannwhitneyu
except ImportError:  # pragma: no cover
    raise SystemExit("pinlab: needs python3-scipy (scripts/deps.sh)")


def bootstrap_ci(a, b, n=2000, seed=1):
    rnd = random.Random(seed)
    ma = statistics.median(a)
    out = []
    for _ in range(n):
        ra = statistics.median(rnd.choices(a, k=len(a)))
        rb = statistics.median(rnd.choices(b, k=len(b)))
        if ra:
            out.append((rb - ra) / ra * 100)
    if not out or not ma:
        return (math.nan, math.nan)
    out.sort()
    return out[int(0.025 * len(out))], out[int(0.975 * len(out)) - 1]


def compare_sets(reps_a, reps_b, metric, alpha=0.05, floor=2.0):
    """One row per benchmark with the metric on both sides."""
    lower_better = metrics.get(metric).lower_is_better
    rows = []
    for name in sorted(set(reps_a) & set(reps_b)):
        a = [x[metric] for x in reps_a[name] if metric in x]
        b = [x[metric] for x in reps_b[name] if metric in x]
        if not a or not b:
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        change = (mb - ma) / ma * 100 if ma else math.nan
        # constant repetitions on both sides (deterministic mode): the
        # difference is exact and the repetitions are not independent
        # samples, so no p-value and no CI are computed from them
        exact = len(set(a)) == 1 and len(set(b)) == 1
        p = None if exact else float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
        lo, hi = (change, change) if exact else bootstrap_ci(a, b)
        # the smallest two-sided p Mann-Whitney can give with these sizes
        min_p = min(1.0, 2 / math.comb(len(a) + len(b), len(a)))
        rows.append(dict(name=name, n_a=len(a), n_b=len(b), median_a=ma, median_b=mb,
                         min_a=min(a), max_a=max(a), min_b=min(b), max_b=max(b),
                         change_pct=change, ci_lo=lo, ci_hi=hi, p=p, exact=exact, min_p=min_p,
                         testable=exact or min_p < alpha))
    for r, q in zip([r for r in rows if r["p"] is not None], bh([r["p"] for r in rows if r["p"] is not None])):
        r["q"] = q
    for r in rows:
        r.setdefault("q", None)
        beyond = abs(r["change_pct"]) > floor
        r["significant"] = bool(beyond if r["exact"] else
                                r["q"] < alpha and beyond and not (r["ci_lo"] <= 0 <= r["ci_hi"]))
        r["verdict"] = ("better" if (r["change_pct"] < 0) == lower_better else "worse") if r["significant"] else ""
    return rows


def spread(v):
    """The A/A spread of one side's boots: (max - min) / median, in %."""
    m = statistics.median(v)
    return (max(v) - min(v)) / m * 100 if m else math.nan


def boot_figure(metric):
    """How a boot's repetitions make its figure: their minimum for an
    instruction count (under -icount an interrupt or a timer tick in the
    window only adds instructions, so the least is the path's own cost),
    their median for time."""
    return min if metric.startswith("insn") else statistics.median


def per_boot_medians(boots, metric):
    """{name: [each boot's figure of metric]} for the benchmarks that ran in
    every boot (boot_figure: the minimum of its repetitions for
    instructions, the median for time); boots: one {name: [repetitions]}
    per boot."""
    out = {}
    pick = boot_figure(metric)
    for reps in boots:
        for name, bs in reps.items():
            vals = [x[metric] for x in bs if metric in x]
            if vals:
                out.setdefault(name, []).append(pick(vals))
    return {k: v for k, v in out.items() if len(v) == len(boots)}


def interrupt_bound(boots, metric):
    """{name: %}: for a benchmark whose every repetition in some boot took
    an interrupt (pinbench's irqs counter), that boot's least repetition
    still holds one, and the figure is known only to within the range of
    its repetitions: the largest such range over the boots, in % of the
    least.  Benchmarks with an interrupt-free repetition in every boot, or
    without the counter, are absent."""
    out = {}
    for reps in boots:
        for name, bs in reps.items():
            vals = [(x[metric], x["irqs"]) for x in bs if metric in x and "irqs" in x]
            if len(vals) > 1 and all(i > 0 for _, i in vals):
                lo = min(v for v, _ in vals)
                if lo:
                    out[name] = max(out.get(name, 0.0), (max(v for v, _ in vals) - lo) / lo * 100)
    return out


def compare_boots(boots_a, boots_b, metric, alpha=0.05, floor=0.5, aa_floor=None, deterministic=None):
    """One row per benchmark run in every boot of both sides: boots as samples.
    deterministic (default: an instruction-count metric): no test, the rule
    alone (disjoint ranges, |change| beyond the noise threshold)."""
    lower_better = metrics.get(metric).lower_is_better
    aa_floor = aa_floor or {}
    if deterministic is None:
        deterministic = metric.startswith("insn")

    pa, pb = per_boot_medians(boots_a, metric), per_boot_medians(boots_b, metric)
    irq = interrupt_bound(list(boots_a) + list(boots_b), metric) if deterministic else {}
    need = boots_needed(alpha)
    rows = []
    for name in sorted(set(pa) & set(pb)):
        a, b = pa[name], pb[name]
        ma, mb = statistics.median(a), statistics.median(b)
        change = (mb - ma) / ma * 100 if ma else math.nan
        # wall-clock: Mann-Whitney U (exact) on the boots' medians, once
        # each side has the boots it needs to reach p < alpha at all;
        # deterministic: no test, the rule below alone
        p = None
        judged = deterministic or min(len(a), len(b)) >= need
        if not deterministic and judged:
            p = float(mannwhitneyu(a, b, alternative="two-sided", method="exact").pvalue)
        min_p = 0.0 if deterministic else min(1.0, 2 / math.comb(len(a) + len(b), len(a)))
        parts = name.split("/")
        group = "/".join(parts[:2])
        aa = max(spread(a), spread(b))
        rows.append(dict(name=name, n_a=len(a), n_b=len(b), median_a=ma, median_b=mb, min_a=min(a), max_a=max(a),
                         min_b=min(b), max_b=max(b), change_pct=change, ci_lo=None, ci_hi=None, p=p, exact=False,
                         boots=True, aa_pct=aa, committed_aa_pct=aa_floor.get(group),
                         irq_pct=irq.get(name),
                         noise_pct=max(floor, aa, aa_floor.get(group, 0.0), irq.get(name, 0.0)),
                         disjoint=max(a) < min(b) or max(b) < min(a), min_p=min_p, testable=judged, judged=judged))
    for r, q in zip([r for r in rows if r["p"] is not None], bh([r["p"] for r in rows if r["p"] is not None])):
        r["q"] = q
    for r in rows:
        r.setdefault("q", None)
        r["significant"] = bool(r["judged"] and r["disjoint"] and abs(r["change_pct"]) > r["noise_pct"]
                                and (r["q"] is None or r["q"] < alpha))
        r["verdict"] = ("better" if (r["change_pct"] < 0) == lower_better else "worse") if r["significant"] else ""
    return rows


def boots_needed(alpha, tests=1):
    """The boots a side (equal sides) at which the exact two-sided
    Mann-Whitney p can go below alpha / tests: 2 / C(2n, n) (4 a side for
    alpha 0.05; a lone change among `tests` benchmarks, Benjamini-Hochberg
    adjusted, needs alpha / tests)."""
    n = 1
    while 2 / math.comb(2 * n, n) >= alpha / tests:
        n += 1
    return n


def set_mode(ctx):
    return "deterministic" if ctx.get("clock_counts", "").startswith("instructions") else "wallclock"


def bh(ps):
    """Benjamini-Hochberg adjusted p-values (q), in the order given: the
    false-discovery rate over every benchmark a comparison tests."""
    n = len(ps)
    order = sorted(range(n), key=lambda i: ps[i])
    q, running = [0.0] * n, 1.0
    for rank in range(n, 0, -1):
        i = order[rank - 1]
        running = min(running, ps[i] * n / rank)
        q[i] = running
    return q


def geomean_summary(rows, key):
    """Geometric mean of B/A per path (first name part) or backing (second)."""
    groups = {}
    for r in rows:
        parts = r["name"].split("/")
        g = parts[0] if key == "path" or len(parts) < 2 else parts[1]
        if r["median_a"] > 0 and r["median_b"] > 0:
            groups.setdefault(g, []).append(r["median_b"] / r["median_a"])
    return {g: (math.exp(sum(map(math.log, v)) / len(v)) - 1) * 100 for g, v in sorted(groups.items())}


def p_text(p, q=None):
    if p is None:
        return "exact: constant repetitions, no test"
    if q is not None:
        return f"{p_text(p)}, q = {q:.3g}"
    for lim in (0.001, 0.01, 0.05):
        if p < lim:
            return f"p < {lim}"
    return f"p = {p:.2f}"


def num(v, w):
    """A number in w columns: one decimal while it fits."""
    s = f"{v:.1f}"
    return f"{s:>{w}}" if len(s) <= w else f"{v:>{w}.3g}"


def committed_floors(series, mode, metric, results=None, exclude=()):
    """{PATH/BACKING: largest max_pct} over the committed A/A floors of the
    baselines of the given base series ('6.1', '6.12'), in this metric: the
    layout A/A (results/*/aa-floor-MODE.json: one image, perturbed boots)
    and the build A/A (results/*/aa-build-floor-MODE.json: scripts/lab aa,
    two builds' boots pooled), leaving out superseded runs'."""
    import glob
    import json
    import tomllib
    out = {}
    root = results or os.path.join(TOP, "results")
    try:
        with open(os.path.join(root, "superseded.toml"), "rb") as f:
            old = set(tomllib.load(f).get("runs", {}))
    except (OSError, tomllib.TOMLDecodeError):
        old = set()
    for path in sorted(glob.glob(os.path.join(root, "*", f"aa-floor-{mode}.json"))
                       + glob.glob(os.path.join(root, "*", f"aa-build-floor-{mode}.json"))):
        if os.path.realpath(os.path.dirname(path)) in exclude:
            continue   # the runs compared: their own floors are theirs, not a history
        if os.path.basename(os.path.dirname(path)) in old:
            continue   # made with an instrument the lab no longer uses (results/superseded.toml)
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError):
            continue
        v = d.get("variant", "")
        b = v.split("@", 1)[1] if "@" in v else "6.1"
        if not v.startswith("baseline") or b not in series or d.get("metric") != metric:
            continue
        for g, x in d.get("floor", {}).items():
            out[g] = max(out.get(g, 0.0), float(x.get("max_pct", 0.0)))
    return out


def series_of(e):
    """'6.12' of an environment whose base is 'linux-source-6.12 ...', else None."""
    rel = env.base_release(e.get("base"))
    return rel[0].removeprefix("linux-source-") if rel else None


def result(ref_a, ref_b, metric=None, alpha=0.05, floor=None, name_filter=None, aa_floor=None, boot_rule=False):
    """Everything a comparison of two SetRefs shows, as one dict (raises
    PinlabError).  metric None: the primary one of the sets' mode; floor
    None: 0.5 % for boot series, 2 % otherwise.  Refs with .boots compare
    boot by boot, against the committed A/A floors of both sides' bases
    unless aa_floor is given ({} for none); boot_rule: deterministic sets of
    one boot a side too (a review's prefixes: the committed floors are then
    the whole noise threshold)."""
    boots_a = [b for b in (ref_a.boots or [ref_a])]
    boots_b = [b for b in (ref_b.boots or [ref_b])]
    la = [store.load_gbench(r.path, env.mode_of(r)) for r in boots_a]
    lb = [store.load_gbench(r.path, env.mode_of(r)) for r in boots_b]
    ctx_a, ctx_b = la[0][0], lb[0][0]
    mode_a, mode_b = set_mode(ctx_a), set_mode(ctx_b)
    if mode_a != mode_b:
        raise PinlabError(f"A counts {'instructions' if mode_a == 'deterministic' else 'ns'} ({mode_a}), B counts "
                          f"{'instructions' if mode_b == 'deterministic' else 'ns'} ({mode_b}): no comparison "
                          "across units")
    fio = any("iops" in x for v in la[0][1].values() for x in v)
    metric = metrics.for_mode(metric or ("iops" if fio else "ns_per_page"), mode_a)
    m = metrics.get(metric)
    by_boot = (len(boots_a) > 1 and len(boots_b) > 1) or (boot_rule and mode_a == "deterministic")
    floor = floor if floor is not None else (0.5 if by_boot else 2.0)

    def filt(reps):
        return {k: v for k, v in reps.items() if re.search(name_filter, k)} if name_filter else reps
    ra, rb = filt(la[0][1]), filt(lb[0][1])
    ea_ = [e for x in la for e in x[2]]
    eb_ = [e for x in lb for e in x[2]]
    if not set(ra) & set(rb):
        raise PinlabError("the two sets have no benchmark in common")
    ea, eb = env.env_of(ref_a), env.env_of(ref_b)
    if by_boot and aa_floor is None:
        own = {os.path.realpath(r.run.path) for r in (ref_a, ref_b) if getattr(r, "run", None)}
        aa_floor = committed_floors({series_of(ea), series_of(eb)} - {None}, mode_a, metric, exclude=own)
    if by_boot:
        rows = compare_boots([filt(x[1]) for x in la], [filt(x[1]) for x in lb], metric, alpha, floor, aa_floor,
                             deterministic=mode_a == "deterministic")
    else:
        rows = compare_sets(ra, rb, metric, alpha, floor)
    if not rows:
        have = sorted({k for v in ra.values() for x in v for k in x if k in metrics.METRICS})
        raise PinlabError(f"no benchmark has {metric} on both sides (metrics there: {', '.join(have)})")
    if not by_boot and min(min(r["n_a"], r["n_b"]) for r in rows) < 2:
        raise PinlabError("a single repetition per benchmark on one side: no statistics "
                           "possible (run with --benchmark_repetitions=9)")
    diff, warn = env.env_diff(ctx_a, ctx_b, ea, eb)
    one_sided = one_side_only(ra, rb, ea_, eb_, metric)
    if one_sided:
        warn.append(f"WARNING: {len(one_sided)} benchmarks ran on one side only (listed at the end)")
    few = sorted({min(r["n_a"], r["n_b"]) for r in rows if min(r["n_a"], r["n_b"]) < 9})
    if by_boot:
        few = []
        if min(len(boots_a), len(boots_b)) == 1:
            warn.append("one boot a side: the noise threshold is the base's committed A/A floors (layout and "
                        "build) and the 0.5 % floor, with no spread of this run's own"
                        + ("" if aa_floor else "; this base has no committed A/A floor: run scripts/lab aa BASE"))
        need = boots_needed(alpha)
        if mode_a != "deterministic" and min(len(boots_a), len(boots_b)) < need:
            warn.append(f"not enough boots to judge: {len(boots_a)} vs {len(boots_b)} wall-clock boots; the exact "
                        f"Mann-Whitney test on boots needs {need} a side to reach p < {alpha} at all, "
                        f"{boots_needed(alpha, len(rows))} for a lone change among {len(rows)} benchmarks "
                        f"(--boots {boots_needed(alpha, len(rows))}); nothing is flagged")
    elif mode_a == "deterministic":
        warn.append("WARNING: one boot a side: deterministic figures are exact per image, not per kernel (two "
                    "images of one kernel differ by a few %): run --boots 3 for an A/A spread")
    if few:
        warn.append(f"WARNING: some benchmarks have fewer than 9 repetitions ({few}): weak statistics")
    untestable = [r for r in rows if not r["testable"]]
    if untestable and not by_boot:
        r = untestable[0]
        warn.append(f"WARNING: {len(untestable)} of {len(rows)} benchmarks cannot reach p < {alpha}: with "
                    f"{r['n_a']} vs {r['n_b']} repetitions the smallest Mann-Whitney p is {r['min_p']:.3f}")
    unit = metrics.unit_label(metric, mode_a)
    return dict(a=ref_a.path, b=ref_b.path, mode=mode_a, by_boot=by_boot, boots_a=len(boots_a),
                committed_floors=bool(aa_floor),
                boots_b=len(boots_b), label_a=ctx_a.get("label") or ref_a.label, unit=unit,
                label_b=ctx_b.get("label") or ref_b.label, metric=metric,
                lower_is_better=m.lower_is_better, alpha=alpha, floor=floor, warnings=warn,
                env_diff=diff, env_a={k: v for k, v in ea.items() if k != "config"},
                env_b={k: v for k, v in eb.items() if k != "config"}, rows=rows, one_sided=one_sided,
                geomean_path=geomean_summary(rows, "path"), geomean_backing=geomean_summary(rows, "backing"))


def shown_path(path):
    """A set's file relative to the repository when it lies in it (no machine paths in reports)."""
    a = os.path.abspath(path)
    return os.path.relpath(a, TOP) if a.startswith(TOP + os.sep) else path


def one_side_only(ra, rb, ea, eb, metric):
    """Benchmarks measured on one side and not the other, with what the
    other side says of them (refused, skipped, failed, or absent)."""
    def said(entries):
        return {b.get("run_name", b["name"]): b.get("error_message", "")
                for b in entries if b.get("error_occurred") and b.get("run_type", "iteration") == "iteration"}
    sa, sb = said(ea), said(eb)
    out = []
    for name in sorted(set(ra) | set(rb)):
        in_a = any(metric in x for x in ra.get(name, []))
        in_b = any(metric in x for x in rb.get(name, []))
        if in_a != in_b:
            other = sb if in_a else sa
            out.append(dict(name=name, side="A" if in_a else "B", other=other.get(name, "absent")))
    return out


def ci_text(r, w):
    if r.get("boots"):
        return f"{'A/A ' + format(r['aa_pct'], '.2f') + '%':>{w}}"
    return f"{'exact':>{w}}" if r["exact"] else f"{'[' + format(r['ci_lo'], '+.1f') + ',' + format(r['ci_hi'], '+.1f') + ']':>{w}}"


def q_text(r, w):
    """The column of the test: the BH-adjusted p (q), or '-' for exact rows."""
    return f"{'-':>{w}}" if r["q"] is None else f"{r['q']:>{w}.{w - 3}f}"


def header(res, width):
    m = res["metric"]
    out = [f"{m} ({res.get('unit', metrics.get(m).what)}, {'lower' if res['lower_is_better'] else 'higher'} "
           f"is better): {res['label_b']} vs {res['label_a']}"]
    out += res["warnings"]
    out += [f"A: {shown_path(res['a'])}", f"B: {shown_path(res['b'])}"]
    out.append("environment: " + ("same" if not res["env_diff"] else "differs:"))
    out += ["  " + x for x in res["env_diff"]]
    if res.get("by_boot"):
        out.append(f"{res['boots_a']} vs {res['boots_b']} boots, each a perturbed image layout; a boot's figure is "
                   + ("its minimum over the repetitions (an interrupt only adds instructions)"
                      if res["metric"].startswith("insn") else "its median over the repetitions")
                   + ". '*' = the two sides' boot ranges are disjoint and |change| "
                   f"exceeds the benchmark's A/A spread (the larger side's (max - min) / median over its boots, "
                   f"shown), the {res['floor']}% floor and the committed A/A floors of its path x backing ("
                   + ("applied" if res.get("committed_floors") else "none committed for these bases") + ")"
                   + (f"; and q < {res['alpha']} (exact Mann-Whitney U on the boots' medians, Benjamini-Hochberg over the "
                      f"{len(res['rows'])} benchmarks)" if any(r["p"] is not None for r in res["rows"]) else
                      ("; deterministic boots are not samples: no p-value" if res["mode"] == "deterministic"
                       else "")))
        return [x if len(x) <= width else x[:width - 3] + "..." for x in out]
    out.append(f"'*' = q < {res['alpha']} (Mann-Whitney U, Benjamini-Hochberg over the {len(res['rows'])} "
               f"benchmarks), 95% bootstrap CI of the change excludes 0, |change| > {res['floor']}%; "
               f"'exact' rows have constant repetitions on both sides (deterministic): no test, '*' when "
               f"|change| > {res['floor']}%")
    return [x if len(x) <= width else x[:width - 3] + "..." for x in out]


def footer(res):
    rows = res["rows"]
    lines = [f"only in {x['side']}: {short(x['name'])} ({'B' if x['side'] == 'A' else 'A'}: {x['other']})"
             for x in res.get("one_sided", [])]
    nsig = sum(r["significant"] for r in rows)
    out = [f"{len(rows)} compared, {nsig} significant ({sum(r['verdict'] == 'worse' for r in rows)} worse, "
           f"{sum(r['verdict'] == 'better' for r in rows)} better)"]
    for key in ("path", "backing"):
        s = res[f"geomean_{key}"]
        out.append(f"geomean change by {key}: " + ", ".join(f"{g} {v:+.1f}%" for g, v in s.items()))
    return out + lines


def format_table(res, only_changed=False):
    lines = ["# " + x for x in header(res, 200)]
    lines.append(f"{'benchmark':<44} {'A':>10} {'B':>10} {'change':>8} "
                 f"{'A/A spread' if res.get('by_boot') else '95% CI':>17} {'q':>7}")
    for r in res["rows"]:
        if only_changed and not r["significant"]:
            continue
        lines.append(f"{short(r['name'])[:44]:<44} {num(r['median_a'], 10)} {num(r['median_b'], 10)} "
                     f"{r['change_pct']:>+7.1f}% {ci_text(r, 17)} {q_text(r, 7)}{' *' if r['significant'] else ''}")
    lines += ["# " + x for x in footer(res)]
    return "\n".join(lines)


def wrap(text, width, indent="  "):
    """Greedy word wrap for the mail format."""
    out, cur = [], ""
    for w in text.split(" "):
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = indent + w
        else:
            cur = f"{cur} {w}" if cur else w
    out.append(cur)
    return out


def format_text(res, only_changed=False, width=80):
    """Plain text within `width` columns: a long name gets a line of its own."""
    lines = []
    for x in header(res, 10 ** 6) + [""]:
        lines += wrap(x, width) if x else [""]
    cols = f"{'A':>8} {'B':>8} {'change':>7} {'A/A spread' if res.get('by_boot') else '95% CI':>15} {'q':>6}"
    nw = width - len(cols) - 3
    lines.append(f"{'benchmark':<{nw}} {cols}")
    for r in res["rows"]:
        if only_changed and not r["significant"]:
            continue
        nums = (f"{num(r['median_a'], 8)} {num(r['median_b'], 8)} {r['change_pct']:>+6.1f}% {ci_text(r, 15)} "
                f"{q_text(r, 6)}{' *' if r['significant'] else ''}")
        name = short(r["name"])
        if len(name) > nw:
            lines.append(name[:width])
            name = ""
        lines.append(f"{name:<{nw}} {nums}")
    lines.append("")
    for x in footer(res):
        lines += wrap(x, width)
    return "\n".join(lines)
