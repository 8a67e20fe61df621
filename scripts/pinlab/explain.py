"""scripts/lab explain: where each change's instructions went, by kernel
function, from the profiling boots of a run (scripts/lab run --profile).

For every benchmark both variants profiled, the pass pinbench's figure
came from (the timed pass with the least pin-loop count) is taken on each
side; its per-function counts per page are set side by side, and the
functions that account for the change are listed with the share of it
they explain.  Two checks come first, and a failed one is said:
  - the plugin's count of each pin loop against pinbench's own (the
    instrumentation's clock under -icount): they must agree within 1 %;
  - each profiling boot's pinbench figures against its measuring boot's
    (same image, seed and job): they must be equal, or the plugin touched
    what it measured.
"""
import argparse
import json
import lzma
import os
import sys

from . import PinlabError, names, store, tcgprof, variants

AGREE_PCT = 1.0
MOVED = 0.01   # instructions per page: a function that moved less is not listed


def _open(path):
    path = store.resolve(path)
    return lzma.open(path, "rt") if path.endswith(".xz") else open(path)


def _tmpcopy(path):
    """A plain copy of a possibly compressed file (the readers take paths)."""
    import tempfile
    fd, tmp = tempfile.mkstemp(prefix="pinlab-explain.")
    with os.fdopen(fd, "w") as out, _open(path) as f:
        out.write(f.read())
    return tmp


def boot_passes(run, rec):
    """Every pinbench pass of a boot, in order, from its --passes-out files
    (one per pinbench command, in the job's order)."""
    out = []
    for s in rec.get("sets", []):
        f = os.path.join(run.path, os.path.dirname(s["file"]),
                         os.path.basename(s["file"]).replace(".json", "-passes.tsv"))
        if not os.path.exists(store.resolve(f)):
            raise PinlabError(f"{f}: missing (a boot from before pinbench's --passes-out)")
        tmp = _tmpcopy(f)
        try:
            out.append((s, tcgprof.read_passes(tmp)))
        finally:
            os.unlink(tmp)
    return out


def align(windows, blocks):
    """Each pinbench command's gup_test passes are consecutive windows (two
    per pass), after and before other ioctl users' (pinsem, the
    calibration): a block sits where its passes' pin loops match their
    windows best (the median difference, which must be under 5 %); the
    per-pass agreement is then checked on every pass.  Returns [pass with
    pin/release windows]."""
    import statistics
    out, j0 = [], 0
    for _, passes in blocks:
        # every pass whose loops ran, refused ones too (pinbench writes
        # those as warmup-refused / timed-refused): each has its two windows
        gup = [p for p in passes if p["name"].startswith("gup_test.")]
        if not gup:
            continue
        n = 2 * len(gup)
        best = None
        for j in range(j0, len(windows) - n + 1):
            err = statistics.median(abs(windows[j + 2 * i][0] - p["get"]) / max(p["get"], 1)
                                    for i, p in enumerate(gup))
            if best is None or err < best[0]:
                best = (err, j)
        if best is None or best[0] > 0.05:
            raise PinlabError("profile: no run of windows matches the passes of a pinbench command")
        out += tcgprof.join(windows[best[1]:best[1] + n], gup)
        j0 = best[1] + n
    return out


def load(run):
    """{variant: {"passes": [...], "agree": [...], "equal": (ok, n, detail), "rec": rec}}."""
    out = {}
    for rec in run.index.get("profiles", []):
        if rec.get("verdict") != "ok" or "profile.txt" not in rec["files"]:
            continue
        tmp = _tmpcopy(os.path.join(run.path, rec["files"]["profile.txt"]))
        try:
            windows = tcgprof.read_profile(tmp)
        finally:
            os.unlink(tmp)
        passes = align(windows, boot_passes(run, rec))
        agree = []
        for p in passes:
            # a refused pass's loop is one call: its few hundred
            # instructions are not a check of a per-page count
            if p["get"] and not p["kind"].endswith("-refused"):
                agree.append((p["name"], p["kind"], p["get"], p["pin"][0], (p["pin"][0] - p["get"]) / p["get"] * 100))
        meas = run.boot(store.boot_id(rec["variant"], "deterministic", rec["boot"]))
        out[rec["variant"]] = dict(passes=passes, agree=agree, equal=same_figures(run, rec), rec=rec,
                                   seconds=(rec.get("seconds"), meas.get("seconds") if meas else None))
    return out


def same_figures(run, rec):
    """(ok, compared, first difference) of the profiling boot's pinbench
    figures against its measuring boot's (the same variant, mode and boot)."""
    n, diff = 0, None
    for s in rec.get("sets", []):
        meas = [m for m in run.sets(variant=rec["variant"], mode="deterministic", boot=rec["boot"],
                                   placement=s["placement"])]
        if not meas:
            continue
        _, ra, _ = store.load_gbench(run.set_path(meas[0]), "deterministic")
        _, rb, _ = store.load_gbench(store.resolve(os.path.join(run.path, s["file"])), "deterministic")
        for name in sorted(set(ra) & set(rb)):
            a = [x.get("insn_per_page") for x in ra[name]]
            b = [x.get("insn_per_page") for x in rb[name]]
            n += 1
            if a != b and diff is None:
                diff = f"{names.short(name)}: {a} vs {b}"
    return diff is None and n > 0, n, diff


def figure_pass(passes, name):
    """The timed pass of a benchmark with the least pin-loop count (what
    the boot's figure is made from when a repetition is one pass)."""
    timed = [p for p in passes if p["name"] == name and p["kind"] == "timed" and p["pages"]]
    return min(timed, key=lambda p: p["get"]) if timed else None


def per_page(p):
    total, counts = p["pin"]
    return total / p["pages"], {f: c / p["pages"] for f, c in counts.items()}


def diff(pa, pb, top=8):
    """The functions that account for b - a (per page), largest first:
    (total a, total b, [(function, a, b, delta)], share explained by the
    listed ones)."""
    ta, ca = per_page(pa)
    tb, cb = per_page(pb)
    rows = [(f, ca.get(f, 0.0), cb.get(f, 0.0), cb.get(f, 0.0) - ca.get(f, 0.0)) for f in set(ca) | set(cb)]
    rows = [r for r in rows if abs(r[3]) >= MOVED]
    rows.sort(key=lambda r: (-abs(r[3]), r[0]))
    change = tb - ta
    listed = rows[:top]
    share = sum(r[3] for r in listed) / change * 100 if change else 0.0
    return ta, tb, listed, share


def moved(rows):
    """Functions only on one side whose counts cancel another's: inlined
    (or outlined) code that moved, not a gain and a loss."""
    only_a = [r for r in rows if r[2] == 0 and r[1] > 0]
    only_b = [r for r in rows if r[1] == 0 and r[2] > 0]
    return [(a[0], b[0]) for a in only_a for b in only_b if abs(a[1] - b[2]) <= 0.05 * max(a[1], b[2])]


def explain(run, a, b, bench=None, threshold=0.5, top=8, run_a=None):
    """Markdown lines: the checks, then per benchmark whose per-page count
    moved by more than threshold %, the functions.  run_a: A's profile from
    another run (two seeds, two runs of one variant)."""
    prof_b = load(run)
    prof_a = load(run_a) if run_a else prof_b
    for v, prof, r in ((a, prof_a, run_a or run), (b, prof_b, run)):
        if v not in prof:
            raise PinlabError(f"{r.path}: no profile of {v} (scripts/lab run --profile; have: "
                              f"{', '.join(sorted(prof)) or 'none'})")
    prof = {"a": prof_a[a], "b": prof_b[b]}
    la, lb = (f"{a} ({run_a.id})", f"{b} ({run.id})") if run_a else (a, b)
    md = [f"## Where the instructions went: {lb} against {la}", "",
          "Counted by QEMU's TCG plugin (plugin/pinlab-prof.c) in separate profiling boots of the same images, "
          "seeds and jobs as the measuring boot 1: every guest instruction executed between the "
          "instrumentation's two clock reads around each pin loop, by the kernel function its address falls in "
          "(System.map). Instructions per page pinned, from the pass each figure comes from (a guest under TCG, "
          "not hardware).", ""]
    for side, v in (("a", la), ("b", lb)):
        ag = prof[side]["agree"]
        worst = max(ag, key=lambda x: abs(x[4])) if ag else None
        ok, n, d = prof[side]["equal"]
        md.append(f"- {v}: plugin against pinbench's own count on {len(ag)} passes: "
                  + (f"largest difference {worst[4]:+.3f} % ({names.short(worst[0])}, {worst[3]} vs {worst[2]})"
                     if worst else "no passes")
                  + (" — within" if worst and abs(worst[4]) <= AGREE_PCT else " — NOT within")
                  + f" {AGREE_PCT:g} %; profiling boot's figures " + ("equal to" if ok else "DIFFER from")
                  + f" the measuring boot's on {n} benchmarks" + (f" (first: {d})" if d else "")
                  + (f"; the profiling boot took {prof[side]['seconds'][0]} s, its measuring boot "
                     f"{prof[side]['seconds'][1]} s (host seconds, other VMs sharing the CPUs)"
                     if None not in prof[side]["seconds"] else ""))
    md.append("")
    # the plugin counts from inside the first clock read to the call of the
    # second; pinbench's clock from the first read to the second: they
    # differ by the clock function's own few dozen instructions per pass
    na = {p["name"] for p in prof["a"]["passes"]}
    nb = {p["name"] for p in prof["b"]["passes"]}
    rows = []
    for name in sorted(na & nb):
        if bench and bench not in name:
            continue
        pa, pb = figure_pass(prof["a"]["passes"], name), figure_pass(prof["b"]["passes"], name)
        if not pa or not pb:
            continue
        ta, tb, listed, share = diff(pa, pb, top)
        ch = (tb - ta) / ta * 100 if ta else 0.0
        if abs(ch) < threshold:
            continue
        calls_a, calls_b = pa["calls"] / pa["pages"], pb["calls"] / pb["pages"]
        rows.append(dict(name=name, a=ta, b=tb, change_pct=ch, share=share, calls_per_page=(calls_a, calls_b),
                         functions=[dict(function=f, a=x, b=y, delta=dl) for f, x, y, dl in listed],
                         moved=moved(listed)))
    rows.sort(key=lambda r: -abs(r["change_pct"]))
    if not rows:
        md += [f"No benchmark's count moved by {threshold:g} % or more.", ""]
    for r in rows:
        md += [f"### {names.short(r['name'])}: {r['a']:.1f} -> {r['b']:.1f} insn/page ({r['change_pct']:+.2f} %)", "",
               (f"The {len(r['functions'])} functions below explain" if len(r["functions"]) != 1 else
                "The function below explains") + f" {r['share']:.1f} % of the change.", "",
               "| function | " + la + " | " + lb + " | change per page |", "|---|---:|---:|---:|"]
        md += [f"| `{f['function']}` | {f['a']:.2f} | {f['b']:.2f} | {f['delta']:+.2f} |" for f in r["functions"]]
        md += [f"- `{x}` and `{y}`: the same count on either side: code that moved (inlined or outlined), "
               "not a gain and a loss" for x, y in r["moved"]]
        md.append("")
    return md, dict(a=la, b=lb, threshold_pct=threshold, rows=rows,
                    checks={v: dict(passes=len(prof[side]["agree"]),
                                    worst_pct=max((abs(x[4]) for x in prof[side]["agree"]), default=None),
                                    figures_equal=prof[side]["equal"][0]) for side, v in (("a", la), ("b", lb))})


def picture(path, res, panels=6):
    """A differential picture of where each change went: per benchmark, a
    bar per function, its change in instructions per page (right: more in
    B, left: fewer), the functions that moved first.  SVG, deterministic."""
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "pinlab"
    import matplotlib.pyplot as plt
    rows = res["rows"][:panels]
    if not rows:
        return None
    fig, axes = plt.subplots(len(rows), 1, figsize=(8, 1.0 + 0.32 * sum(len(r["functions"]) + 2 for r in rows)),
                             squeeze=False)
    for ax, r in zip(axes[:, 0], rows):
        fs = list(reversed(r["functions"]))
        ax.barh([f["function"] for f in fs], [f["delta"] for f in fs],
                color=["#d62728" if f["delta"] > 0 else "#2ca02c" for f in fs])
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_title(f"{names.short(r['name'])}: {r['a']:.1f} -> {r['b']:.1f} insn/page "
                     f"({r['change_pct']:+.1f} %, {r['share']:.0f} % explained)", fontsize=8, loc="left")
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel(f"change in instructions per page pinned, {res['b']} against {res['a']} "
                           "(QEMU TCG plugin; a guest under TCG, not hardware)", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(prog="scripts/lab explain", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="results/ID: a run made with --profile")
    ap.add_argument("--a", help="the reference variant (default: B's reference)")
    ap.add_argument("--a-run", metavar="RUN", help="A's profile from this other run (e.g. another seed)")
    ap.add_argument("--b", help="the variant to explain (default: every profiled variant but the baselines)")
    ap.add_argument("--bench", help="only benchmarks whose name contains this")
    ap.add_argument("--threshold", type=float, default=0.5, help="per-page change to explain, %% (default 0.5)")
    ap.add_argument("--top", type=int, default=8, help="functions listed per benchmark (default 8)")
    a = ap.parse_args(argv)
    try:
        run = store.open_run(a.run.rstrip("/"))
        from . import review
        if review.overlay_of(run.path):
            review.use_overlay(review.overlay_of(run.path))
        profiled = [r["variant"] for r in run.index.get("profiles", [])]
        if not profiled:
            raise PinlabError(f"{run.path}: no profiling boots (scripts/lab run --profile)")
        run_a = store.open_run(a.a_run.rstrip("/")) if a.a_run else None
        pairs = []
        for v in ([a.b] if a.b else [x for x in profiled if not x.startswith("baseline")]):
            ref = a.a or variants.reference(v)
            pairs.append((ref, v))
        md, js = [], []
        for ref, v in pairs:
            m, j = explain(run, ref, v, a.bench, a.threshold, a.top, run_a)
            svg = f"explain-{v.replace('@', '_')}-vs-{ref.replace('@', '_')}" + \
                (f"-{run_a.id}" if run_a else "") + ".svg"
            if picture(os.path.join(run.path, svg), j):
                m = m[:2] + [f"![where the instructions went]({svg})", ""] + m[2:]
            md += m
            js.append(j)
    except PinlabError as e:
        print(f"lab: {e}", file=sys.stderr)
        return 2
    # one file pair per question asked: explain-B-vs-A (the default pairs: explain)
    stem = "explain" if not (a.a or a.b or a.a_run or a.bench) else \
        "explain-" + "-vs-".join(x.replace("@", "_") for x in (pairs[0][1], pairs[0][0])) + \
        (f"-{run_a.id}" if run_a else "")
    with open(os.path.join(run.path, f"{stem}.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(run.path, f"{stem}.json"), "w") as f:
        json.dump(js, f, indent=1)
        f.write("\n")
    print("\n".join(md))
    return 0
