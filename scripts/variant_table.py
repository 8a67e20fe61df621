#!/usr/bin/python3
"""Tabulate a lab run's variants against baseline (Markdown).

  variant_table.py RUN_DIR [--backing anon] [--paths p1,p2] [--metric ns_per_page]

For each path x pages-per-call x VMA count on one backing: baseline's
deterministic figure (instruction-ns per page, identical in every
repetition) and each variant's change from it; then the same from the
wall-clock repetitions, as median change with its Mann-Whitney U p-value,
marked '*' when p < 0.05 and |change| > 2 %.  A cell is '-' when the case
did not run (refused or skipped) on that side.
"""
import argparse
import os
import re
import statistics
import sys

from scipy.stats import mannwhitneyu

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pinlab_json import exists, load as load_json  # noqa: E402

VARIANTS = ["baseline", "vmas-array", "longterm-wrapper", "callsite-check", "fast-devdax-longterm"]


def load(path, metric):
    if not exists(path):
        return {}
    d = load_json(path)
    out = {}
    for b in d["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred") or metric not in b:
            continue
        key = re.sub(r"/iterations:\d+/manual_time$", "", b["run_name"])
        out.setdefault(key, []).append(b[metric])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--backing", default="anon")
    ap.add_argument("--paths", default="gup_test.pin_longterm,gup_test.pin_fast_longterm,"
                    "gup_test.pin_remote_longterm,gup_test.pin_remote,gup_test.gup_remote")
    ap.add_argument("--metric", default="ns_per_page")
    a = ap.parse_args()
    variants = [v for v in VARIANTS if exists(os.path.join(a.run, f"{v}.json"))]
    if "baseline" not in variants:
        sys.exit(f"variant_table: no baseline.json in {a.run}")
    det = {v: load(os.path.join(a.run, f"{v}.det.json"), a.metric) for v in variants}
    wall = {v: load(os.path.join(a.run, f"{v}.json"), a.metric) for v in variants}
    others = [v for v in variants if v != "baseline"]
    print(f"{a.metric} on {a.backing}: baseline, and each variant's change from it "
          f"(deterministic | wall-clock median, p)\n")
    print("| path | ppc | vmas | baseline det | " + " | ".join(others) + " |")
    print("|---|---|---|---|" + "---|" * len(others))
    keys = sorted(k for k in wall["baseline"] if k.split("/")[1] == a.backing and k.split("/")[0] in a.paths.split(","))
    for key in keys:
        p = key.split("/")
        ppc = p[3].split(":")[1]
        ppc = "all" if ppc == "0" else ppc
        vmas = p[4].split(":")[1]
        bd = det["baseline"].get(key)
        bw = wall["baseline"].get(key)
        cells = []
        for v in others:
            d, w = det[v].get(key), wall[v].get(key)
            dc = f"{(statistics.median(d) / statistics.median(bd) - 1) * 100:+.1f}%" if d and bd else "-"
            if w and bw:
                ch = (statistics.median(w) / statistics.median(bw) - 1) * 100
                pv = 1.0 if w == bw else mannwhitneyu(bw, w, alternative="two-sided").pvalue
                star = "*" if pv < 0.05 and abs(ch) > 2 else ""
                wc = f"{ch:+.1f}% p={pv:.3f}{star}"
            else:
                wc = "-"
            cells.append(f"{dc} \\| {wc}")
        base = f"{statistics.median(bd):.1f}" if bd else "-"
        print(f"| {p[0].replace('gup_test.', '')} | {ppc} | {vmas} | {base} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
