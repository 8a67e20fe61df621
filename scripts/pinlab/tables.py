"""Markdown tables of a lab run, from its index: one variant's figures per
path x backing (deterministic beside wall-clock), and every variant's
change from baseline on one backing.  Paths, backings and variants come
from the data (benchmark order as pinbench registered them, variants in
the run's order), never from typed lists."""
import re
import statistics

from scipy.stats import mannwhitneyu

from . import PinlabError, store

PREFIX = "gup_test."


def load(run, variant, mode, metric="ns_per_page"):
    """{PROBE/BACKING/size_kb:S/ppc:P/vmas:V/write:W: [values]} in pinbench's order, or {}."""
    sets = run.sets(variant=variant, mode=mode, placement="default", boot=1, kind="pinbench")
    if not sets:
        return {}
    _, reps, _ = store.load_gbench(run.set_path(sets[0]))
    return {re.sub(r"/iterations:\d+/manual_time$|/manual_time$", "", k): [b[metric] for b in v if metric in b]
            for k, v in reps.items()}


def order(keys, i):
    out = []
    for k in keys:
        x = k.split("/")[i]
        if x not in out:
            out.append(x)
    return out


def variant_figures(run, variant="baseline"):
    """Deterministic median | wall-clock median [min-max] per path x backing."""
    wall, det = load(run, variant, "wallclock"), load(run, variant, "deterministic")
    if not wall or not det:
        raise PinlabError(f"{run.path}: {variant} needs a wall-clock and a deterministic set")
    size = re.search(r"size_kb:(\d+)", next(iter(wall)))[1]
    paths = [p.removeprefix(PREFIX) for p in order(wall, 0)]
    backings = order(wall, 1)
    out = []
    for ppc in ("1", "512", "0"):
        out += [f"\n{variant}, {int(size) // 1024} MiB, {ppc if ppc != '0' else 'all'} pages per call, 1 VMA: "
                "deterministic ns/page (instructions) | wall-clock median [min-max] over the repetitions\n",
                "| path | " + " | ".join(backings) + " |", "|---|" + "---|" * len(backings)]
        for p in paths:
            cells = []
            for bk in backings:
                k = f"{PREFIX}{p}/{bk}/size_kb:{size}/ppc:{ppc}/vmas:1/write:1"
                if det.get(k) and wall.get(k):
                    w = wall[k]
                    cells.append(f"{statistics.median(det[k]):.0f} \\| {statistics.median(w):.0f} "
                                 f"[{min(w):.0f}-{max(w):.0f}]")
                else:
                    cells.append("refused/skipped")
            out.append(f"| {p} | " + " | ".join(cells) + " |")
    out += [f"\n{variant}, anon, all pages in one call: deterministic ns/page against the VMA count\n",
            "| path | 1 VMA | 64 VMAs | 1024 VMAs |\n|---|---|---|---|"]
    for p in paths:
        v = [f"{statistics.median(det[k]):.1f}" if det.get(k) else "-"
             for k in (f"{PREFIX}{p}/anon/size_kb:{size}/ppc:0/vmas:{n}/write:1" for n in (1, 64, 1024))]
        out.append(f"| {p} | " + " | ".join(v) + " |")
    return out


def cell(d, bd, w, bw):
    dc = f"{(statistics.median(d) / statistics.median(bd) - 1) * 100:+.1f}%" if d and bd else "-"
    if not (w and bw):
        return f"{dc} \\| -"
    ch = (statistics.median(w) / statistics.median(bw) - 1) * 100
    pv = 1.0 if w == bw else mannwhitneyu(bw, w, alternative="two-sided").pvalue
    return f"{dc} \\| {ch:+.1f}% p={pv:.3f}{'*' if pv < 0.05 and abs(ch) > 2 else ''}"


def variant_changes(run, backing="anon", paths=None, metric="ns_per_page"):
    """Each variant's change from baseline on one backing, deterministic | wall-clock."""
    variants = [v for v in run.index.get("variants", []) if load(run, v, "wallclock", metric)]
    if "baseline" not in variants:
        raise PinlabError(f"{run.path}: no baseline wall-clock set")
    det = {v: load(run, v, "deterministic", metric) for v in variants}
    wall = {v: load(run, v, "wallclock", metric) for v in variants}
    others = [v for v in variants if v != "baseline"]
    paths = paths or [PREFIX + p for p in ("pin_longterm", "pin_fast_longterm", "pin_remote_longterm",
                                           "pin_remote", "gup_remote")]
    out = [f"{metric} on {backing}: baseline, and each variant's change from it "
           f"(deterministic | wall-clock median, p)\n",
           "| path | ppc | vmas | baseline det | " + " | ".join(others) + " |",
           "|---|---|---|---|" + "---|" * len(others)]
    for key in sorted(k for k in wall["baseline"] if k.split("/")[1] == backing and k.split("/")[0] in paths):
        p = key.split("/")
        ppc = "all" if p[3] == "ppc:0" else p[3].split(":")[1]
        bd = det["baseline"].get(key)
        cells = [cell(det[v].get(key), bd, wall[v].get(key), wall["baseline"].get(key)) for v in others]
        base = f"{statistics.median(bd):.1f}" if bd else "-"
        out.append(f"| {p[0].removeprefix(PREFIX)} | {ppc} | {p[4].split(':')[1]} | {base} | "
                   + " | ".join(cells) + " |")
    return out
