"""python3 -m pinlab COMMAND ...: the analysis and lab-plan commands behind
scripts/lab.  Bad input: one line on stderr and exit 2."""
import argparse
import json
import os
import sys

from . import TOP, PinlabError, compare, dashboard, env, gb, plan, report, repeat, store, tables


def run_dir(name):
    """A run named by its directory, or by its id under results/ (report, compare and repeatability take either)."""
    return name if os.path.isdir(name) else os.path.join(TOP, "results", name)


def cmd_compare(a):
    results = os.path.join(TOP, "results")
    dirs = [run_dir(x) for x in (a.a, a.b)]
    if all(os.path.isdir(d) and os.path.exists(os.path.join(d, store.INDEX)) for d in dirs):
        ra, rb = (store.open_run(d) for d in dirs)
        ids_b = {s["id"]: s for s in rb.index["sets"]}
        pairs = [(s, ids_b[s["id"]]) for s in ra.index["sets"] if s["id"] in ids_b]
        if not pairs:
            raise PinlabError(f"runs {ra.id} and {rb.id} share no result set")
        for sa, sb in pairs:
            print(f"=== {sa['id']}: {ra.id} -> {rb.id}")
            show(a, env.SetRef(ra.set_path(sa), ra, sa), env.SetRef(rb.set_path(sb), rb, sb), a.metric)
            print()
        return 0
    # a set of an indexed run brings every boot of its series: boots are the samples
    show(a, env.with_boots(env.resolve_set(a.a, results)), env.with_boots(env.resolve_set(a.b, results)), a.metric)
    return 0


def show(a, ref_a, ref_b, metric):
    res = compare.result(ref_a, ref_b, metric, a.alpha, a.floor, a.filter)
    if a.format == "json":
        print(json.dumps(res, indent=1))
    elif a.format == "text":
        print(compare.format_text(res, a.only_changed))
    else:
        print(compare.format_table(res, a.only_changed))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


def cmd_report(a):
    run = run_dir(a.run)
    print(report.write(run if os.path.isdir(run) else a.run, a.baseline, a.mode, a.metric, a.alpha, a.floor,
                       not a.no_plots))
    return 0


def cmd_dashboard(a):
    print(dashboard.write(a.results, a.out, a.alpha, a.floor))
    return 0


def cmd_check(a):
    ok, lines = gb.check(a.file, a.require_run)
    print("\n".join(lines))
    return 0 if ok else 1


def cmd_get(a):
    print(gb.get(a.file, a.name, a.counter, a.stat))
    return 0


def cmd_table(a):
    if os.path.isdir(a.target):
        run = store.open_run(a.target)
        if a.answer:
            md, sent = tables.answer(run, a.mode, ref=a.baseline)
            lines = md + [""] + [f"- {x}" for x in sent]
        elif a.across:
            md, sent, _ = tables.across(run, a.mode)
            lines = md + [""] + [f"- {x}" for x in sent]
        else:
            lines = (tables.variant_changes(run, a.backing, a.paths.split(",") if a.paths else None, a.metric,
                                            ref=a.baseline)
                     if a.changes else tables.variant_figures(run, a.variant))
    else:
        lines = gb.table(a.target)
    print("\n".join(lines))
    return 0


def cmd_repeat(a):
    if a.against:
        ok, lines = repeat.across(store.open_run(run_dir(a.run)), store.open_run(run_dir(a.against)))
    else:
        ok, lines = repeat.check(store.open_run(run_dir(a.run)))
    print("\n".join(lines))
    return 0 if ok else 1


def cmd_index(a):
    if a.host:
        return index_host(a.runs[0], a.runs[1:])
    for path in a.runs:
        if os.path.exists(os.path.join(path, store.INDEX)) and not a.force:
            raise PinlabError(f"{path}: already indexed (--force rewrites it from the file names)")
        idx = store.legacy_index(path)
        store.write_index(path, idx)
        print(f"index: {path}/run.json: {len(idx['sets'])} sets, {len(idx['boots'])} boots")
    return 0


def index_host(path, files):
    """run.json of a host run: each named file (in the run directory) is a set."""
    if not files:
        raise PinlabError("index --host RUN FILE...: name the run's result files")
    man = store.read_kv(os.path.join(path, "manifest.txt"))
    base = "host " + man.get("kernel", os.uname().release)
    sets = []
    for f in files:
        p = os.path.join(path, f)
        if not os.path.exists(store.resolve(p)):
            raise PinlabError(f"{p}: no such result file")
        stem = f.split(".json")[0]
        sets.append(store.new_set(store.set_kind(p), base, "host", "wallclock", f, series=stem, set_id=stem))
    store.write_index(path, dict(id=os.path.basename(os.path.abspath(path)), kind="host", manifest=man,
                                 command=man.get("command", ""), kernels={}, variants=["host"], boots=[], sets=sets))
    print(f"index: {path}/run.json: {len(sets)} sets")
    return 0


def cmd_provenance(a):
    from . import provenance
    print(provenance.write(a.results))
    return 0


def cmd_matrix(a):
    """One [[pinbench]] entry's pinbench arguments, or the [fio] section's
    runner arguments, one a line (for scripts)."""
    m = plan.load_matrix(a.name)
    if a.set == "fio":
        if "fio" not in m:
            raise PinlabError(f"matrix {a.name}: no [fio] section")
        print("\n".join(plan.fio_args(m["fio"], a.quick)))
        return 0
    entry = next((p for p in m.get("pinbench", []) if p["set"] == a.set), None)
    if entry is None:
        raise PinlabError(f"matrix {a.name}: no [[pinbench]] set {a.set!r}")
    print("\n".join(plan.pinbench_args(entry, a.quick)))
    return 0


def parser():
    ap = argparse.ArgumentParser(prog="scripts/lab", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare", help="two result sets (or two runs), benchmark by benchmark")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--metric", help="default: the sets' primary one (ns_per_page, or insn_per_page when they "
                                    "are deterministic)")
    c.add_argument("--alpha", type=float, default=0.05)
    c.add_argument("--floor", type=float, help="noise floor in %% (default 0.5 between boot series, else 2)")
    c.add_argument("--format", choices=["table", "text", "json"], default="table")
    c.add_argument("--json", help="also write the comparison as JSON here")
    c.add_argument("--only-changed", action="store_true")
    c.add_argument("--filter", help="regex on benchmark names")
    c.set_defaults(fn=cmd_compare)
    r = sub.add_parser("report", help="a run's report: report.md, report.txt, compare-*.txt, plots")
    r.add_argument("run")
    r.add_argument("--baseline", default="baseline", help="the variant the others are compared with; none: none")
    r.add_argument("--mode", choices=["deterministic", "wallclock"])
    r.add_argument("--metric", help="default: ns_per_page (wall-clock), insn_per_page (deterministic)")
    r.add_argument("--alpha", type=float, default=0.05)
    r.add_argument("--floor", type=float, help="noise floor in %% (default 0.5 between boot series, else 2)")
    r.add_argument("--no-plots", action="store_true")
    r.set_defaults(fn=cmd_report)
    d = sub.add_parser("dashboard", help="results/dashboard/index.html from every indexed run")
    d.add_argument("--results", default=os.path.join(TOP, "results"))
    d.add_argument("--out")
    d.add_argument("--alpha", type=float, default=0.05)
    d.add_argument("--floor", type=float, help="noise floor in %% (default 0.5 between boot series, else 2)")
    d.set_defaults(fn=cmd_dashboard)
    k = sub.add_parser("check", help="a set's verdict: each case measured, skipped or refused as expected")
    k.add_argument("file")
    k.add_argument("--require-run", action="append", default=[], metavar="REGEX")
    k.set_defaults(fn=cmd_check)
    g = sub.add_parser("get", help="one counter of one benchmark, over its repetitions")
    g.add_argument("file")
    g.add_argument("name")
    g.add_argument("counter")
    g.add_argument("--stat", choices=["median", "mean", "min"], default="median")
    g.set_defaults(fn=cmd_get)
    t = sub.add_parser("table", help="medians of a JSON file, or a lab run's tables")
    t.add_argument("target", help="a JSON file, or a run directory")
    t.add_argument("--variant", default="baseline", help="NAME[@BASE]: whose figures (default baseline)")
    t.add_argument("--baseline", default="baseline",
                   help="the reference of --changes and --answer: baseline (6.1) or baseline@BASE")
    t.add_argument("--across", action="store_true",
                   help="across kernel versions: each base's baseline per path x backing, and the ratios")
    t.add_argument("--changes", action="store_true", help="each variant's change from baseline")
    t.add_argument("--answer", action="store_true",
                   help="the answer table: each variant against baseline over its boots, with sentences")
    t.add_argument("--mode", choices=["deterministic", "wallclock"], default="deterministic")
    t.add_argument("--backing", default="anon")
    t.add_argument("--paths", help="comma list of probes (with --changes)")
    t.add_argument("--metric", default="ns_per_page", help="ns_per_page reads insn_per_page of deterministic sets")
    t.set_defaults(fn=cmd_table)
    p = sub.add_parser("repeatability", help="do a run's boots of one kernel repeat bit for bit?")
    p.add_argument("run", help="a run directory, or a run id under results/")
    p.add_argument("--against", metavar="RUN2", help="compare with another run of the same kernels and seeds "
                                                     "(another engine's): every deterministic figure identical?")
    p.set_defaults(fn=cmd_repeat)
    i = sub.add_parser("index", help="write run.json for runs made before it existed")
    i.add_argument("runs", nargs="+")
    i.add_argument("--force", action="store_true")
    i.add_argument("--host", action="store_true", help="RUN FILE...: a host run's index from its result files")
    v = sub.add_parser("provenance", help="results/PROVENANCE.md: which tree made each committed run")
    v.add_argument("--results", default=os.path.join(TOP, "results"))
    v.set_defaults(fn=cmd_provenance)
    x = sub.add_parser("matrix", help="a matrix's pinbench set (or 'fio') as arguments")
    x.add_argument("name")
    x.add_argument("set")
    x.add_argument("--quick", action="store_true")
    x.set_defaults(fn=cmd_matrix)
    i.set_defaults(fn=cmd_index)
    for name, what in (("bases", "the kernel bases: pinned, available in Debian's suites, cached; fetch one"),
                       ("fio-results", "fio runner output -> Google Benchmark JSON"),
                       ("profile", "perf output -> folded stacks, flame graph, tables"),
                       ("run", "build, boot and measure kernel variants (lab stages)"),
                       ("aa", "the build A/A of a base: baseline and a rebuilt baseline, booted and compared"),
                       ("review", "a patch series, patch by patch: each prefix built, booted and judged"),
                       ("bisect", "the first commit that moved a benchmark: git bisect run, measured"),
                       ("explain", "where a change's instructions went, by kernel function (run --profile)"),
                       ("kconfig-check", "a lab config against Debian's, performance-relevant options")):
        sub.add_parser(name, help=what, add_help=False)
    return ap


PASSTHROUGH = {"bases": "bases", "fio-results": "fio", "profile": "perf", "run": "labrun", "aa": "labrun", "review": "review", "bisect": "bisect",
               "explain": "explain", "lava-server": "lavaserver", "lava-job": "engines.lava",
               "kconfig-check": "kconfig"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in PASSTHROUGH:
        import importlib
        mod = importlib.import_module(f".{PASSTHROUGH[argv[0]]}", __package__)
        return {"aa": getattr(mod, "aa_main", None), "lava-job": getattr(mod, "job_main", None)}.get(
            argv[0], getattr(mod, "main", None))(argv[1:])
    ap = parser()
    a = ap.parse_args(argv)
    try:
        return a.fn(a)
    except PinlabError as e:
        print(f"{a.cmd}: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
