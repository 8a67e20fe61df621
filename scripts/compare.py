#!/usr/bin/python3
"""Compare two pinbench result sets (Google Benchmark JSON), benchmark by
benchmark, with real statistics.

  compare.py A.json B.json [--metric ns_per_page] [--alpha 0.05]
             [--floor 2.0] [--json OUT] [--only-changed]

For every benchmark present in both (matched by run_name), over the
per-repetition values: median of each side, change in % (B vs A), a 95 %
bootstrap confidence interval of the change of medians (2000 resamples,
fixed seed), and the two-sided Mann-Whitney U p-value.  A change is marked
significant ('*') only when p < alpha, the CI excludes 0 and |change| is
above the noise floor (%).  Lower is better for every time metric; the
direction of each metric comes from METRICS below, never guessed.
"""
import argparse
import json
import math
import os
import lzma
import random
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pinlab_json import load as load_json  # noqa: E402

try:
    from scipy.stats import mannwhitneyu
except ImportError:  # pragma: no cover
    sys.exit("compare: needs python3-scipy (scripts/deps.sh)")

# metric -> (lower_is_better, unit)
METRICS = {
    "real_time": (True, "time per pass"),
    "ns_per_page": (True, "ns/page pin"),
    "ns_per_page_put": (True, "ns/page release"),
    "ns_per_call": (True, "ns/call"),
}


def load(path):
    try:
        d = load_json(path)
    except OSError as e:
        sys.exit(f"compare: {path}: {e.strerror}")
    except (ValueError, EOFError, lzma.LZMAError) as e:
        sys.exit(f"compare: {path}: not JSON ({e})")
    if not isinstance(d, dict) or "benchmarks" not in d or "context" not in d:
        sys.exit(f"compare: {path}: not Google Benchmark JSON (no context/benchmarks)")
    reps = {}
    for b in d["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        reps.setdefault(b.get("run_name", b["name"]), []).append(b)
    return d["context"], reps


ENV_KEYS = ["host_name", "num_cpus", "kernel_release", "label", "proc_version", "kernel_cmdline",
            "thp_enabled", "thp_defrag", "hugepages_2048kB", "hugepages_1048576kB", "numa_nodes",
            "numa_placement", "pinlab_revision", "library_build_type"]


def env_diff(ca, cb):
    """The context lines that differ between the two sides."""
    out = []
    for k in ENV_KEYS:
        va, vb = ca.get(k), cb.get(k)
        if va != vb:
            out.append(f"#   {k}: {va!r} -> {vb!r}")
    return out


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


def compare(reps_a, reps_b, metric, alpha, floor):
    rows = []
    for name in sorted(set(reps_a) & set(reps_b)):
        a = [x[metric] for x in reps_a[name] if metric in x]
        b = [x[metric] for x in reps_b[name] if metric in x]
        if not a or not b:
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        change = (mb - ma) / ma * 100 if ma else math.nan
        if a == b or (len(set(a)) == 1 and len(set(b)) == 1 and a[0] == b[0]):
            p = 1.0
        else:
            p = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
        lo, hi = bootstrap_ci(a, b)
        sig = bool(p < alpha and abs(change) > floor and not (lo <= 0 <= hi))
        lower_better = METRICS.get(metric, (True, ""))[0]
        verdict = ""
        if sig:
            verdict = "better" if (change < 0) == lower_better else "worse"
        rows.append(dict(name=name, n_a=len(a), n_b=len(b),
                         median_a=ma, median_b=mb, change_pct=change, ci_lo=lo, ci_hi=hi,
                         p=p, significant=sig, verdict=verdict))
    return rows


def short(name):
    """A benchmark name for an 80-column table: gup_test.pin_fast/anon/8M/ppc:512/vmas:1/w1."""
    name = re.sub(r"/(manual_time|real_time)$", "", name)
    name = re.sub(r"/iterations:\d+", "", name)
    name = re.sub(r"size_kb:(\d+)", lambda m: f"{int(m.group(1)) // 1024}M" if int(m.group(1)) % 1024 == 0
                  else f"{m.group(1)}K", name)
    return name.replace("gup_test.", "").replace("/write:", "/w")


def geomean_summary(rows, key):
    groups = {}
    for r in rows:
        parts = r["name"].split("/")
        g = parts[0] if key == "path" else parts[1]
        if r["median_a"] > 0 and r["median_b"] > 0:
            groups.setdefault(g, []).append(r["median_b"] / r["median_a"])
    return {g: (math.exp(sum(map(math.log, v)) / len(v)) - 1) * 100 for g, v in sorted(groups.items())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--metric", default="ns_per_page", choices=sorted(METRICS))
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--floor", type=float, default=2.0, help="noise floor in %% (default 2)")
    ap.add_argument("--json", help="write the comparison as JSON here")
    ap.add_argument("--only-changed", action="store_true")
    ap.add_argument("--filter", help="regex on benchmark names")
    args = ap.parse_args()
    ctx_a, ra = load(args.a)
    ctx_b, rb = load(args.b)
    if args.filter:
        ra = {k: v for k, v in ra.items() if re.search(args.filter, k)}
        rb = {k: v for k, v in rb.items() if re.search(args.filter, k)}
    common = set(ra) & set(rb)
    if not common:
        sys.exit("compare: the two sets have no benchmark in common")
    rows = compare(ra, rb, args.metric, args.alpha, args.floor)
    if not rows:
        sys.exit(f"compare: no benchmark has {args.metric} on both sides")
    few = sorted({min(r["n_a"], r["n_b"]) for r in rows if min(r["n_a"], r["n_b"]) < 9})
    if max(max(r["n_a"], r["n_b"]) for r in rows) < 2 or min(min(r["n_a"], r["n_b"]) for r in rows) < 2:
        sys.exit("compare: a single repetition per benchmark on one side: no statistics "
                 "possible (run with --benchmark_repetitions=9)")
    la, lb = ctx_a.get("label") or "A", ctx_b.get("label") or "B"
    print(f"# {args.metric} ({METRICS[args.metric][1]}, lower is better): {lb} vs {la}")
    print(f"# A: {args.a}\n# B: {args.b}")
    if ctx_a.get("host_name") != ctx_b.get("host_name"):
        print(f"# WARNING: different hosts ({ctx_a.get('host_name')} vs {ctx_b.get('host_name')})")
    diff = env_diff(ctx_a, ctx_b)
    print("# environment: " + ("same" if not diff else "differs:"))
    for line in diff:
        print(line)
    if few:
        print(f"# WARNING: some benchmarks have fewer than 9 repetitions ({few}): weak statistics")
    print(f"# '*' = p < {args.alpha} (Mann-Whitney U), 95% bootstrap CI excludes 0, |change| > {args.floor}%")
    print(f"{'benchmark':<40} {'A':>9} {'B':>9} {'change':>8} {'95% CI':>17} {'p':>7}")
    for r in rows:
        if args.only_changed and not r["significant"]:
            continue
        ci = f"[{r['ci_lo']:+.1f},{r['ci_hi']:+.1f}]"
        print(f"{short(r['name'])[:40]:<40} {r['median_a']:>9.1f} {r['median_b']:>9.1f} "
              f"{r['change_pct']:>+7.1f}% {ci:>17} {r['p']:>7.4f}{' *' if r['significant'] else ''}")
    nsig = sum(r["significant"] for r in rows)
    print(f"# {len(rows)} compared, {nsig} significant "
          f"({sum(r['verdict'] == 'worse' for r in rows)} worse, {sum(r['verdict'] == 'better' for r in rows)} better)")
    for key in ("path", "backing"):
        s = geomean_summary(rows, key)
        print(f"# geomean change by {key}: " + ", ".join(f"{g} {v:+.1f}%" for g, v in s.items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(a=args.a, b=args.b, metric=args.metric, alpha=args.alpha, floor=args.floor,
                           rows=rows, geomean_path=geomean_summary(rows, "path"),
                           geomean_backing=geomean_summary(rows, "backing")), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
