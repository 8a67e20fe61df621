#!/usr/bin/python3
"""Do two boots of one kernel give the same figures?  (--deterministic runs)

  repeatability.py RUN_DIR

For each variant with VARIANT.json and VARIANT.boot2.json (.boot3 ...), compare
every benchmark repetition's kernel-side figures (ns_per_page, ns_per_page_put
and real_time) across boots: identical, or how far apart.  Exit 0 when all are
identical, 1 otherwise.
"""
import glob
import json
import os
import sys


def figures(path):
    with open(path) as f:
        d = json.load(f)
    out = {}
    for b in d["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        key = (b["run_name"], b.get("repetition_index", 0))
        out[key] = tuple(b.get(k) for k in ("ns_per_page", "ns_per_page_put", "real_time"))
    return out


def main(run):
    worst_all = 0
    ok = True
    for first in sorted(glob.glob(os.path.join(run, "*.json"))):
        base = os.path.basename(first)
        if ".boot" in base or ".node1" in base:
            continue
        v = base[:-5]
        others = sorted(glob.glob(os.path.join(run, f"{v}.boot*.json")))
        if not others:
            continue
        a = figures(first)
        for o in others:
            b = figures(o)
            common = sorted(set(a) & set(b))
            same = sum(1 for k in common if a[k] == b[k])
            worst = 0.0
            for k in common:
                for x, y in zip(a[k], b[k]):
                    if x and y and x != y:
                        worst = max(worst, abs(x - y) / x * 100)
            worst_all = max(worst_all, worst)
            ok &= same == len(common) and len(common) > 0
            print(f"{v}: {os.path.basename(o)} vs boot 1: {same} of {len(common)} samples identical"
                  f" (largest difference {worst:.3f} %)")
    print("repeatable: yes" if ok else f"repeatable: no (largest difference {worst_all:.3f} %)")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
