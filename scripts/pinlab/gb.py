"""Google Benchmark JSON as pinlab writes it: the verdict of a set (every
benchmark measured, skipped with a reason, refused by the kernel (REFUSED:,
an outcome) or refused as a job expects (EXPECTED:); none failed), one
figure out of it, and a table of its medians."""
import re
import statistics

from . import PinlabError, metrics, store


def outcomes(path):
    """{"ran": {name: entry}, "skipped"|"expected"|"failed": {name: message}}."""
    _, _, entries = store.load_gbench(path)
    out = dict(ran={}, skipped={}, expected={}, refused={}, failed={})
    for b in entries:
        if b.get("run_type", "iteration") != "iteration":
            continue
        name = b.get("run_name", b["name"])
        msg = b.get("error_message", "")
        if b.get("error_occurred"):
            key = ("skipped" if msg.startswith("SKIP: ") else "expected" if msg.startswith("EXPECTED: ")
                   else "refused" if msg.startswith("REFUSED: ") else "failed")
            out[key][name] = msg
        elif ((b.get("ns_per_page", 0) > 0 or b.get("insn_per_page", 0) > 0) and b.get("pages", 0) > 0) \
                or b.get("iops", 0) > 0:
            out["ran"][name] = b
        else:
            out["failed"][name] = "ran but reported no ns_per_page/insn_per_page and pages"
    return out


def check(path, require=()):
    """(ok, lines): the verdict of one set; require: regexes that must each
    match a benchmark that ran."""
    o = outcomes(path)
    lines = [f"FAILED {n}: {m}" for n, m in sorted(o["failed"].items())]
    missing = [r for r in require if not any(re.search(r, n) for n in o["ran"])]
    lines += [f"MISSING no benchmark matching {r!r} ran" for r in missing]
    lines.append(summary(o))
    return not o["failed"] and not missing, lines


def summary(o):
    return (f"{len(o['ran'])} ran, {len(o['skipped'])} skipped, "
            + (f"{len(o['refused'])} refused by the kernel, " if o["refused"] else "")
            + (f"{len(o['expected'])} refused as expected, " if o["expected"] else "")
            + f"{len(o['failed'])} failed")


def get(path, pattern, counter, stat="median"):
    _, reps, _ = store.load_gbench(path)
    names = [n for n in reps if re.search(pattern, n)]
    if len(names) != 1:
        raise PinlabError(f"{pattern!r} matches {len(names)} benchmarks that ran: {sorted(names)[:5]}")
    vals = [b[counter] for b in reps[names[0]] if counter in b]
    if not vals:
        raise PinlabError(f"{names[0]} has no counter {counter!r}")
    return {"median": statistics.median, "mean": statistics.mean, "min": min}[stat](vals)


def table(path):
    """Per-page medians (pin, release) per benchmark, a Markdown table, in
    the set's own unit (ns, or instructions for a deterministic set)."""
    ctx, reps, _ = store.load_gbench(path)
    mode = "deterministic" if ctx.get("clock_counts", "").startswith("instructions") else "wallclock"
    get_m, put_m = metrics.primary("pinbench", mode), metrics.for_mode("ns_per_page_put", mode)
    u = metrics.get(get_m).unit
    out = [f"| benchmark | reps | {u}/page pin (median) | {u}/page release (median) |", "|---|---|---|---|"]
    for name, bs in sorted(reps.items()):
        vals = [b[get_m] for b in bs if get_m in b]
        if not vals:
            continue
        put = [b[put_m] for b in bs if put_m in b]
        put_s = f"{statistics.median(put):.1f}" if put else "-"
        out.append(f"| {name.replace('/manual_time', '')} | {len(bs)} | {statistics.median(vals):.1f} | {put_s} |")
    return out
