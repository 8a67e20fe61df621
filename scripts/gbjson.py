#!/usr/bin/python3
"""Read pinbench's Google Benchmark JSON: validate it, pick figures out of it.

  gbjson.py check FILE [--require-run REGEX ...]
      every benchmark either ran (ns_per_page > 0, or iops > 0 for fio) or
      was skipped with a reason ("SKIP: ...") or refused as its job expects
      ("EXPECTED: ..."); none failed ("ERROR: ..."); each --require-run
      regex matches at least one benchmark that ran.  Prints a summary.
  gbjson.py get FILE NAME_REGEX COUNTER [--stat median|mean|min]
      the counter of the (single) matching benchmark, over its repetitions.
  gbjson.py table FILE
      ns/page (get, put) per probe x backing, a Markdown table.
"""
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pinlab_json import load as load_json  # noqa: E402


def load(path):
    try:
        d = load_json(path)
    except (OSError, ValueError, EOFError) as e:
        sys.exit(f"gbjson: {path}: {e}")
    if "benchmarks" not in d or "context" not in d:
        sys.exit(f"gbjson: {path}: not Google Benchmark JSON")
    return d


def iterations(d):
    """Per-repetition entries (no aggregates)."""
    return [b for b in d["benchmarks"] if b.get("run_type", "iteration") == "iteration"]


def check(path, require):
    d = load(path)
    ran, skipped, expected, failed = {}, {}, {}, {}
    for b in iterations(d):
        name = b["run_name"] if "run_name" in b else b["name"]
        msg = b.get("error_message", "")
        if b.get("error_occurred"):
            if msg.startswith("SKIP: "):
                skipped[name] = msg
            elif msg.startswith("EXPECTED: "):
                expected[name] = msg
            else:
                failed[name] = msg
        elif (b.get("ns_per_page", 0) > 0 and b.get("pages", 0) > 0) or b.get("iops", 0) > 0:
            ran[name] = b
        else:
            failed[name] = "ran but reported no ns_per_page/pages"
    for name, msg in sorted(failed.items()):
        print(f"FAILED {name}: {msg}")
    missing = [r for r in require if not any(re.search(r, n) for n in ran)]
    for r in missing:
        print(f"MISSING no benchmark matching {r!r} ran")
    print(f"{len(ran)} ran, {len(skipped)} skipped, " + (f"{len(expected)} refused as expected, " if expected else "")
          + f"{len(failed)} failed")
    return 1 if failed or missing else 0


def get(path, pattern, counter, stat):
    d = load(path)
    vals, names = [], set()
    for b in iterations(d):
        name = b.get("run_name", b["name"])
        if re.search(pattern, name) and not b.get("error_occurred"):
            names.add(name)
            vals.append(b[counter])
    if len(names) != 1:
        sys.exit(f"gbjson: {pattern!r} matches {len(names)} benchmarks that ran: {sorted(names)[:5]}")
    fn = {"median": statistics.median, "mean": statistics.mean, "min": min}[stat]
    print(fn(vals))
    return 0


def table(path):
    d = load(path)
    rows = {}
    for b in iterations(d):
        if b.get("error_occurred"):
            continue
        name = b.get("run_name", b["name"])
        rows.setdefault(name, []).append(b)
    print("| benchmark | reps | ns/page get (median) | ns/page put (median) |")
    print("|---|---|---|---|")
    for name, bs in sorted(rows.items()):
        get_ = statistics.median(b["ns_per_page"] for b in bs)
        put = [b["ns_per_page_put"] for b in bs if "ns_per_page_put" in b]
        put_s = f"{statistics.median(put):.1f}" if put else "-"
        print(f"| {name.replace('/manual_time', '')} | {len(bs)} | {get_:.1f} | {put_s} |")
    return 0


def main(argv):
    if len(argv) < 3 or argv[1] not in ("check", "get", "table"):
        sys.exit(__doc__)
    if argv[1] == "check":
        req = [argv[i + 1] for i, a in enumerate(argv) if a == "--require-run" and i + 1 < len(argv)]
        return check(argv[2], req)
    if argv[1] == "get":
        if len(argv) < 5:
            sys.exit(__doc__)
        stat = argv[6] if len(argv) > 6 and argv[5] == "--stat" else "median"
        return get(argv[2], argv[3], argv[4], stat)
    return table(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
