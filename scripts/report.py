#!/usr/bin/python3
"""A patch-review report for one pinlab run: Markdown, plain text, plots.

  report.py RUN_DIR [--baseline VARIANT] [--mode deterministic|wallclock]
            [--metric ns_per_page] [--patches DIR]

Writes RUN_DIR/report.md, RUN_DIR/report.txt (80 columns, for a mail),
RUN_DIR/compare-VARIANT.txt (every benchmark) and RUN_DIR/plots/*.svg:
ns/page against pages per call and against VMA count, one figure per path
with a panel per backing, one line per variant, error bars from the
repetitions (min to max).  The sentences that say what the numbers mean are
generated from compare.py's statistics and only where they are significant
(p < alpha, CI excludes 0, beyond the floor); otherwise the report says
"no significant difference".
"""
import argparse
import glob
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
from pinlab_json import load as load_json, manifest, run_sets  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_name(name):
    """gup_test.pin_longterm/anon/size_kb:4096/ppc:1/vmas:1/write:1/... ->
    (path, backing, {size_kb, ppc, vmas, write})"""
    parts = re.sub(r"/(manual_time|real_time)$", "", name).split("/")
    params = {}
    for p in parts[2:]:
        k, sep, v = p.partition(":")
        if sep:
            try:
                params[k] = int(v)
            except ValueError:
                params[k] = v
    return parts[0].replace("gup_test.", ""), parts[1] if len(parts) > 1 else "", params


def variant_conf(patches, variant):
    out = {}
    try:
        with open(os.path.join(patches, variant, "variant.conf")) as f:
            for line in f:
                m = re.match(r'^(\w+)="(.*)"$', line.strip())
                if m:
                    out[m[1]] = m[2]
    except OSError:
        pass
    return out


def where(params, pages_total):
    bits = [f"{k} {params[k]}" for k in ("bs", "rw", "node") if k in params]
    ppc = params.get("ppc")
    if ppc is not None:
        bits.append(f"{'all ' + str(pages_total) if ppc == 0 else ppc} page{'s' if ppc != 1 else ''} per call")
    if "vmas" in params:
        bits.append(f"{params['vmas']} VMA{'s' if params['vmas'] != 1 else ''}")
    return ", ".join(bits)


def sentences(variant, res, unit):
    """What the comparison supports, in a few generated sentences."""
    rows = res["rows"]
    sig = [r for r in rows if r["significant"]]
    untestable = [r for r in rows if not r.get("testable", True)]
    if not sig and len(untestable) == len(rows):
        r = rows[0]
        return [f"**{variant}**: not testable: {r['n_a']} vs {r['n_b']} repetitions cannot reach p < {res['alpha']} "
                f"(the smallest Mann-Whitney p is {r['min_p']:.3f}); run more repetitions."]
    ea, eb = res.get("env_a", {}), res.get("env_b", {})
    if "qemu" in ea and "qemu" in eb and ea.get("mode") == eb.get("mode") == "wallclock":
        # one VM boot per side: every repetition shares its boot's speed, so the
        # test compares two boots, not two kernels
        lo = min(r["change_pct"] for r in rows)
        hi = max(r["change_pct"] for r in rows)
        return [f"**{variant}**: not shown by these figures. Wall-clock, one VM boot per side: the repetitions "
                f"share their boot, so the test compares two boots, not two kernels. {len(sig)} of {len(rows)} "
                f"benchmarks pass it ({sum(r['verdict'] == 'worse' for r in sig)} worse, "
                f"{sum(r['verdict'] == 'better' for r in sig)} better), changes from {lo:+.1f} % to {hi:+.1f} % "
                f"across all paths. Compare deterministic runs, or boots as the unit."]
    if not sig:
        return [f"**{variant}**: no significant difference from {res['label_a']} in any of {len(rows)} "
                f"benchmarks (alpha {res['alpha']}, floor {res['floor']} %)."]
    out = [f"**{variant}**: {len(sig)} of {len(rows)} benchmarks differ significantly from {res['label_a']} "
           f"({sum(r['verdict'] == 'worse' for r in sig)} worse, {sum(r['verdict'] == 'better' for r in sig)} better)."]
    by_path = {}
    for r in sig:
        by_path.setdefault(parse_name(r["name"])[0], []).append(r)
    quiet = sorted({parse_name(r["name"])[0] for r in rows} - set(by_path))
    for path, rs in sorted(by_path.items(), key=lambda kv: -max(abs(r["change_pct"]) for r in kv[1])):
        big = max(rs, key=lambda r: abs(r["change_pct"]))
        _, backing, params = parse_name(big["name"])
        pages = params.get("size_kb", 0) // 4
        med = statistics.median(r["change_pct"] for r in rs)
        out.append(f"- {path}: {len(rs)} benchmark{'s' if len(rs) > 1 else ''} {'worse' if all(r['verdict'] == 'worse' for r in rs) else 'better' if all(r['verdict'] == 'better' for r in rs) else 'changed'} "
                   f"(median change {med:+.1f} %); largest {big['change_pct']:+.1f} % on {backing} at "
                   f"{where(params, pages)} ({big['median_a']:.0f} -> {big['median_b']:.0f} {unit}, "
                   f"95 % CI {big['ci_lo']:+.1f}..{big['ci_hi']:+.1f} %, {compare.p_text(big['p'])}).")
    if quiet:
        out.append(f"- no significant difference on {', '.join(quiet)}.")
    return out


def series(path_json, metric):
    """{name: [values]} of a result set."""
    _, reps = compare.load(path_json)
    return {n: [x[metric] for x in v if metric in x] for n, v in reps.items()}


def plots(run_dir, sets, metric, unit, mode):
    """One SVG per path and sweep (pages per call, VMA count); returns their names."""
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "pinlab"
    import matplotlib.pyplot as plt

    data = {}  # (path, sweep) -> backing -> variant -> [(x, med, lo, hi)]
    for variant, path_json in sets.items():
        for name, vals in series(path_json, metric).items():
            if not vals:
                continue
            path, backing, p = parse_name(name)
            med, lo, hi = statistics.median(vals), min(vals), max(vals)
            pages = p.get("size_kb", 0) // 4
            if p.get("vmas", 1) == 1 and "ppc" in p:
                x = pages if p["ppc"] == 0 else p["ppc"]
                data.setdefault((path, "ppc"), {}).setdefault(backing, {}).setdefault(variant, []).append((x, med, lo, hi))
            if p.get("ppc") == 0 and "vmas" in p:
                data.setdefault((path, "vmas"), {}).setdefault(backing, {}).setdefault(variant, []).append(
                    (p["vmas"], med, lo, hi))
    os.makedirs(os.path.join(run_dir, "plots"), exist_ok=True)
    made = []
    for (path, sweep), by_backing in sorted(data.items()):
        if not any(len(pts) > 1 for v in by_backing.values() for pts in v.values()):
            continue
        backings = sorted(by_backing)
        ncol = min(4, len(backings))
        nrow = (len(backings) + ncol - 1) // ncol
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.8 * nrow), squeeze=False)
        for i, backing in enumerate(backings):
            ax = axes[i // ncol][i % ncol]
            for variant, pts in sorted(by_backing[backing].items(), key=lambda kv: (kv[0] != "baseline", kv[0])):
                pts.sort()
                xs = [q[0] for q in pts]
                ys = [q[1] for q in pts]
                err = [[q[1] - q[2] for q in pts], [q[3] - q[1] for q in pts]]
                ax.errorbar(xs, ys, yerr=err, marker="o", ms=3, capsize=2, lw=1, label=variant)
            ax.set_xscale("log")
            ax.set_title(backing, fontsize=9)
            ax.set_xlabel("pages per call" if sweep == "ppc" else "VMAs in the buffer", fontsize=8)
            ax.set_ylabel(unit, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(True, alpha=0.3)
        for j in range(len(backings), nrow * ncol):
            axes[j // ncol][j % ncol].set_visible(False)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper right", fontsize=7)
        fig.suptitle(f"{path}: {unit} vs {'pages per call (1 VMA)' if sweep == 'ppc' else 'VMA count (whole buffer per call)'}"
                     f" - {mode}; bars: min..max of repetitions", fontsize=9)
        fig.tight_layout(rect=(0, 0, 0.9, 0.95))
        name = f"plots/{sweep}-{path}.svg"
        fig.savefig(os.path.join(run_dir, name), metadata={"Date": None})
        plt.close(fig)
        made.append(name)
    return made


def fio_section(run, fio, results, base):
    """The fio jobs: medians per set, and each variant against the baseline."""
    md = ["", "## fio workloads", ""]
    txt = []
    med = {}
    for v, path in fio.items():
        _, reps = compare.load(path)
        for name, bs in reps.items():
            vals = [b["iops"] for b in bs if "iops" in b]
            if vals:
                med.setdefault(name, {})[v] = (statistics.median(vals),
                                               statistics.median(b["clat_p50_us"] for b in bs if "iops" in b),
                                               statistics.median(b["sys_cpu_pct"] for b in bs if "iops" in b), len(vals))
    order = sorted(fio, key=lambda x: (x != base, x))
    md.append("Median of the repetitions: IOPS (higher is better) / completion latency p50 in us / system CPU %. "
              "Raw fio JSON in the `*fio-raw.tar.xz` archives; every run's outcome in `*runs.tsv`.")
    md += ["", "| job | " + " | ".join(order) + " |", "|---|" + "---|" * len(order)]
    for name in sorted(med):
        cells = []
        for v in order:
            x = med[name].get(v)
            cells.append(f"{x[0]:.0f} / {x[1]:.0f} / {x[2]:.0f}" if x else "-")
        md.append(f"| {name} | " + " | ".join(cells) + " |")
    refused = sorted({b["name"] for p in fio.values() for b in load_json(p)["benchmarks"]
                      if b.get("error_message", "").startswith("EXPECTED")})
    if refused:
        md += ["", "Refused as the job expects (io_uring's long-term registration of FS-DAX memory, "
               "EOPNOTSUPP): " + ", ".join(f"`{r}`" for r in refused) + "."]
    for v, res in sorted(results.items()):
        ss = sentences(f"{v} (fio, IOPS)", res, "IOPS")
        md += [""] + ss + [f"\n> {w}" for w in res["warnings"]]
        txt += [re.sub(r"\*\*", "", x) for x in ss] + [""]
        with open(os.path.join(run, f"compare-{v}-fio.txt"), "w") as f:
            f.write(compare.format_text(res) + "\n")
        md.append(f"\nEvery job: [compare-{v}-fio.txt](compare-{v}-fio.txt).")
    if results:
        md += ["", "The fio figures are wall-clock, from separate boots: a difference between variants is "
               "only real beyond the boot-to-boot swing (see the jobs no variant can change: O_DIRECT pins "
               "with pin_user_pages_fast, without FOLL_LONGTERM, on every kernel here)."]
    return md, txt


def profiles_section(run):
    """Links to every flame graph of the run and its pin-path table."""
    md = []
    for svg in sorted(glob.glob(os.path.join(run, "*flame.svg")) + glob.glob(os.path.join(run, "*", "flame.svg"))):
        rel = os.path.relpath(svg, run)
        stem = rel[:-len("flame.svg")]
        if not md:
            md = ["", "## Profiles", ""]
        md += [f"### {stem.rstrip('./') or 'profile'}", "", f"Flame graph: [{rel}]({rel})"]
        for extra, what in (("perf-report.txt", "perf report"), ("perf-command.txt", "command"),
                            ("perf-pinpath.md", None)):
            path = os.path.join(run, stem + extra)
            if os.path.exists(path) and what:
                md.append(f"{what}: [{stem + extra}]({stem + extra})")
            elif os.path.exists(path):
                with open(path) as f:
                    md += [""] + f.read().splitlines()[:16]
        md.append("")
    return md


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--baseline", default="baseline", help="the variant the others are compared with; none: no comparison")
    ap.add_argument("--mode", choices=["deterministic", "wallclock"])
    ap.add_argument("--metric", default="ns_per_page")
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--floor", type=float, default=2.0)
    ap.add_argument("--patches", default=os.path.join(TOP, "kernel-patches", "6.1"))
    ap.add_argument("--no-plots", action="store_true")
    a = ap.parse_args()
    run = a.run.rstrip("/")
    if not os.path.isdir(run):
        sys.exit(f"report: {run}: no such run directory")
    if a.metric not in compare.METRICS:
        sys.exit(f"report: unknown metric {a.metric!r}")
    found = {k: v for k, v in run_sets(run).items() if k[2] == 1 and k[3] in ("", "fio")}
    fio_sets, all_sets = {}, {}
    for k, v in found.items():
        try:
            _, reps = compare.load(v)
        except compare.CompareError as e:
            sys.exit(f"report: {e}")
        is_fio = k[3] == "fio" or not any("ns_per_page" in x for r in reps.values() for x in r)
        (fio_sets if is_fio else all_sets)[k] = v
    if not all_sets and not fio_sets:
        sys.exit(f"report: {run}: no Google Benchmark result sets (VARIANT[.det][.fio].json[.xz])")
    modes = sorted({k[1] for k in all_sets})
    mode = a.mode or ("deterministic" if "deterministic" in modes else "wallclock")
    sets = {k[0]: v for k, v in all_sets.items() if k[1] == mode}
    fio = {k[0]: v for k, v in fio_sets.items()}
    if all_sets and not sets:
        sys.exit(f"report: {run}: no {mode} result sets (have: {', '.join(modes)})")
    if a.baseline != "none" and sets and a.baseline not in sets:
        sys.exit(f"report: {run}: no {mode} set for baseline {a.baseline!r} (have: {', '.join(sorted(sets))}; "
                 "--baseline none reports without comparisons)")
    base = None if a.baseline == "none" else a.baseline
    results, fio_results = {}, {}
    for v in sorted(sets):
        if base and v != base:
            try:
                results[v] = compare.result(sets[base], sets[v], a.metric, a.alpha, a.floor)
            except compare.CompareError as e:
                sys.exit(f"report: {v} against {base}: {e}")
    for v in sorted(fio):
        if base in fio and v != base:
            try:
                fio_results[v] = compare.result(fio[base], fio[v], "iops", a.alpha, a.floor)
            except compare.CompareError as e:
                sys.exit(f"report: fio {v} against {base}: {e}")
    man = manifest(run)
    if sets:
        unit = "instruction-ns/page" if mode == "deterministic" and a.metric.startswith("ns_") else compare.METRICS[a.metric][1]
    else:  # fio only: wall-clock IOPS
        mode, unit = "wallclock", compare.METRICS["iops"][1]
    rid = os.path.basename(os.path.abspath(run))

    md = [f"# pinlab report: {rid}", ""]
    md.append(f"Made by `scripts/lab report {rid}"
              f"{'' if a.baseline == 'baseline' else ' --baseline ' + a.baseline}"
              f"{' --mode ' + a.mode if a.mode else ''}` from the files in this directory.")
    md += ["", "## Setup", ""]
    for k, label in (("command", "command"), ("base", "base kernel"), ("kernel", "kernel"), ("host", "machine"),
                     ("cpu", "CPU"), ("qemu", "QEMU"), ("wallclock accel", "wall-clock accel"),
                     ("deterministic", "deterministic mode"), ("mode", "mode"), ("guest", "guest, pmem, NUMA"),
                     ("matrix", "matrix"), ("pinlab", "pinlab revision")):
        if k in man:
            md.append(f"- {label}: {man[k]}")
    if sets:
        md.append(f"- figures in this report: {mode} ({unit}); metric `{a.metric}` "
                  f"({'lower' if compare.METRICS[a.metric][0] else 'higher'} is better)")
    if mode == "wallclock" and "deterministic" in modes:
        md.append("- this run also has deterministic sets: `--mode deterministic` compares those")
    numa = os.path.join(run, f"{base or next(iter(sets or fio))}.numa.txt")
    if os.path.exists(numa):
        with open(numa) as f:
            md.append("- NUMA: " + "; ".join(line.strip() for line in f.read().splitlines()[:5]))
    variants = sorted(set(sets) | (set(fio) if os.path.exists(os.path.join(run, "matrix.txt")) else set()),
                      key=lambda x: (x != base, x))
    confs = {v: variant_conf(a.patches, v) for v in variants}
    if any(confs.values()):
        md += ["", "| variant | reproduces | what it changes |", "|---|---|---|"]
        for v in variants:
            md.append(f"| {v} | {confs[v].get('REPRODUCES', '-')} | {confs[v].get('DESCRIPTION', '-')} |")

    txt_summary = []
    if base and sets:
        md += ["", f"## Against {base}", ""]
        if mode == "wallclock":
            md.append("Wall-clock repetitions share their boot: across TCG boots even paths no variant "
                      "touches move by tens of %, so treat wall-clock differences as real only where they "
                      "exceed those control paths; deterministic figures do not have this problem.")
            md.append("")
        for v in sorted(sets):
            if v == base:
                continue
            res = results[v]
            with open(os.path.join(run, f"compare-{v}.txt"), "w") as f:
                f.write(compare.format_text(res) + "\n")
            ss = sentences(v, res, unit)
            md += ss
            md += ["", f"Every benchmark: [compare-{v}.txt](compare-{v}.txt). Significant changes, largest first:", ""]
            sig = sorted((r for r in res["rows"] if r["significant"]), key=lambda r: -abs(r["change_pct"]))
            if sig:
                md += [f"| benchmark | {base} | {v} | change | 95 % CI | p |", "|---|---|---|---|---|---|"]
                for r in sig[:15]:
                    md.append(f"| {compare.short(r['name'])} | {r['median_a']:.1f} | {r['median_b']:.1f} | "
                              f"{r['change_pct']:+.1f} % | {r['ci_lo']:+.1f}..{r['ci_hi']:+.1f} % | {compare.p_text(r['p'])} |")
                if len(sig) > 15:
                    md.append(f"| ... {len(sig) - 15} more in compare-{v}.txt | | | | | |")
            else:
                md.append("(none)")
            for w in res["warnings"]:
                md.append(f"\n> {w}")
            md.append("")
            txt_summary += [re.sub(r"\*\*", "", s) for s in ss] + [""]
    elif sets:
        md += ["", "No comparison (--baseline none): the plots show every set of this mode.", ""]
    if fio:
        fmd, ftxt = fio_section(run, fio, fio_results, base)
        md += fmd
        txt_summary += ftxt
    md += profiles_section(run)
    made = [] if a.no_plots or not sets else plots(run, sets, a.metric, unit, mode)
    if made:
        md += ["## Plots", ""]
        for p in made:
            md += [f"![{p}]({p})", ""]
    with open(os.path.join(run, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    txt = [f"pinlab report {rid} ({mode}, {unit})", ""]
    # the text version: the lines before the first section after Setup, no
    # headings or tables (those stay in report.md)
    for line in md[2:]:
        if line.startswith("## ") and line != "## Setup":
            break
        if line.startswith("|") or line.startswith("#"):
            continue
        txt += compare.wrap(line, 80) if line else [""]
    txt += [f"Against {base}:", ""] if base and txt_summary else []
    for s in txt_summary:
        txt += compare.wrap(s, 80, "    ") if s else [""]
    with open(os.path.join(run, "report.txt"), "w") as f:
        f.write("\n".join(txt) + "\n")
    print(f"report: {run}/report.md, report.txt, {len(results)} comparison(s), {len(made)} plot(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
