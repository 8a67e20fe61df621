#!/usr/bin/python3
"""Compare two pinlab result sets (Google Benchmark JSON), benchmark by
benchmark, with real statistics.

  compare.py A.json B.json [--metric ns_per_page] [--alpha 0.05]
             [--floor 2.0] [--format table|text|json] [--json OUT]
             [--only-changed] [--filter REGEX]

For every benchmark present in both (matched by run_name), over the
per-repetition values: median of each side, change in % (B vs A), a 95 %
bootstrap confidence interval of the change of medians (2000 resamples,
fixed seed), and the two-sided Mann-Whitney U p-value.  A change is marked
significant ('*') only when p < alpha, the CI excludes 0 and |change| is
above the noise floor (%).  Whether lower or higher is better comes from
METRICS below, never guessed; an unknown metric is refused.

--format table: a wide terminal table; text: plain text within 80 columns
for a mail; json: the rows, summaries and environment diff as JSON.  The
environment diff reads the JSON contexts and the files beside each set
(manifest.txt, VARIANT.config, the QEMU command line): a comparison across
hosts or accelerators says so at the top.
"""
import argparse
import json
import lzma
import math
import os
import random
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pinlab_json import load as load_json, set_env  # noqa: E402

try:
    from scipy.stats import mannwhitneyu
except ImportError:  # pragma: no cover
    sys.exit("compare: needs python3-scipy (scripts/deps.sh)")

# metric -> (lower_is_better, what it is).  mmtests' preferhigher, LKP's
# KPI directions: every metric compared is listed here.
METRICS = {
    "real_time": (True, "time per pass"),
    "ns_per_page": (True, "ns/page pin"),
    "ns_per_page_put": (True, "ns/page release"),
    "ns_per_call": (True, "ns/call"),
    "iops": (False, "fio IOPS"),
    "bw_MiBps": (False, "fio bandwidth MiB/s"),
    "clat_p50_us": (True, "fio completion latency p50 us"),
    "clat_p99_us": (True, "fio completion latency p99 us"),
    "sys_cpu_pct": (True, "fio system CPU %"),
}


class CompareError(Exception):
    """Bad input: one line for the user, a non-zero exit, no traceback."""


def load(path):
    """(context, {run_name: [repetition dicts]}) of a Google Benchmark JSON."""
    try:
        d = load_json(path)
    except OSError as e:
        raise CompareError(f"{path}: {e.strerror}") from None
    except (ValueError, EOFError, lzma.LZMAError) as e:
        raise CompareError(f"{path}: not JSON ({e})") from None
    if not isinstance(d, dict) or "benchmarks" not in d or "context" not in d:
        raise CompareError(f"{path}: not Google Benchmark JSON (no context/benchmarks)")
    reps = {}
    for b in d["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        reps.setdefault(b.get("run_name", b["name"]), []).append(b)
    return d["context"], reps


CTX_KEYS = ["kernel_release", "label", "proc_version", "kernel_cmdline", "thp_enabled", "thp_defrag",
            "hugepages_2048kB", "hugepages_1048576kB", "numa_nodes", "numa_placement", "num_cpus",
            "pinlab_revision", "library_build_type"]
ENV_KEYS = ["run", "variant", "mode", "host", "cpu", "base", "accel", "qemu", "qemu_smp", "qemu_m", "qemu_cpu"]


def env_diff(ca, cb, ea, eb):
    """Lines saying what differs between the sides' environments, and the
    warnings for the top of the comparison."""
    lines, warn = [], []
    for k in ENV_KEYS:
        if ea.get(k) != eb.get(k):
            lines.append(f"{k}: {ea.get(k)!r} -> {eb.get(k)!r}")
    for k in CTX_KEYS:
        if ca.get(k) != cb.get(k):
            lines.append(f"{k}: {ca.get(k)!r} -> {cb.get(k)!r}")
    fa, fb = ea.get("config"), eb.get("config")
    if fa is not None and fb is not None:
        keys = sorted(k for k in set(fa) | set(fb) if fa.get(k, "n") != fb.get(k, "n")
                      and k not in ("CONFIG_CC_VERSION_TEXT",))
        for k in keys[:40]:
            lines.append(f"config {k}: {fa.get(k, 'n')} -> {fb.get(k, 'n')}")
        if len(keys) > 40:
            lines.append(f"config: {len(keys) - 40} more lines differ")
        if not keys:
            lines.append("kernel config: same")
    elif (fa is None) != (fb is None):
        lines.append("kernel config: known on one side only")
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
    if ea.get("mode") != eb.get("mode") and "?" not in (ea.get("mode"), eb.get("mode")):
        warn.append(f"WARNING: {ea.get('mode')} vs {eb.get('mode')} figures")
    return lines, warn


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
    lower_better = METRICS[metric][0]
    rows = []
    for name in sorted(set(reps_a) & set(reps_b)):
        a = [x[metric] for x in reps_a[name] if metric in x]
        b = [x[metric] for x in reps_b[name] if metric in x]
        if not a or not b:
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        change = (mb - ma) / ma * 100 if ma else math.nan
        if len(set(a)) == 1 and set(a) == set(b):
            p = 1.0
        else:
            p = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
        lo, hi = bootstrap_ci(a, b)
        sig = bool(p < alpha and abs(change) > floor and not (lo <= 0 <= hi))
        # the smallest two-sided p Mann-Whitney can give with these sizes
        min_p = min(1.0, 2 / math.comb(len(a) + len(b), len(a)))
        verdict = ""
        if sig:
            verdict = "better" if (change < 0) == lower_better else "worse"
        rows.append(dict(name=name, n_a=len(a), n_b=len(b), median_a=ma, median_b=mb,
                         min_a=min(a), max_a=max(a), min_b=min(b), max_b=max(b),
                         change_pct=change, ci_lo=lo, ci_hi=hi, p=p, min_p=min_p, testable=min_p < alpha,
                         significant=sig, verdict=verdict))
    return rows


def short(name):
    """A benchmark name for a table: pin_fast/anon/4M/ppc:512/vmas:1/w1."""
    name = re.sub(r"/(manual_time|real_time)$", "", name)
    name = re.sub(r"/iterations:\d+", "", name)
    name = re.sub(r"size_kb:(\d+)", lambda m: f"{int(m.group(1)) // 1024}M" if int(m.group(1)) % 1024 == 0
                  else f"{m.group(1)}K", name)
    return name.replace("gup_test.", "").replace("/write:", "/w")


def geomean_summary(rows, key):
    """Geometric mean of B/A per path (first name part) or backing (second)."""
    groups = {}
    for r in rows:
        parts = r["name"].split("/")
        g = parts[0] if key == "path" or len(parts) < 2 else parts[1]
        if r["median_a"] > 0 and r["median_b"] > 0:
            groups.setdefault(g, []).append(r["median_b"] / r["median_a"])
    return {g: (math.exp(sum(map(math.log, v)) / len(v)) - 1) * 100 for g, v in sorted(groups.items())}


def p_text(p):
    for lim in (0.001, 0.01, 0.05):
        if p < lim:
            return f"p < {lim}"
    return f"p = {p:.2f}"


def num(v, w):
    """A number in w columns: one decimal while it fits."""
    s = f"{v:.1f}"
    return f"{s:>{w}}" if len(s) <= w else f"{v:>{w}.3g}"


def result(a_path, b_path, metric="ns_per_page", alpha=0.05, floor=2.0, name_filter=None):
    """Everything a comparison shows, as one dict (raises CompareError)."""
    if metric not in METRICS:
        raise CompareError(f"unknown metric {metric!r}; known: {', '.join(sorted(METRICS))}")
    ctx_a, ra = load(a_path)
    ctx_b, rb = load(b_path)
    if name_filter:
        ra = {k: v for k, v in ra.items() if re.search(name_filter, k)}
        rb = {k: v for k, v in rb.items() if re.search(name_filter, k)}
    if not set(ra) & set(rb):
        raise CompareError("the two sets have no benchmark in common")
    rows = compare_sets(ra, rb, metric, alpha, floor)
    if not rows:
        have = sorted({k for v in ra.values() for x in v for k in x if k in METRICS})
        raise CompareError(f"no benchmark has {metric} on both sides (metrics there: {', '.join(have)})")
    if min(min(r["n_a"], r["n_b"]) for r in rows) < 2:
        raise CompareError("a single repetition per benchmark on one side: no statistics "
                           "possible (run with --benchmark_repetitions=9)")
    ea, eb = set_env(a_path), set_env(b_path)
    diff, warn = env_diff(ctx_a, ctx_b, ea, eb)
    few = sorted({min(r["n_a"], r["n_b"]) for r in rows if min(r["n_a"], r["n_b"]) < 9})
    if few:
        warn.append(f"WARNING: some benchmarks have fewer than 9 repetitions ({few}): weak statistics")
    untestable = [r for r in rows if not r["testable"]]
    if untestable:
        r = untestable[0]
        warn.append(f"WARNING: {len(untestable)} of {len(rows)} benchmarks cannot reach p < {alpha}: with "
                    f"{r['n_a']} vs {r['n_b']} repetitions the smallest Mann-Whitney p is {r['min_p']:.3f}")
    return dict(a=a_path, b=b_path, label_a=ctx_a.get("label") or ea["variant"],
                label_b=ctx_b.get("label") or eb["variant"], metric=metric,
                lower_is_better=METRICS[metric][0], alpha=alpha, floor=floor, warnings=warn,
                env_diff=diff, env_a={k: v for k, v in ea.items() if k != "config"},
                env_b={k: v for k, v in eb.items() if k != "config"}, rows=rows,
                geomean_path=geomean_summary(rows, "path"), geomean_backing=geomean_summary(rows, "backing"))


def header(res, width):
    m = res["metric"]
    out = [f"{m} ({METRICS[m][1]}, {'lower' if res['lower_is_better'] else 'higher'} is better): "
           f"{res['label_b']} vs {res['label_a']}"]
    out += res["warnings"]
    out += [f"A: {res['a']}", f"B: {res['b']}"]
    out.append("environment: " + ("same" if not res["env_diff"] else "differs:"))
    out += ["  " + x for x in res["env_diff"]]
    out.append(f"'*' = p < {res['alpha']} (Mann-Whitney U), 95% bootstrap CI of the change excludes 0, "
               f"|change| > {res['floor']}%")
    return [x if len(x) <= width else x[:width - 3] + "..." for x in out]


def footer(res):
    rows = res["rows"]
    nsig = sum(r["significant"] for r in rows)
    out = [f"{len(rows)} compared, {nsig} significant ({sum(r['verdict'] == 'worse' for r in rows)} worse, "
           f"{sum(r['verdict'] == 'better' for r in rows)} better)"]
    for key in ("path", "backing"):
        s = res[f"geomean_{key}"]
        out.append(f"geomean change by {key}: " + ", ".join(f"{g} {v:+.1f}%" for g, v in s.items()))
    return out


def format_table(res, only_changed=False):
    lines = ["# " + x for x in header(res, 200)]
    lines.append(f"{'benchmark':<44} {'A':>10} {'B':>10} {'change':>8} {'95% CI':>17} {'p':>7}")
    for r in res["rows"]:
        if only_changed and not r["significant"]:
            continue
        ci = f"[{r['ci_lo']:+.1f},{r['ci_hi']:+.1f}]"
        lines.append(f"{short(r['name'])[:44]:<44} {num(r['median_a'], 10)} {num(r['median_b'], 10)} "
                     f"{r['change_pct']:>+7.1f}% {ci:>17} {r['p']:>7.4f}{' *' if r['significant'] else ''}")
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
    cols = f"{'A':>8} {'B':>8} {'change':>7} {'95% CI':>15} {'p':>6}"
    nw = width - len(cols) - 3
    lines.append(f"{'benchmark':<{nw}} {cols}")
    for r in res["rows"]:
        if only_changed and not r["significant"]:
            continue
        ci = f"[{r['ci_lo']:+.1f},{r['ci_hi']:+.1f}]"
        nums = (f"{num(r['median_a'], 8)} {num(r['median_b'], 8)} {r['change_pct']:>+6.1f}% {ci:>15} "
                f"{r['p']:>6.3f}{' *' if r['significant'] else ''}")
        name = short(r["name"])
        if len(name) > nw:
            lines.append(name[:width])
            name = ""
        lines.append(f"{name:<{nw}} {nums}")
    lines.append("")
    for x in footer(res):
        lines += wrap(x, width)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--metric", default="ns_per_page")
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--floor", type=float, default=2.0, help="noise floor in %% (default 2)")
    ap.add_argument("--format", choices=["table", "text", "json"], default="table")
    ap.add_argument("--json", help="also write the comparison as JSON here")
    ap.add_argument("--only-changed", action="store_true")
    ap.add_argument("--filter", help="regex on benchmark names")
    args = ap.parse_args()
    try:
        res = result(args.a, args.b, args.metric, args.alpha, args.floor, args.filter)
    except CompareError as e:
        print(f"compare: {e}", file=sys.stderr)
        return 1
    if args.format == "json":
        json.dump(res, sys.stdout, indent=1)
        print()
    elif args.format == "text":
        print(format_text(res, args.only_changed))
    else:
        print(format_table(res, args.only_changed))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
