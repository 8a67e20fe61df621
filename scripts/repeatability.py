#!/usr/bin/python3
"""Do two boots of one kernel give the same figures?  (--deterministic runs)

  repeatability.py RUN_DIR

For each result set with X.json and X.boot2.json (.boot3 ...; .node1 too), compare
every benchmark repetition's kernel-side figures (ns_per_page, ns_per_page_put
and real_time) across boots: identical, or how far apart.  Exit 0 when all are
identical, 1 otherwise.
"""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pinlab_json import load as load_json  # noqa: E402


def figures(path):
    d = load_json(path)
    out = {}
    for b in d["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        key = (b["run_name"], b.get("repetition_index", 0))
        out[key] = tuple(b.get(k) for k in ("ns_per_page", "ns_per_page_put", "real_time"))
    return out


NAME = re.compile(r"^(?P<set>.+?)(?:\.boot(?P<boot>\d+))?(?P<kind>\.node1)?\.json(?:\.xz)?$")


def main(run):
    groups = {}  # (set, kind) -> {boot: path}
    for path in sorted(glob.glob(os.path.join(run, "*.json")) + glob.glob(os.path.join(run, "*.json.xz"))):
        m = NAME.match(os.path.basename(path))
        if not m:
            continue
        groups.setdefault((m["set"], m["kind"] or ""), {})[int(m["boot"] or 1)] = path
    worst_all = 0.0
    ok = True
    compared = 0
    for (name, kind), boots in sorted(groups.items()):
        if 1 not in boots or len(boots) < 2:
            continue
        a = figures(boots[1])
        for n, o in sorted(boots.items()):
            if n == 1:
                continue
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
            compared += 1
            print(f"{name}{kind}: boot {n} vs boot 1: {same} of {len(common)} samples identical"
                  f" (largest difference {worst:.3f} %)")
    if not compared:
        print("repeatable: nothing to compare (no run with a second boot)")
        return 1
    print("repeatable: yes, bit-identical" if ok else f"repeatable: no (largest difference {worst_all:.3f} %)")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
