"""pinlab's regression dashboard: one self-contained HTML page (no network)
built from every indexed run under results/.  For every benchmark: its
history across runs (one series per set and mode, median with min..max),
the variants of its latest run side by side, and the changes compare flags
(each variant against its run's baseline of the same base, each newer
base's baseline against the oldest base's in the same run, and each series
against the same series in the previous run that has it), and the kernel
versions: each base's baseline in the latest run that measured it.  The page's own script draws the
charts into SVG and says how many it drew (id="status").

Its default view: the newest run of each series (variant and mode), none
of the runs results/superseded.toml names (made with an instrument the lab
no longer uses), and no control: a control's flags (variant.conf CONTROL)
are its own table, expected (met) or unexpected (missed), never among
regressions.  Everything else is one click away."""
import glob
import html
import json
import tomllib
import os
import re
import statistics
import sys

from . import PinlabError, compare, env, metrics, store, variants
from .names import short

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboard.html")


def run_date(rid, man):
    m = re.match(r"^(\d{4})(\d{2})(\d{2})", rid)
    if "date" in man:
        return man["date"][:10]
    return f"{m[1]}-{m[2]}-{m[3]}" if m else "?"


def run_entry(run, out_dir, bench, runs):
    """The run's row and its sets' medians (into bench); {(series, mode): (ref, metric)}."""
    man = run.manifest()
    entry = dict(id=run.id, date=run_date(run.id, man),
                 kernel=re.sub(r" sha256 [0-9a-f]+", "", man.get("base", man.get("kernel", "?"))),
                 mode=man.get("modes", man.get("mode", "")),
                 report=os.path.relpath(os.path.join(run.path, "report.md"), out_dir)
                 if os.path.exists(os.path.join(run.path, "report.md")) else None, sets=[])
    loaded = {}
    for s in sorted(run.sets(placement="default", boot=1), key=lambda s: (s["series"], s["mode"])):
        ref = env.with_boots(env.SetRef(run.set_path(s), run, s))   # its boots are the samples
        try:
            _, reps, _ = store.load_gbench(ref.path, env.mode_of(ref))
        except PinlabError as e:
            print(f"dashboard: skipping {ref.path}: {e}", file=sys.stderr)
            continue
        metric = metrics.primary(s["kind"], s["mode"])
        si = len(entry["sets"])
        entry["sets"].append(dict(variant=s["series"], mode=s["mode"], metric=metric,
                                  file=os.path.relpath(ref.path, out_dir),
                                  base=version_of(s, run) if run.index["kind"] == "lab" else None,
                                  baseline=run.index["kind"] == "lab" and variants.split(s["variant"])[0] == "baseline"))
        loaded[(s["series"], s["variant"], s["kind"], s["mode"])] = (ref, metric)
        for name, bs in reps.items():
            vals = [b[metric] for b in bs if metric in b]
            if vals:
                bench.setdefault(short(name), []).append(
                    [len(runs), si, round(statistics.median(vals), 3), round(min(vals), 3),
                     round(max(vals), 3), len(vals)])
    return entry, loaded


def version_of(s, run):
    """The kernel version of a lab set: its base (older runs: 6.1)."""
    m = re.match(r"^(\d+\.\d+)", s.get("base") or "")
    return m[1] if m else variants.DEFAULT_BASE


def superseded(results):
    """{run id: reason} from results/superseded.toml."""
    path = os.path.join(results, "superseded.toml")
    if not os.path.exists(path):
        return {}
    try:
        with open(path, "rb") as f:
            return dict(tomllib.load(f).get("runs", {}))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise PinlabError(f"{path}: {e}") from None


def control_of(series):
    """(regex, expectation) of a control variant's series, else None."""
    try:
        return variants.conf(series).get("control")
    except PinlabError:
        return None


CONTROLS = []


def build(results, out_dir, alpha, floor):
    runs, bench, flags, seen, last = [], {}, [], [], {}
    CONTROLS.clear()
    old = superseded(results)
    for run in store.find_runs(results):
        entry, loaded = run_entry(run, out_dir, bench, runs)
        if not entry["sets"]:
            continue
        entry["superseded"] = old.get(run.id)
        runs.append(entry)
        seen.append((run.id, loaded))
        # each variant against its run's baseline of the same base, and a
        # newer base's baseline against the base before it (6.1 -> 6.12 ->
        # 7.3): same kind and mode
        bl = variants.baselines(v2 for (_, v2, _, _) in loaded)
        bls = [bl[b] for b in sorted(bl, key=variants.version_key)]
        for (series, variant, kind, mode), (ref, metric) in sorted(loaded.items()):
            want = variants.reference(variant) if variant != variants.reference(variant) else \
                (bls[bls.index(variant) - 1] if variant in bls and bls.index(variant) > 0 else None)
            base = next((r for (_, v2, k2, m2), (r, _) in loaded.items()
                         if v2 == want and k2 == kind and m2 == mode), None)
            if base:
                add_flags(flags, base, ref, metric, alpha, floor, run.id, f"{series} vs {want} ({mode})",
                          series, mode)
    # the same series and mode in the previous run that has it
    for rid, loaded in seen:
        for (series, _, _, mode), (ref, metric) in sorted(loaded.items()):
            key = (series, mode, metric)
            if key in last:
                add_flags(flags, last[key][1], ref, metric, alpha, floor, rid,
                          f"{series} ({mode}) since {last[key][0]}", series, mode, since=True)
            last[key] = (rid, ref)
    # the newest run of each series and mode, among runs not superseded
    newest = {}
    for rid, loaded in seen:
        if rid in old:
            continue
        for (series, _, _, mode) in loaded:
            newest[(series, mode)] = rid
    for f in flags + CONTROLS:
        f["superseded"] = f["run"] in old
        f["latest"] = newest.get((f.pop("series"), f.pop("mode"))) == f["run"]
    if not runs:
        raise PinlabError(f"no runs with Google Benchmark results under {results}")
    return dict(runs=runs, bench=bench, flags=flags, controls=list(CONTROLS), alpha=alpha, floor=floor,
                reviews=reviews(results, out_dir), explains=explains(results, out_dir),
                directions={m.name: m.direction for m in metrics.METRICS.values()},
                units={m.name: {mode: metrics.unit_label(m.name, mode) for mode in ("deterministic", "wallclock")}
                       for m in metrics.METRICS.values()})


def explains(results, out_dir):
    """Each committed explanation (scripts/lab explain, or a report's
    section from a run's profiling boots): its question, its picture, and
    per benchmark the change and the functions that account for most of it."""
    out = []
    for path in sorted(glob.glob(os.path.join(results, "*", "explain*.json"))):
        run_dir = os.path.dirname(path)
        for q in store.load_json(path):
            stem = os.path.basename(path)[:-5]
            svg = [f for f in sorted(glob.glob(os.path.join(run_dir, "explain*.svg")))
                   if os.path.basename(f)[:-4] == stem or (stem == "explain" and q["b"].replace("@", "_") in f)]
            out.append(dict(run=os.path.basename(run_dir), a=q["a"], b=q["b"],
                            md=os.path.relpath(os.path.join(run_dir, stem + ".md"), out_dir),
                            svg=os.path.relpath(svg[0], out_dir) if svg else None,
                            rows=[dict(name=short(r["name"]), change=round(r["change_pct"], 2),
                                       share=round(r["share"], 1),
                                       top=[(f["function"], round(f["delta"], 2)) for f in r["functions"][:3]])
                                  for r in q["rows"][:6]]))
    return out


def reviews(results, out_dir):
    """Each committed review's summary (review/summary.json, written by its
    report): series, base or tree, per patch its flags and semantics."""
    out = []
    for path in sorted(glob.glob(os.path.join(results, "*", "review", "summary.json"))):
        d = store.load_json(path)
        run_dir = os.path.dirname(os.path.dirname(path))
        d["report"] = os.path.relpath(os.path.join(run_dir, "report.md"), out_dir)
        out.append(d)
    return out


def add_flags(flags, a, b, metric, alpha, floor, rid, what, series, mode, since=False):
    try:
        res = compare.result(a, b, metric, alpha, floor)
    except PinlabError:
        return
    # a control against its baseline: expected where its CONTROL says, else unexpected
    ctl = None if since else control_of(series)
    if ctl is not None:
        exp = [r for r in res["rows"] if ctl[0] != "^$" and re.search(ctl[0], short(r["name"]))]
        other = [r for r in res["rows"] if r not in exp and r["significant"]]
        CONTROLS.append(dict(run=rid, what=what, series=series, mode=mode, expectation=ctl[1],
                             expected=len(exp), met=sum(r["significant"] for r in exp), unexpected=len(other),
                             ok=all(r["significant"] for r in exp) and not other))
    basis = ("deterministic" if res["env_a"].get("mode") == res["env_b"].get("mode") == "deterministic"
             else "wall-clock") + (f", {res['boots_a']} vs {res['boots_b']} boots" if res.get("by_boot") else "")
    for r in res["rows"]:
        if r["significant"]:
            flags.append(dict(run=rid, what=what, name=short(r["name"]), a=round(r["median_a"], 2),
                              b=round(r["median_b"], 2), change=round(r["change_pct"], 2),
                              ci=None if r["exact"] or r.get("boots") else [round(r["ci_lo"], 2), round(r["ci_hi"], 2)],
                              p=r["p"], q=r["q"], verdict=r["verdict"],
                              warn=[w for w in res["warnings"] if "accelerators" in w or "hosts" in w],
                              basis=basis, series=series, mode=mode,
                              control=None if not ctl else
                              ("expected" if ctl[0] != "^$" and re.search(ctl[0], short(r["name"])) else "unexpected")))


def write(results, out=None, alpha=0.05, floor=None):
    if not os.path.isdir(results):
        raise PinlabError(f"{results}: no such directory")
    out = out or os.path.join(results, "dashboard", "index.html")
    out_dir = os.path.dirname(os.path.abspath(out))
    os.makedirs(out_dir, exist_ok=True)
    data = build(results, out_dir, alpha, floor)
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    latest = max(r["date"] for r in data["runs"])
    with open(TEMPLATE) as f:
        page = f.read()
    page = (page.replace("GENERATED", html.escape(f"from {len(data['runs'])} runs, latest {latest}"))
            .replace("ALPHA", str(alpha)).replace("FLOOR", str(floor if floor is not None else 2.0)).replace("DATA", blob))
    with open(out + ".tmp", "w") as f:
        f.write(page)
    os.replace(out + ".tmp", out)
    shown = sum(1 for f in data["flags"] if f["latest"] and not f["superseded"] and not f["control"])
    return (f"dashboard: {out}: {len(data['runs'])} runs, {len(data['bench'])} benchmarks, "
            f"{len(data['flags'])} flagged changes ({shown} in the default view), {len(page) // 1024} KiB")
