#!/usr/bin/python3
"""Path x backing tables of one lab variant (Markdown).

  baseline_table.py RUN_DIR [VARIANT]   (default baseline)

Deterministic ns/page (instruction counts, VARIANT.det.json) beside the
wall-clock median and range over the repetitions (VARIANT.json), per pages
per call at one VMA; then ns/page against VMA count on anon.
"""
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pinlab_json import load as load_json  # noqa: E402

PATHS = ["gup_fast", "pin_fast", "pin_fast_longterm", "pin_longterm", "gup_remote", "pin_remote",
         "pin_remote_longterm"]
BACKINGS = ["anon", "thp", "hugetlb_2m", "shmem", "pagecache", "fsdax", "devdax"]


def load(path):
    out = {}
    for b in load_json(path)["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        out.setdefault(re.sub(r"/iterations:\d+/manual_time$", "", b["run_name"]), []).append(b)
    return out


def main(run, variant="baseline"):
    wall = load(os.path.join(run, f"{variant}.json"))
    det = load(os.path.join(run, f"{variant}.det.json"))
    size = re.search(r"size_kb:(\d+)", next(iter(wall))).group(1)
    for ppc in ("1", "512", "0"):
        print(f"\n{variant}, {int(size) // 1024} MiB, {ppc if ppc != '0' else 'all'} pages per call, 1 VMA: "
              "deterministic ns/page (instructions) | wall-clock median [min-max] over the repetitions\n")
        print("| path | " + " | ".join(BACKINGS) + " |")
        print("|---|" + "---|" * len(BACKINGS))
        for p in PATHS:
            cells = []
            for bk in BACKINGS:
                k = f"gup_test.{p}/{bk}/size_kb:{size}/ppc:{ppc}/vmas:1/write:1"
                if k in det and k in wall:
                    d = statistics.median(x["ns_per_page"] for x in det[k])
                    w = [x["ns_per_page"] for x in wall[k]]
                    cells.append(f"{d:.0f} \\| {statistics.median(w):.0f} [{min(w):.0f}-{max(w):.0f}]")
                else:
                    cells.append("refused/skipped")
            print(f"| {p} | " + " | ".join(cells) + " |")
    print(f"\n{variant}, anon, all pages in one call: deterministic ns/page against the VMA count\n")
    print("| path | 1 VMA | 64 VMAs | 1024 VMAs |\n|---|---|---|---|")
    for p in PATHS:
        v = []
        for n in ("1", "64", "1024"):
            k = f"gup_test.{p}/anon/size_kb:{size}/ppc:0/vmas:{n}/write:1"
            v.append(f"{statistics.median(x['ns_per_page'] for x in det[k]):.1f}" if k in det else "-")
        print(f"| {p} | " + " | ".join(v) + " |")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
